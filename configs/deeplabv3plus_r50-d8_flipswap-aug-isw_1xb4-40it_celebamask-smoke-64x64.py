# Smoke variant of the improved R50 recipe: the same pipeline (swap flip, resize/crop, photometric),
# data-derived class weights and poly schedule shape, on synthetic 64x64 faces, 40 iterations, random
# init. utils.core.config.apply_smoke shortens the schedule proportionally (the 1,000-iteration warm-up of 20k
# becomes 2 of 40), so the smoke iterations run at a real LR.
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512.py']
data_root = 'data/synthetic'
smoke = dict(size=64, max_iters=40)
