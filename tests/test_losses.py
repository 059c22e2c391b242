"""PixelMeanCrossEntropyLoss: MMSeg 0.x's class-weighted CE (mean over all pixels), 255 ignored, never crashing."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import utils  # noqa: F401  (mmcv-lite shim before mmseg)
from utils.base.labels import NUM_CLASSES
from utils.plugins.losses import PixelMeanCrossEntropyLoss

SEED_WEIGHTS = [0.8, 0.8, 0.8, 1.14, 1, 1, 1.14, 1.14, 1.14, 1.14, 1, 1, 1, 0.8, 1.2, 1.25, 1.5, 1, 1.15]


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 9, 11, generator=g)
    label = torch.randint(0, NUM_CLASSES, (2, 9, 11), generator=g)
    label[0, :3, :4] = 255  # an ignored corner (padding)
    return logits, label


def test_equals_plain_per_pixel_mean_with_class_weights(batch):
    logits, label = batch
    w = torch.tensor(SEED_WEIGHTS)
    expected = F.cross_entropy(logits, label, weight=w, reduction='none', ignore_index=255).mean()
    got = PixelMeanCrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits, label)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_differs_from_mmseg_1x_normalisation(batch):
    """MMSeg 1.x divides by the summed label weights; on labels without 255 that is a different number."""
    from mmseg.models.losses import CrossEntropyLoss

    logits, label = batch
    label = label.clone()
    label[label == 255] = 13  # 1.x would crash on 255 with class weights
    ours = PixelMeanCrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits, label)
    theirs = CrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits, label, ignore_index=255)
    w = torch.tensor(SEED_WEIGHTS)[label]
    assert theirs.item() == pytest.approx(ours.item() * label.numel() / w.sum().item(), rel=1e-5)
    assert abs(theirs.item() - ours.item()) > 1e-4


def test_mmseg_1x_crashes_on_255_with_class_weights_and_ours_does_not(batch):
    from mmseg.models.losses import CrossEntropyLoss

    logits, label = batch
    with pytest.raises(IndexError):
        CrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits, label, ignore_index=255)
    assert torch.isfinite(PixelMeanCrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits, label))


def test_ignored_pixels_get_no_gradient_and_count_in_the_mean(batch):
    logits, label = batch
    logits = logits.clone().requires_grad_(True)
    loss = PixelMeanCrossEntropyLoss()(logits, label)
    loss.backward()
    assert float(logits.grad[0, :, :3, :4].abs().sum()) == 0.0
    kept = label != 255
    per_pixel = F.cross_entropy(logits.detach(), label, reduction='none', ignore_index=255)
    assert loss.item() == pytest.approx(per_pixel[kept].sum().item() / label.numel(), rel=1e-6)
    non_ignore = PixelMeanCrossEntropyLoss(avg_non_ignore=True)(logits.detach(), label)
    assert non_ignore.item() == pytest.approx(per_pixel[kept].mean().item(), rel=1e-6)


def test_ohem_pixel_weights_and_loss_weight(batch):
    logits, label = batch
    keep = (torch.arange(label.numel()).view_as(label) % 3 == 0).float()
    per_pixel = F.cross_entropy(logits, label, reduction='none', ignore_index=255)
    got = PixelMeanCrossEntropyLoss(loss_weight=0.4)(logits, label, weight=keep)
    assert got.item() == pytest.approx(0.4 * (per_pixel * keep).mean().item(), rel=1e-6)
    none = PixelMeanCrossEntropyLoss()(logits, label, reduction_override='none')
    assert none.shape == label.shape


def test_fp16_logits_give_an_fp32_loss(batch):
    logits, label = batch
    loss = PixelMeanCrossEntropyLoss(class_weight=SEED_WEIGHTS)(logits.half(), label)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_bad_settings_are_refused():
    with pytest.raises(TypeError, match='list of numbers'):
        PixelMeanCrossEntropyLoss(class_weight='inv_sqrt')
    with pytest.raises(ValueError, match='use_sigmoid'):
        PixelMeanCrossEntropyLoss(use_sigmoid=True)
    with pytest.raises(ValueError, match='entries'):
        PixelMeanCrossEntropyLoss(class_weight=[1.0] * 5)(torch.zeros(1, NUM_CLASSES, 2, 2), torch.zeros(1, 2, 2).long())


def test_seed_config_uses_it_on_both_heads():
    from mmengine.config import Config

    from utils.core.config import resolve_config

    cfg = Config.fromfile(str(resolve_config('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512')))
    dec, aux = cfg.model.decode_head.loss_decode, cfg.model.auxiliary_head.loss_decode
    assert dec.type == aux.type == 'PixelMeanCrossEntropyLoss'
    assert dec.class_weight == SEED_WEIGHTS and aux.loss_weight == 0.4
