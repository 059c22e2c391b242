"""Backbone ImageNet weights: a kept copy first, then OpenMMLab, then the Hugging Face hub (timm) with a key
mapping proven equal on random weights. No network here: the sources are stand-ins that write files.

The mapping is proven twice: against timm itself where timm imports (``make colab-check``), and everywhere
against what timm computed once, recorded in tests/fixtures/timm_resnet_c.json (see tests/weight_fixtures.py)."""
from __future__ import annotations

import importlib.util

import pytest
import torch

import utils  # noqa: F401  (mmcv-lite shim before mmseg)
from utils.core import pretrained

HAS_TIMM = importlib.util.find_spec('timm') is not None and importlib.util.find_spec('torchvision') is not None


def _resnetv1c_state(depth: int = 50) -> dict:
    from mmseg.models.backbones import ResNetV1c

    return ResNetV1c(depth=depth).state_dict()


@pytest.fixture
def sources(monkeypatch):
    """Stand-in sources: each records its calls, and fails or writes ResNetV1c weights as told."""
    calls, behaviour = [], {'download.openmmlab.com': 'ok', 'the Hugging Face hub (timm, Gluon ResNet-C)': 'ok'}

    def make(name):
        def download(backbone, target):
            calls.append(name)
            if behaviour[name] == 'fail':
                raise OSError('Network is unreachable')
            if behaviour[name] == 'junk':
                target.write_bytes(b'<html>quota exceeded</html>')
                return
            torch.save({'state_dict': _resnetv1c_state()}, target)
        return download

    monkeypatch.setattr(pretrained, 'SOURCES', {n: make(n) for n in behaviour})
    return calls, behaviour


def test_first_source_is_kept_and_reused(sources, tmp_path):
    calls, _ = sources
    path, said = pretrained.fetch_backbone('resnet50_v1c', tmp_path)
    assert path == tmp_path / 'resnet50_v1c.pth' and said.startswith('download.openmmlab.com')
    path2, said2 = pretrained.fetch_backbone('resnet50_v1c', tmp_path)
    assert path2 == path and said2.startswith('kept copy') and calls == ['download.openmmlab.com']
    assert not list(tmp_path.glob('*.part'))


def test_falls_back_to_the_hub_and_says_so(sources, tmp_path):
    calls, behaviour = sources
    behaviour['download.openmmlab.com'] = 'fail'
    path, said = pretrained.fetch_backbone('resnet50_v1c', tmp_path)
    assert 'Hugging Face' in said and path.is_file() and len(calls) == 2


def test_a_junk_download_is_not_kept(sources, tmp_path):
    """An HTML page instead of weights is rejected (weights-only load), and the next source is tried."""
    calls, behaviour = sources
    behaviour['download.openmmlab.com'] = 'junk'
    path, said = pretrained.fetch_backbone('resnet50_v1c', tmp_path)
    assert 'Hugging Face' in said and pretrained._usable(path, 'resnet50_v1c')


def test_no_source_is_one_clear_error(sources, tmp_path):
    _, behaviour = sources
    behaviour.update({k: 'fail' for k in behaviour})
    with pytest.raises(pretrained.PretrainedError, match='download.openmmlab.com: OSError.*Hugging Face.*internet'):
        pretrained.fetch_backbone('resnet50_v1c', tmp_path)
    assert not list(tmp_path.iterdir())


def test_prepare_points_the_config_at_the_local_copy(sources, tmp_path):
    from utils.core.config import load_config

    cfg = load_config('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512', work_dir=tmp_path / 'w')
    said = pretrained.prepare_pretrained(cfg, tmp_path / 'cache')
    assert cfg.model.pretrained == str(tmp_path / 'cache' / 'resnet50_v1c.pth') and 'open-mmlab://resnet50_v1c' in said
    smoke = load_config('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512', work_dir=tmp_path / 'w', smoke=True)
    assert pretrained.prepare_pretrained(smoke, tmp_path / 'cache') is None  # random init: nothing to fetch


