# Improved family, rung 0 (baseline for the ablation): the seed's DeepLabV3+ R50-D8 with MMSeg's
# standard recipe: plain cross-entropy (no class weights, no OHEM), no augmentation, poly LR with a
# 1k-iteration warm-up (schedule_20k_poly.py), batch 4, 20k iterations.
# Each following rung adds one named layer:
#   _flipswap      left/right-swapping horizontal flip            (datasets/celebamask_flipswap.py)
#   _flipswap-aug  + RandomResize 0.5-2.0, RandomCrop 512, PhotoMetricDistortion
#                                                                 (datasets/celebamask_flipswap-aug.py)
#   -isw / -mfw    + class weights computed from the train masks at train time
#                    (inverse sqrt frequency / median frequency; utils.core.stats)
#   r101           ResNet-101-v1c backbone instead of ResNet-50-v1c
# Train with `--amp` on a GPU; evaluate and submit with `--tta flip` (utils.core.inference's flip TTA swaps
# the left/right channels of the flipped view).
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py',
    './_base_/datasets/celebamask.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k_poly.py',
]
