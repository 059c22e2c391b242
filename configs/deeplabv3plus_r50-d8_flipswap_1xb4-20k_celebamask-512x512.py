# Improved family, rung 1: + the horizontal flip that swaps left/right labels (4<->5, 6<->7, 8<->9).
# Doubles the effective training set without teaching the model that left and right are interchangeable.
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py',
    './_base_/datasets/celebamask_flipswap.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k_poly.py',
]
