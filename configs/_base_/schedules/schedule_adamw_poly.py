# The transformers' schedule (MMSeg's Swin and SegFormer recipes): AdamW, LR 6e-5, betas (0.9, 0.999), weight
# decay 0.01 except on norm layers and position tables (relative position bias, absolute position embedding,
# SegFormer's positional conv 'pos_block'); a 1,500-iteration linear warm-up from 6e-11, then poly (power 1) to 0.
# A top config sets `max_iters` and rebuilds `train_cfg` / `param_scheduler` with `adamw_poly(max_iters)`'s values;
# as in schedule_20k_poly.py both schedulers start at 0 and multiply, so `--max-iters` and smoke mode can stretch
# them. The loop, the validation every 2,000 iterations and the checkpoints (3 newest + best mIoU) are the seed's.
# Mixed precision is not set here: train with `--amp` (the notebooks do on a GPU).
_base_ = ['./schedule_20k_cyclic.py']
max_iters = 16000
warmup_iters = 1500
optimizer = dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
no_decay = dict(decay_mult=0.)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'norm': no_decay, 'relative_position_bias_table': no_decay,
                                    'absolute_pos_embed': no_decay, 'pos_block': no_decay}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
# An iteration checkpoint holds the weights and AdamW's two moments: 1.46 GB for Swin-B (121M parameters). Keeping
# the 2 newest (not 3) holds a stage's Drive use to about 4.9 GB for Swin-B, 1.8 GB for MiT-B3, best included.
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
