"""Small MMSeg models of the three 2025 recipes' shapes (BiSeNetV2 slimmed, Fast-SCNN, MobileNetV3-small + LR-ASPP),
built from model dicts written as MMSeg's configs/bisenetv2, configs/fastscnn and configs/mobilenet_v3 write them,
with random weights and random batch-norm statistics, so that a plain re-implementation has something to match."""
from __future__ import annotations

from mmengine.config import Config

BN = dict(type='BN', requires_grad=True)
PRE = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
           bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64))


def _fcn_aux(in_channels: int, channels: int, in_index: int) -> dict:
    return dict(type='FCNHead', in_channels=in_channels, channels=channels, num_convs=1, num_classes=19,
                in_index=in_index, norm_cfg=BN, concat_input=False, align_corners=False,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))


def bisenetv2_slim() -> dict:
    return dict(type='EncoderDecoder', data_preprocessor=PRE, pretrained=None,
                backbone=dict(type='BiSeNetV2', detail_channels=(16, 16, 32), semantic_channels=(8, 16, 24, 32),
                              semantic_expansion_ratio=4, bga_channels=32, out_indices=(0, 1, 2, 3, 4),
                              init_cfg=None, align_corners=False),
                decode_head=dict(type='FCNHead', in_channels=32, in_index=0, channels=48, num_convs=1,
                                 num_classes=19, dropout_ratio=0.1, norm_cfg=BN, concat_input=False,
                                 align_corners=False,
                                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
                auxiliary_head=[_fcn_aux(8, 8, 1), _fcn_aux(16, 8, 2), _fcn_aux(24, 8, 3), _fcn_aux(32, 8, 4)],
                train_cfg=dict(), test_cfg=dict(mode='whole'))


def fast_scnn() -> dict:
    return dict(type='EncoderDecoder', data_preprocessor=PRE,
                backbone=dict(type='FastSCNN', downsample_dw_channels=(8, 12), global_in_channels=16,
                              global_block_channels=(16, 24, 32), global_block_strides=(2, 2, 1),
                              global_out_channels=32, higher_in_channels=16, lower_in_channels=32,
                              fusion_out_channels=32, out_indices=(0, 1, 2), norm_cfg=BN, align_corners=False),
                decode_head=dict(type='DepthwiseSeparableFCNHead', in_channels=32, channels=32, concat_input=False,
                                 num_classes=19, in_index=-1, norm_cfg=BN, align_corners=False,
                                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
                auxiliary_head=[_fcn_aux(32, 16, -2), _fcn_aux(16, 16, -3)],
                train_cfg=dict(), test_cfg=dict(mode='whole'))


def lraspp_mv3s() -> dict:
    return dict(type='EncoderDecoder', data_preprocessor=PRE, pretrained=None,
                backbone=dict(type='MobileNetV3', arch='small', out_indices=(0, 1, 12), norm_cfg=BN),
                decode_head=dict(type='LRASPPHead', in_channels=(16, 16, 576), in_index=(0, 1, 2), channels=32,
                                 input_transform='multiple_select', dropout_ratio=0.1, num_classes=19, norm_cfg=BN,
                                 act_cfg=dict(type='ReLU'), align_corners=False,
                                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
                train_cfg=dict(), test_cfg=dict(mode='whole'))


RECIPES = {'bisenetv2-slim': bisenetv2_slim, 'fast-scnn': fast_scnn, 'lraspp-mv3s': lraspp_mv3s}


def build(recipe: str, seed: int = 0):
    """``(model, cfg)``: the recipe's model in eval mode with every weight and BN statistic random."""
    import torch

    from utils.core.model import build_segmentor

    cfg = Config(dict(model=RECIPES[recipe]()))
    torch.manual_seed(seed)
    model = build_segmentor(cfg)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand_like(t) * 1.5 + 0.25)
            elif name.endswith('running_mean'):
                t.copy_(torch.randn_like(t) * 0.3)
            elif name.endswith('weight') and t.ndim == 1:
                t.copy_(torch.rand_like(t) + 0.5)  # BN scale
            else:
                t.copy_(torch.randn_like(t) * (2.0 / max(1, t[0].numel())) ** 0.5)
    return model.eval(), cfg
