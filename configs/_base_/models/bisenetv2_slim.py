# BiSeNetV2 slimmed under the 2025-26 cap (it led a 2025 ablation on this data at 1.79 M parameters): MMSeg's
# detail / semantic / aggregation branches at 3/4 of their Cityscapes widths (detail 48-48-96, semantic 16-32-64-96,
# BGA 96), an FCN decode head of 256 channels (1,024 in MMSeg's) and four auxiliary FCN heads of 16-32-64-96
# channels (16-64-256-1,024). Whole model with its auxiliary heads: 1,800,783 parameters, 98.9 % of 1,821,085.
# `width` (top config) scales every channel list below (utils.core.model.apply_width, multiples of 8);
# `python -m utils.core.model fit-budget CONFIG` finds the widest width under the cap. No pretrained weights.
_base_ = './celebamask_mini_losses.py'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=_base_.data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='BiSeNetV2', detail_channels=(48, 48, 96), semantic_channels=(16, 32, 64, 96),
        semantic_expansion_ratio=6, bga_channels=96, out_indices=(0, 1, 2, 3, 4),
        norm_cfg=_base_.norm_cfg, align_corners=False),
    decode_head=dict(
        type='FCNHead', in_channels=96, in_index=0, channels=256, num_convs=1, concat_input=False,
        dropout_ratio=0.1, num_classes=19, norm_cfg=_base_.norm_cfg, align_corners=False,
        loss_decode=_base_.decode_losses),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=c_in, channels=c, num_convs=2, num_classes=19, in_index=i,
             norm_cfg=_base_.norm_cfg, concat_input=False, align_corners=False, loss_decode=_base_.aux_loss)
        for i, c_in, c in ((1, 16, 16), (2, 32, 32), (3, 64, 64), (4, 96, 96))],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# channel lists at width 1.0, by their place in `model` (utils.core.model.apply_width)
width_channels = {
    'backbone.detail_channels': (48, 48, 96), 'backbone.semantic_channels': (16, 32, 64, 96),
    'backbone.bga_channels': 96, 'decode_head.in_channels': 96, 'decode_head.channels': 256,
    'auxiliary_head.0.in_channels': 16, 'auxiliary_head.0.channels': 16,
    'auxiliary_head.1.in_channels': 32, 'auxiliary_head.1.channels': 32,
    'auxiliary_head.2.in_channels': 64, 'auxiliary_head.2.channels': 64,
    'auxiliary_head.3.in_channels': 96, 'auxiliary_head.3.channels': 96,
}
