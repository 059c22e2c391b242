# Seed reproduction, stage 2: resume the 20k checkpoint and train to 30k, as the seed did.
# The schedule is decided explicitly: the one-cycle LR/momentum is recomputed over 30k iterations,
# which is what mmcv 1.x's cyclic hook did when the seed resumed. At iteration 20,000 the LR jumps
# back to ~0.0587 (40% warm-up ended at 12k, cosine decay to 1e-6 at 30k) and anneals again;
# momentum is ~0.844 there and returns to 0.9. Only step counters come from the checkpoint
# (utils/plugins/schedules.py), so nothing of the 20k cycle leaks in. Run with `--resume` pointing at the
# stage-1 work_dir (notebook 03 does this).
_base_ = ['./deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512.py']
max_iters = 30000
param_scheduler = [
    dict(type='CyclicLR', total_iters=max_iters, target_ratio=(10, 1e-4), step_ratio_up=0.4, by_epoch=False),
    dict(type='CyclicMomentum', total_iters=max_iters, target_ratio=(0.85 / 0.95, 1), step_ratio_up=0.4,
         by_epoch=False),
]
train_cfg = dict(max_iters=max_iters)
