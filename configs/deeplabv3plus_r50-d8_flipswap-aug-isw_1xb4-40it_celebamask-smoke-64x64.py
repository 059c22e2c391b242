# Smoke variant of the improved R50 recipe: the same pipeline (swap flip, resize/crop, photometric),
# data-derived class weights and poly schedule shape, on synthetic 64x64 faces, 40 iterations, random
# init. The warm-up is shortened to 4 iterations here so the 40 smoke iterations run at a real LR
# (apply_smoke does not rescale a warm-up).
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512.py']
data_root = 'data/synthetic'
smoke = dict(size=64, max_iters=40)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=4),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False, begin=0, end=40),
]
