# Smoke variant of the seed recipe: the same model, losses, schedule shape and code paths, on
# synthetic 64x64 faces, 40 iterations, random init (no download). Runs on a CPU in about a minute.
# `smoke` is read by utils.core.config.apply_smoke(), which scales every crop/resize/preprocessor size
# and the OHEM min_kept from 512 to `size`, and shortens the schedule to `max_iters`.
_base_ = ['./deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512.py']
data_root = 'data/synthetic'
smoke = dict(size=64, max_iters=40)