def test_key_mapping_on_a_timm_style_state_dict():
    """The deep stem's names move to stem.*, the final stem BN to stem.7, fc is dropped, layers keep their names."""
    state = {'conv1.0.weight': 1, 'conv1.1.running_mean': 2, 'conv1.6.weight': 3, 'bn1.bias': 4,
             'layer1.0.conv1.weight': 5, 'layer4.2.downsample.1.weight': 6, 'fc.weight': 7, 'fc.bias': 8}
    assert pretrained.timm_to_resnetv1c(state) == {'stem.0.weight': 1, 'stem.1.running_mean': 2, 'stem.6.weight': 3,
                                                   'stem.7.bias': 4, 'layer1.0.conv1.weight': 5,
                                                   'layer4.2.downsample.1.weight': 6}
    with pytest.raises(ValueError, match='unexpected key'):
        pretrained.timm_to_resnetv1c({'head.weight': 1})


@pytest.mark.skipif(not HAS_TIMM, reason='timm (and torchvision) not installed; `make colab-check` runs it')
@pytest.mark.parametrize('depth, name', [(50, 'resnet50c'), (101, 'resnet101c')])
def test_mapped_timm_weights_give_the_same_features(depth, name):
    """timm's ResNet-C with random weights, mapped into MMSeg's ResNetV1c: the same features (no download)."""
    import timm
    from mmseg.models.backbones import ResNetV1c

    torch.manual_seed(0)
    theirs = timm.create_model(name, pretrained=False).eval()
    for m in theirs.modules():  # random BN statistics, so that a wrong mapping cannot hide behind identity BNs
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    ours = ResNetV1c(depth=depth)
    ours.eval()  # MMSeg's ResNet.train() returns None, so not chained
    ours.load_state_dict(pretrained.timm_to_resnetv1c(theirs.state_dict()), strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[-1], theirs.forward_features(x), rtol=1e-4, atol=1e-4)


def _features_through_the_mapping(depth: int, keys: list, mapping=None) -> dict:
    """Reproducible timm-keyed weights, mapped, loaded strictly into MMSeg's ResNetV1c, run on the recorded input."""
    from mmseg.models.backbones import ResNetV1c
    from weight_fixtures import channel_stats, reproducible_input, reproducible_state

    ours = ResNetV1c(depth=depth)
    ours.eval()
    ours.load_state_dict((mapping or pretrained.timm_to_resnetv1c)(reproducible_state(keys, 'resnet')), strict=True)
    with torch.no_grad():
        return channel_stats(ours(reproducible_input('resnet'))[-1])


def _assert_stats_close(got: dict, want: dict) -> None:
    for key in ('mean', 'std'):
        torch.testing.assert_close(torch.tensor(got[key], dtype=torch.float64), torch.tensor(want[key], dtype=torch.float64),
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('depth', [50, 101])
def test_mapping_reproduces_the_features_timm_recorded(depth):
    """Without timm: timm's own keys, mapped, give MMSeg's ResNetV1c the features timm computed (2,048 channels)."""
    from weight_fixtures import load

    recorded = load('resnet')['models'][str(depth)]
    _assert_stats_close(_features_through_the_mapping(depth, recorded['keys']), recorded)


def test_the_recorded_features_catch_a_wrong_mapping():
    """Swapping two stem BNs (same shapes, so a strict load still succeeds) is caught by the recorded features."""
    from weight_fixtures import load

    recorded = load('resnet')['models']['50']

    def swapped(state):
        out = pretrained.timm_to_resnetv1c(state)
        for part in ('weight', 'bias', 'running_mean', 'running_var'):
            out[f'stem.1.{part}'], out[f'stem.4.{part}'] = out[f'stem.4.{part}'], out[f'stem.1.{part}']
        return out

    with pytest.raises(AssertionError):
        _assert_stats_close(_features_through_the_mapping(50, recorded['keys'], swapped), recorded)


@pytest.mark.skipif(not HAS_TIMM, reason='timm (and torchvision) not installed; `make colab-check` runs it')
def test_the_recorded_features_are_what_timm_computes():
    """The fixture CI relies on is timm's: the same keys and shapes, the same features (re-record it otherwise)."""
    from weight_fixtures import load, record

    recorded, now = load('resnet'), record('resnet')
    for depth, want in recorded['models'].items():
        got = now['models'][depth]
        assert [list(k) for k in got['keys']] == want['keys'], \
            'timm renamed keys: python tests/weight_fixtures.py resnet re-records'
        _assert_stats_close(got, want)
