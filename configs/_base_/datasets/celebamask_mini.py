# CelebAMask-HQ mini, 2025-26 edition: 1,000 training pairs (512x512 .jpg + palette .png, 32-hex-digit stems); the
# val images have no masks, so the run validates on a holdout of the training pairs. Train, val and test datasets
# all read train/train_image + train/train_mask; utils.core.config.set_split restricts each by an MMSeg ann_file (the
# train stems, the holdout stems) written into the work_dir from split.json. Without a split every pair is read.
# Pipeline, from the 2025 course reports' ablations on this data:
#   RandomResize 0.8-1.2 + 512 crop + rotation: the largest single gain;
#   RandomFlip WITH the left/right label swap: +9.6 F over no flip (a plain flip +3.1, and it hurts a good model);
#   photometric distortion at half of MMSeg's strength.
# The crop and the photometric step are utils.plugins.transforms' byte-identical Fast* drop-ins for MMSeg's.
_base_ = './celebamask_flipswap.py'
ratio_range = (0.8, 1.2)
rotate = dict(type='RandomRotate', prob=0.5, degree=20, pad_val=0, seg_pad_val=255)  # +-20 deg, corners ignored
half_photometric = dict(type='FastPhotoMetricDistortion', brightness_delta=16, contrast_range=(0.75, 1.25),
                        saturation_range=(0.75, 1.25), hue_delta=9)  # MMSeg's defaults: 32, 0.5-1.5, 0.5-1.5, 18
split_prefix = dict(img_path='train/train_image', seg_map_path='train/train_mask')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='CheckSegLabels'),
    dict(type='RandomResize', scale=_base_.img_scale, ratio_range=ratio_range, keep_ratio=True),
    rotate,
    dict(type='FastRandomCrop', crop_size=_base_.crop_size, cat_max_ratio=0.75),
    _base_.flip_swap,
    half_photometric,
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(ann_file='', data_prefix=split_prefix, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(ann_file='', data_prefix=split_prefix))
test_dataloader = val_dataloader
# the leaderboard's metric: mean per-image F over the holdout (imgF, 0-1), mIoU (%) beside it
val_evaluator = dict(_delete_=True, type='ImageFScoreMetric')
test_evaluator = val_evaluator
