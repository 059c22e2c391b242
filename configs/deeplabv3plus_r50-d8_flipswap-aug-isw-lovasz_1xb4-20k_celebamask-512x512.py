# Improved family, rung 4: the improved R50 recipe (swap flip, scale/crop/photometric augmentation, 'inv_sqrt' class
# weights, SGD poly) + MMSeg's multi-class Lovasz-softmax over the batch on the decode head, CE : Lovasz = 1 : 2
# (a peer reached 78.40 val mIoU with class weights + Lovasz at this ratio on a DeepLabV3+ R50). It measures
# Lovasz's gain on the cheap model before it is paid for on a transformer. Train with `--amp`, evaluate with TTA.
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512.py']
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='PixelMeanCrossEntropyLoss', class_weight='inv_sqrt', loss_weight=1.0),
        dict(type='LovaszLoss', loss_type='multi_class', classes='present', per_image=False, reduction='none',
             loss_weight=2.0),
    ]))
