# Improved family, rung 2: + scale and photometric augmentation around the swap flip
# (RandomResize 0.5-2.0, RandomCrop 512x512 with cat_max_ratio 0.75, PhotoMetricDistortion).
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py',
    './_base_/datasets/celebamask_flipswap-aug.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k_poly.py',
]
# A face scaled below 512 is padded to 512x512 by the data preprocessor (bottom/right, mean colour);
# the padded pixels are labelled 255 and ignored by the loss (PixelMeanCrossEntropyLoss, utils/plugins/losses.py,
# which never crashes on 255 even with class weights, unlike MMSeg 1.2.2's CrossEntropyLoss).
