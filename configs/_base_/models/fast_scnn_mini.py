# Fast-SCNN as MMSeg defines it (learning-to-downsample, global feature extractor, feature fusion), with its
# depthwise-separable decode head and two auxiliary FCN heads: 1,456,617 parameters at 19 classes with the heads,
# 80.0 % of the 2025-26 cap. Softmax losses (MMSeg's Cityscapes recipe uses sigmoid CE). No pretrained weights.
# `width` (top config) scales the channel lists below (utils.core.model.apply_width).
_base_ = './celebamask_mini_losses.py'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=_base_.data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='FastSCNN', downsample_dw_channels=(32, 48), global_in_channels=64,
        global_block_channels=(64, 96, 128), global_block_strides=(2, 2, 1), global_out_channels=128,
        higher_in_channels=64, lower_in_channels=128, fusion_out_channels=128, out_indices=(0, 1, 2),
        norm_cfg=_base_.norm_cfg, align_corners=False),
    decode_head=dict(
        type='DepthwiseSeparableFCNHead', in_channels=128, channels=128, concat_input=False, num_classes=19,
        in_index=-1, norm_cfg=_base_.norm_cfg, align_corners=False, loss_decode=_base_.decode_losses),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=c_in, channels=32, num_convs=1, num_classes=19, in_index=i,
             norm_cfg=_base_.norm_cfg, concat_input=False, align_corners=False, loss_decode=_base_.aux_loss)
        for i, c_in in ((-2, 128), (-3, 64))],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
width_channels = {
    'backbone.downsample_dw_channels': (32, 48), 'backbone.global_in_channels': 64,
    'backbone.global_block_channels': (64, 96, 128), 'backbone.global_out_channels': 128,
    'backbone.higher_in_channels': 64, 'backbone.lower_in_channels': 128, 'backbone.fusion_out_channels': 128,
    'decode_head.in_channels': 128, 'decode_head.channels': 128,
    'auxiliary_head.0.in_channels': 128, 'auxiliary_head.0.channels': 32,
    'auxiliary_head.1.in_channels': 64, 'auxiliary_head.1.channels': 32,
}
