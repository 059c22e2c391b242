# Improved recipe (R50, the recommended one): rung 2 + class weights derived from the data instead of
# the seed's hand-picked ones. 'inv_sqrt' = 1/sqrt(pixel share of the class), normalised to mean 1,
# computed from train/train_mask when training starts (utils.core.stats.resolve_class_weights ->
# utils.core.stats.compute_class_weights). Its spread (largest/smallest weight) is about the square root of
# median-frequency weighting's, in the range of the log-frequency weights a peer used on this dataset.
# Same weighting on the auxiliary head. Train with `--amp` on a GPU; evaluate with `--tta flip`.
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug_1xb4-20k_celebamask-512x512.py']
model = dict(
    decode_head=dict(loss_decode=dict(class_weight='inv_sqrt')),
    auxiliary_head=dict(loss_decode=dict(class_weight='inv_sqrt')))
