# The seed's optimiser and schedule: SGD lr 0.01, momentum 0.9, wd 1e-4, 20k iterations, with
# mmcv 1.x's cyclic LR (target_ratio=(10, 1e-4), step_ratio_up=0.4) and cyclic momentum
# (target_ratio=(0.85/0.95, 1)) expressed as MMEngine schedulers (utils/plugins/schedules.py).
max_iters = 20000
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)  # seed report
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='CyclicLR', total_iters=max_iters, target_ratio=(10, 1e-4), step_ratio_up=0.4, by_epoch=False),
    dict(type='CyclicMomentum', total_iters=max_iters, target_ratio=(0.85 / 0.95, 1), step_ratio_up=0.4,
         by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # every 2k: a resumable checkpoint (keep the 3 newest, ~350 MB each) and the best val mIoU
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3,
                    save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
