# MobileNetV3-small (MMSeg's, output stride 8 by dilation) + the Lite R-ASPP head (utils.plugins.heads: its image pooling
# clamped to the feature map, so 64 px smoke inputs run), as MMSeg's from-scratch
# Cityscapes recipe builds it: 1,140,787 parameters at 19 classes (no auxiliary head), 62.6 % of the 2025-26 cap.
# MMSeg's MobileNetV3 has fixed stage widths, so `width` (top config) scales the LR-ASPP head's channels only
# (utils.core.model.apply_width). No pretrained weights.
_base_ = './celebamask_mini_losses.py'
norm_cfg = dict(type='BN', eps=0.001, requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=_base_.data_preprocessor,
    pretrained=None,
    backbone=dict(type='MobileNetV3', arch='small', out_indices=(0, 1, 12), norm_cfg=norm_cfg),
    decode_head=dict(
        type='AnySizeLRASPPHead', in_channels=(16, 16, 576), in_index=(0, 1, 2), channels=128,
        input_transform='multiple_select', dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'), align_corners=False, loss_decode=_base_.decode_losses),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
width_channels = {'decode_head.channels': 128}
