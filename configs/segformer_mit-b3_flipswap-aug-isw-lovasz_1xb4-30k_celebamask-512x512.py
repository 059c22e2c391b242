# SegFormer MiT-B3 (ImageNet-1k pre-training): the budget-safe transformer, about the seed's size.
# 44,603,859 trainable parameters by the course formula (no auxiliary head); about 42 GMACs per 512x512 image.
# Pipeline: the improved family's (L/R-swapping flip, scale 0.5-2.0 + 512 crop, photometric); for a rotation of up to
# +-25 degrees use '_base_/datasets/celebamask_flipswap-aug-rot25.py' instead of celebamask_flipswap-aug.py.
# Loss: class-weighted cross-entropy (data-derived 'inv_sqrt' weights, averaged over all pixels, utils/plugins/losses.py)
# + MMSeg's multi-class Lovasz-softmax over the batch, 1 : 2.
# Schedule: AdamW 6e-5 (schedule_adamw_poly.py) with the head's LR x10 (MMSeg's SegFormer recipe), 1,500 warm-up
# iterations, poly to 0, batch 4, val every 2,000.
# Length: 30,000 iterations. Projected Colab T4 time with AMP (`--amp`; the notebooks use it on a GPU): 0.7-0.9
# s/iter (from MMSeg's published V100 fps, scaled to this project's 0.74 s/iter for DeepLabV3+ R50; no T4 measured
# it yet) -> 5.8-7.5 h of training + 15 validations, inside one 8-hour budget (training resumes across sessions).
_base_ = [
    './_base_/models/segformer_mit-b3.py',
    './_base_/datasets/celebamask_flipswap-aug.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_adamw_poly.py',
]
max_iters = 30000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=_base_.warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=0, end=max_iters),
]
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult=10.))))
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='PixelMeanCrossEntropyLoss', class_weight='inv_sqrt', loss_weight=1.0),
        dict(type='LovaszLoss', loss_type='multi_class', classes='present', per_image=False, reduction='none',
             loss_weight=2.0),
    ]))
