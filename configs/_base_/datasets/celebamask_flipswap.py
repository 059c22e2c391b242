# CelebAMask-HQ with a horizontal flip that swaps the left/right labels: l_eye 4 <-> r_eye 5,
# l_brow 6 <-> r_brow 7, l_ear 8 <-> r_ear 9 (the person's left is the picture's right, so a mirrored
# face must have its left/right parts relabelled). A plain flip teaches the model that left and right
# look alike *and* sit on either side, which collapsed those classes in the seed's first run
# (l_eye 28 / r_eye 26 IoU). MMSeg's own RandomFlip does the swap (`swap_seg_labels`).
# `flip_swap` is defined here ONCE; every improved pipeline reuses it as `_base_.flip_swap`.
_base_ = './celebamask.py'
flip_swap = dict(type='RandomFlip', prob=0.5, direction='horizontal', swap_seg_labels=[(4, 5), (6, 7), (8, 9)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='CheckSegLabels'),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
    flip_swap,
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
