# UperNet + Swin-B (window 12, ImageNet-1k 384 px pre-training): the candidate for the top of the course table.
# 121,314,206 trainable parameters by the course formula (120,129,163 without the auxiliary FCN head); about
# 305 GMACs per 512x512 image (211 of them in the 512-channel UperHead).
# Pipeline: the improved family's (L/R-swapping flip, scale 0.5-2.0 + 512 crop, photometric); for a rotation of up to
# +-25 degrees use '_base_/datasets/celebamask_flipswap-aug-rot25.py' instead of celebamask_flipswap-aug.py.
# Loss on the decode head: class-weighted cross-entropy (data-derived 'inv_sqrt' weights, averaged over all pixels,
# utils/plugins/losses.py) + MMSeg's multi-class Lovasz-softmax over the batch, 1 : 2; the auxiliary head keeps CE x 0.4.
# Schedule: AdamW 6e-5 (schedule_adamw_poly.py), 1,500 warm-up iterations, poly to 0, batch 4, val every 2,000.
# Length: 16,000 iterations. Projected Colab T4 time with AMP (`--amp`; the notebooks use it on a GPU): 1.3-1.7
# s/iter (from MMSeg's published V100 fps, scaled to this project's 0.74 s/iter for DeepLabV3+ R50; no T4 measured
# it yet) -> 5.8-7.6 h of training + 8 validations, inside one 8-hour budget (two Colab sessions if one ends early:
# training resumes from the newest checkpoint).
_base_ = [
    './_base_/models/upernet_swin-b-w12.py',
    './_base_/datasets/celebamask_flipswap-aug.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_adamw_poly.py',
]
max_iters = 16000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=_base_.warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=0, end=max_iters),
]
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='PixelMeanCrossEntropyLoss', class_weight='inv_sqrt', loss_weight=1.0),
        dict(type='LovaszLoss', loss_type='multi_class', classes='present', per_image=False, reduction='none',
             loss_weight=2.0),
    ]),
    auxiliary_head=dict(loss_decode=dict(class_weight='inv_sqrt')))
