# CelebAMask-HQ mini in the course layout: train/train_image + train/train_mask, val/..., test/test_image.
# Images are 512x512 JPGs; masks are palette PNGs whose indices are the labels (read with PIL).
# What the report says of its pipeline: nothing. Its best run's l_eye / r_eye IoU of 80 / 80 (against
# 28 / 26 in its first run) implies that it used no plain horizontal flip; nothing more is known.
# Our choice for the seed reproduction: no augmentation at all (load, label check, 512 resize).
dataset_type = 'CelebAMaskDataset'
data_root = 'data/celebamask'
crop_size = (512, 512)
img_scale = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='CheckSegLabels'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # annotations load after Resize so that metrics compare against the original-size mask
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='CheckSegLabels'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,  # seed report: batch size 4
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train/train_image', seg_map_path='train/train_mask'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val/val_image', seg_map_path='val/val_mask'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
