"""The second source of the MiT-B3 weights (the Hugging Face hub's ``nvidia/mit-b3``, ImageNet-1k): the key mapping
onto MMSeg's MixVisionTransformer, proven against transformers itself where it imports and against its recorded
features everywhere else (tests/weight_fixtures.py)."""
from __future__ import annotations

import importlib.util

import pytest
import torch

import utils  # noqa: F401  (mmcv-lite shim before mmseg)
from utils.core import pretrained

HAS_HF4 = importlib.util.find_spec('transformers') is not None and __import__(
    'importlib.metadata').metadata.version('transformers').startswith('4.')


def _mmseg_mit():
    from mmseg.models.backbones import MixVisionTransformer

    return MixVisionTransformer(embed_dims=64, num_layers=[3, 4, 18, 3], num_heads=[1, 2, 5, 8]).eval()


def _mapped_features(keys):
    from weight_fixtures import reproducible_input, reproducible_state

    model = _mmseg_mit()
    mapped = pretrained.hf_to_mit(reproducible_state(keys, 'mit'))
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    assert not missing and not unexpected, (missing[:3], unexpected[:3])
    with torch.no_grad():
        return model(reproducible_input('mit'))


def test_mapping_reproduces_the_features_transformers_recorded():
    from weight_fixtures import channel_stats, load

    rec = load('mit')
    features = _mapped_features(rec['keys'])
    assert len(features) == len(rec['stages']) == 4
    for got, want in zip(features, rec['stages']):
        stats = channel_stats(got)
        torch.testing.assert_close(torch.tensor(stats['mean']), torch.tensor(want['mean']), atol=2e-4, rtol=1e-4)
        torch.testing.assert_close(torch.tensor(stats['std']), torch.tensor(want['std']), atol=2e-4, rtol=1e-4)


def test_the_recorded_features_catch_a_swapped_query_and_key():
    from weight_fixtures import channel_stats, load, reproducible_input, reproducible_state

    rec = load('mit')
    state = reproducible_state(rec['keys'], 'mit')
    q, k = 'segformer.encoder.block.3.0.attention.self.query.weight', 'segformer.encoder.block.3.0.attention.self.key.weight'
    state[q], state[k] = state[k], state[q]
    model = _mmseg_mit()
    model.load_state_dict(pretrained.hf_to_mit(state))
    with torch.no_grad():
        last = channel_stats(model(reproducible_input('mit'))[3])
    assert max(abs(a - b) for a, b in zip(last['mean'], rec['stages'][3]['mean'])) > 1e-2


def test_unexpected_keys_are_refused():
    with pytest.raises(ValueError, match='unexpected key'):
        pretrained.hf_to_mit({'segformer.encoder.block.0.0.attention.self.rotary.weight': torch.zeros(1)})


@pytest.mark.skipif(not HAS_HF4, reason='transformers 4.x is not installed (the recording stands in for it)')
def test_mapped_weights_give_transformers_own_features():
    from weight_fixtures import hf_model, hf_stages

    model, keys = hf_model()
    for got, want in zip(_mapped_features(keys), hf_stages(model)):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def _patched_sources(monkeypatch, openmmlab_ok: bool, hub_ok: bool):
    from weight_fixtures import load, reproducible_state

    calls = []

    def openmmlab(url, target):
        calls.append('openmmlab')
        if not openmmlab_ok:
            raise OSError('HTTP Error 503: Service Unavailable')
        torch.save({'state_dict': pretrained.hf_to_mit(reproducible_state(load('mit')['keys'], 'mit'))}, target)

    def hub(repo, target):
        calls.append(repo)
        if not hub_ok:
            raise OSError('Network is unreachable')
        torch.save({'state_dict': pretrained.hf_to_mit(reproducible_state(load('mit')['keys'], 'mit'))}, target)

    name = 'mit_b3_20220624-13b1141c.pth'
    monkeypatch.setattr(pretrained, '_download_url', openmmlab)
    monkeypatch.setitem(pretrained.SECOND_SOURCES, name, (*pretrained.SECOND_SOURCES[name][:1], hub,
                                                          *pretrained.SECOND_SOURCES[name][2:]))
    return calls


def test_the_hub_stands_in_when_openmmlab_fails_and_says_so(monkeypatch, tmp_path):
    from utils.core.checkpoints import extract_state_dict, safe_load_checkpoint
    from utils.core.config import RECIPES, load_config

    calls = _patched_sources(monkeypatch, openmmlab_ok=False, hub_ok=True)
    cfg = load_config(RECIPES['segformer-b3'][0], work_dir='/tmp/unused')
    said = pretrained.prepare_pretrained(cfg, tmp_path)
    assert calls == ['openmmlab', 'nvidia/mit-b3'] and 'nvidia/mit-b3, ImageNet-1k' in said
    state = extract_state_dict(safe_load_checkpoint(cfg.model.backbone.init_cfg.checkpoint), 'kept copy')
    _mmseg_mit().load_state_dict(state, strict=True)  # the kept file fits MMSeg's MiT-B3 exactly
    pretrained.check_course_rules(load_config(RECIPES['segformer-b3'][0], work_dir='/tmp/unused'))


def test_both_sources_failing_is_one_message(monkeypatch, tmp_path):
    _patched_sources(monkeypatch, openmmlab_ok=False, hub_ok=False)
    with pytest.raises(pretrained.PretrainedError) as err:
        pretrained.fetch_url_weights('https://download.openmmlab.com/x/mit_b3_20220624-13b1141c.pth', tmp_path)
    msg = str(err.value)
    assert '503' in msg and 'Network is unreachable' in msg and 'kept in' in msg and '\n' not in msg
    assert not list(tmp_path.iterdir())  # nothing half-written is kept
