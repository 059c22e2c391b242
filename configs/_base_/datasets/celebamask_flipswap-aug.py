# The swap-flip pipeline plus MMSeg's standard photometric and scale augmentation:
#   RandomResize: the 512x512 face rescaled by a random factor in [0.5, 2.0] (MMSeg's usual range),
#   RandomCrop:   a 512x512 window, re-drawn (up to 10 times) while one class covers > 75% of it,
#   RandomFlip:   `flip_swap` from celebamask_flipswap.py (left/right labels swapped),
#   PhotoMetricDistortion: brightness, contrast, saturation and hue jitter (image only; mask untouched).
# The crop and the photometric step are utils.plugins.transforms' Fast* drop-ins for MMSeg's: the same random draws and
# byte-identical output (tests/test_transforms.py); they make the whole pipeline 1.4x cheaper per image
# (13.2-15.0 -> 9.4-10.6 ms on one core, docs/BENCHMARKS.md section 3e).
# The crop comes before the photometric step, so the latter never works on more than 512x512 pixels.
# A crop smaller than 512 (factor < 1) is padded to 512 by the data preprocessor (label 255 = ignored).
# Validation/test stay at the plain 512x512 resize.
_base_ = './celebamask_flipswap.py'
ratio_range = (0.5, 2.0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='CheckSegLabels'),
    dict(type='RandomResize', scale=_base_.img_scale, ratio_range=ratio_range, keep_ratio=True),
    dict(type='FastRandomCrop', crop_size=_base_.crop_size, cat_max_ratio=0.75),
    _base_.flip_swap,
    dict(type='FastPhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
