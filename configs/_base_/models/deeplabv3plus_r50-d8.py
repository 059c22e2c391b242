# DeepLabV3+ with a dilated ResNet50-v1c (output stride 8), as in the seed report.
# Single-GPU training, so plain BN (MMSeg's own config uses SyncBN); 19 CelebAMask classes.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet50_v1c',  # seed report: ImageNet-pretrained ResNet50_v1c
    backbone=dict(
        type='ResNetV1c',
        depth=50,  # seed report: depth 50, 4 stages, pytorch style
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',  # seed report
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        c1_in_channels=256,
        c1_channels=48,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        # MMSeg 0.x's cross-entropy (the report's MMSeg 0.22): mean over all pixels, 255 ignored
        # (utils/plugins/losses.py; MMSeg 1.x's CrossEntropyLoss rescales class-weighted losses and crashes on 255)
        loss_decode=dict(type='PixelMeanCrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',  # seed report
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PixelMeanCrossEntropyLoss', loss_weight=0.4)),  # seed report: aux weight 0.4
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
