# Improved family, rung 2: + scale and photometric augmentation around the swap flip
# (RandomResize 0.5-2.0, RandomCrop 512x512 with cat_max_ratio 0.75, PhotoMetricDistortion).
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py',
    './_base_/datasets/celebamask_flipswap-aug.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k_poly.py',
]
test_tta = 'flip'  # evaluate/submit with `--tta flip`
# A face scaled below 512 is padded to 512x512 by the data preprocessor (bottom/right, mean colour).
# Those pixels are labelled background (0) rather than ignored (255): MMSeg 1.2.2's CrossEntropyLoss
# crashes when `class_weight` is set and the label holds 255 (IndexError in its avg_factor; upstream
# issues open-mmlab/mmsegmentation#3734 and #3831), and the weighted rungs build on this one. Real
# photos have background at their borders, so the padded margin teaches nothing false.
model = dict(data_preprocessor=dict(seg_pad_val=0))
