# Ablation of the class weighting: median-frequency balancing (Eigen & Fergus 2015) instead of inverse
# sqrt frequency: weight = median(freq) / freq(c), freq(c) = pixels of c / pixels of the images that
# contain c, normalised to mean 1 and computed from train/train_mask at train time (utils.core.stats).
# Stronger than 'inv_sqrt' (rare, thin classes such as neck_l and the eyes weigh far more than skin,
# hair and background), so compare the two on val before choosing.
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512.py']
model = dict(
    decode_head=dict(loss_decode=dict(class_weight='median_freq')),
    auxiliary_head=dict(loss_decode=dict(class_weight='median_freq')))
