"""The second source of the Swin-B weights (timm's ``swin_base_patch4_window12_384.ms_in1k`` on the Hugging Face hub,
ImageNet-1k): the key mapping onto MMSeg's SwinTransformer, proven against timm where it imports and against its
recorded features and keys everywhere else (tests/weight_fixtures.py)."""
from __future__ import annotations

import importlib.util

import pytest
import torch

import utils  # noqa: F401  (mmcv-lite shim before mmseg)
from utils.core import pretrained

HAS_TIMM = importlib.util.find_spec('timm') is not None and importlib.util.find_spec('torchvision') is not None
NAME = 'swin_base_patch4_window12_384_20220317-55b0104a.pth'
NO_COUNTERPART = ('norm0.', 'norm1.', 'norm2.')  # MMSeg's per-stage output norms; timm has only the last one


def _small_mmseg():
    from mmseg.models.backbones import SwinTransformer

    from weight_fixtures import SOURCES, SWIN_SMALL as SMALL

    model = SwinTransformer(pretrain_img_size=SOURCES['swin'].input_shape[-1], embed_dims=SMALL['embed_dim'],
                            depths=list(SMALL['depths']), num_heads=list(SMALL['num_heads']),
                            window_size=SMALL['window_size'], drop_path_rate=0.0)
    model.eval()
    return model


def _small_features(state):
    from weight_fixtures import reproducible_input

    model = _small_mmseg()
    missing, unexpected = model.load_state_dict(pretrained.timm_to_swin(state), strict=False)
    assert not unexpected and all(k.startswith(NO_COUNTERPART) or k.endswith('relative_position_index')
                                  for k in missing), missing
    with torch.no_grad():
        return model(reproducible_input('swin'))[3]


def test_mapping_reproduces_the_features_timm_recorded():
    from weight_fixtures import channel_stats, load, reproducible_state

    rec = load('swin')
    stats = channel_stats(_small_features(reproducible_state(rec['small_keys'], 'swin')))
    torch.testing.assert_close(torch.tensor(stats['mean']), torch.tensor(rec['mean']), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.tensor(stats['std']), torch.tensor(rec['std']), atol=1e-4, rtol=1e-4)


def test_the_recorded_features_catch_a_merge_in_the_wrong_order(monkeypatch):
    from weight_fixtures import channel_stats, load, reproducible_state

    rec = load('swin')
    monkeypatch.setattr(pretrained, '_unfold_order', lambda value: value)  # the neighbours left in timm's order
    stats = channel_stats(_small_features(reproducible_state(rec['small_keys'], 'swin')))
    assert max(abs(a - b) for a, b in zip(stats['std'], rec['std'])) > 1e-2


def test_every_swin_b_key_fits_the_recipes_backbone():
    from mmseg.models.backbones import SwinTransformer

    from weight_fixtures import load, reproducible_state
    from utils.core.config import RECIPES, load_config

    cfg = load_config(RECIPES['swin-b'][0], work_dir='/tmp/unused')
    backbone = {k: v for k, v in cfg.model.backbone.items() if k not in ('type', 'init_cfg')}
    model = SwinTransformer(**backbone)
    mapped = pretrained.timm_to_swin(reproducible_state(load('swin')['swin_b_keys'], 'swin'))
    missing, unexpected = model.load_state_dict(mapped, strict=False)  # a wrong shape raises here
    assert not unexpected
    assert all(k.startswith(NO_COUNTERPART) or k.endswith('relative_position_index') for k in missing), missing
    assert SECOND_KEY in mapped


SECOND_KEY = pretrained.SECOND_SOURCES[NAME][3]


def test_the_recipe_gets_the_window12_384_weights_from_the_hub_when_openmmlab_fails(monkeypatch, tmp_path):
    """The weights the Swin recipe names are timm's window-12, 384-px ImageNet-1k Swin-B where OpenMMLab's server
    fails (mapped), and the config then points at that copy: the test above shows they fit the recipe's backbone."""
    from weight_fixtures import load, reproducible_state
    from utils.core.config import RECIPES, load_config

    calls = []

    def openmmlab(url, target):
        calls.append('openmmlab')
        raise OSError('HTTP Error 404: Not Found')

    def hub(repo, target):
        calls.append(repo)
        torch.save({'state_dict': pretrained.timm_to_swin(reproducible_state(load('swin')['swin_b_keys'], 'swin'))}, target)

    monkeypatch.setattr(pretrained, '_download_url', openmmlab)
    monkeypatch.setitem(pretrained.SECOND_SOURCES, NAME, (*pretrained.SECOND_SOURCES[NAME][:1], hub,
                                                          *pretrained.SECOND_SOURCES[NAME][2:]))
    cfg = load_config(RECIPES['swin-b'][0], work_dir='/tmp/unused')
    said = pretrained.prepare_pretrained(cfg, tmp_path)
    assert calls == ['openmmlab', 'timm/swin_base_patch4_window12_384.ms_in1k']
    assert 'ms_in1k, ImageNet-1k' in said and cfg.model.backbone.init_cfg.checkpoint == str(tmp_path / NAME)


@pytest.mark.skipif(not HAS_TIMM, reason='timm (with torchvision) is not installed: the recording stands in for it')
def test_mapped_weights_give_timms_own_features():
    from weight_fixtures import small_timm_swin, timm_swin_features

    model, keys = small_timm_swin()
    torch.testing.assert_close(_small_features(model.state_dict()), timm_swin_features(model), atol=1e-5, rtol=1e-5)
