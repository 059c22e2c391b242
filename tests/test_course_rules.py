"""The course-rules guard (ImageNet-1k weights only, no foreign load_from) and the weight cache for URL weights."""
from __future__ import annotations

import pytest
from facts import RECIPE_PARAMS
import torch

from utils.core import pretrained
from utils.core.config import RECIPES, load_config
from utils.base.edition import RULES

SWIN = RECIPES['swin-b'][0]
MIT = RECIPES['segformer-b3'][0]


def _cfg(name=SWIN, **kw):
    return load_config(name, work_dir='/tmp/unused', **kw)


@pytest.mark.parametrize('recipe', sorted(RULES['2022'].recipes))
def test_every_2022_recipe_names_imagenet_1k_weights_only(recipe):
    cfg = _cfg(RECIPES[recipe][0])
    refs = pretrained.weight_references(cfg)
    assert len(refs) == 1, refs  # every recipe states where its backbone weights come from
    pretrained.check_course_rules(cfg)
    assert pretrained.weights_source(cfg).startswith('ImageNet-1k ')


@pytest.mark.parametrize('name', [
    'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/swin/swin_base_patch4_window12_384_22k_20220317.pth',
    'swin_base_patch4_window12_384_in22k.pth',
    'timm/swin_base_patch4_window12_384.ms_in22k_ft_in1k',
    'timm/swin_base_patch4_window12_384',  # timm's default tag for Swin-B is an ImageNet-22k fine-tune
    'convnext_base.fb_in22k',
    'hf-hub:nvidia/mit-b3-imagenet21k',
])
def test_a_big_imagenet_or_untagged_name_is_refused_with_one_message(name):
    cfg = _cfg()
    cfg.model.backbone.init_cfg.checkpoint = name
    with pytest.raises(pretrained.CourseRuleError) as err:
        pretrained.check_course_rules(cfg)
    msg = str(err.value)
    assert 'ImageNet-1k pre-trained weights only' in msg and 'course_rules=False' in msg
    assert 'model.backbone.init_cfg.checkpoint' in msg and name in msg and '\n' not in msg


def test_an_imagenet_1k_timm_tag_is_accepted_and_the_override_lifts_the_rule():
    cfg = _cfg()
    cfg.model.backbone.init_cfg.checkpoint = 'timm/swin_base_patch4_window12_384.ms_in1k'
    pretrained.check_course_rules(cfg)
    cfg.model.backbone.init_cfg.checkpoint = 'swin_base_patch4_window12_384_22k.pth'
    cfg.course_rules = False
    pretrained.check_course_rules(cfg)


def test_a_foreign_load_from_is_refused_and_an_own_checkpoint_allowed(tmp_path):
    from utils.core.checkpoints import record_file

    foreign = tmp_path / 'downloaded' / 'iter_16000.pth'
    foreign.parent.mkdir()
    torch.save({'state_dict': {}}, foreign)
    cfg = _cfg(MIT, cfg_options={'load_from': str(foreign)})
    with pytest.raises(pretrained.CourseRuleError, match='load_from = .*did not write.*course_rules=False'):
        pretrained.check_course_rules(cfg)
    record_file(foreign)  # as this project's training records each checkpoint it writes
    pretrained.check_course_rules(cfg)


def test_training_refuses_before_building_anything(synthetic_root, tmp_path, capsys):
    from utils.train import main

    foreign = tmp_path / 'elsewhere.pth'
    torch.save({'state_dict': {}}, foreign)
    rc = main([MIT, '--smoke', '--data-root', str(synthetic_root), '--work-dir', str(tmp_path / 'w'),
               '--cfg-options', f'load_from={foreign}'])
    err = capsys.readouterr().err
    assert rc == 2 and err.count('\n') == 1 and 'Traceback' not in err
    assert 'ImageNet-1k' in err and 'course_rules=False' in err
    assert not list((tmp_path / 'w').glob('*.pth'))


@pytest.fixture
def downloads(monkeypatch):
    calls = []

    def fake(url, target):
        calls.append(url)
        if 'junk' in url:
            target.write_bytes(b'<html>quota exceeded</html>')
        else:
            torch.save({'state_dict': {f'layer{i}.weight': torch.zeros(1) for i in range(12)}}, target)

    monkeypatch.setattr(pretrained, '_download_url', fake)
    return calls


def _tiny_swin():
    """The Swin recipe with a backbone small enough for a whole fake copy of its weights (the names stay Swin's)."""
    cfg = _cfg()
    cfg.model.backbone.update(embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1])
    return cfg


def test_url_weights_are_kept_and_reused(tmp_path, monkeypatch):
    calls = []
    shapes = pretrained.architecture_shapes(_tiny_swin().model.backbone)

    def whole(url, target):
        calls.append(url)
        torch.save({'state_dict': {k: torch.zeros(v) for k, v in shapes.items()}}, target)

    monkeypatch.setattr(pretrained, '_download_url', whole)
    cfg = _tiny_swin()
    said = pretrained.prepare_pretrained(cfg, tmp_path / 'cache')
    local = tmp_path / 'cache' / 'swin_base_patch4_window12_384_20220317-55b0104a.pth'
    assert cfg.model.backbone.init_cfg.checkpoint == str(local) and local.is_file()
    assert 'ImageNet-1k Swin-B' in said and 'download.openmmlab.com' in said
    again = _tiny_swin()
    said2 = pretrained.prepare_pretrained(again, tmp_path / 'cache')
    assert len(calls) == 1 and 'kept copy' in said2


def test_a_junk_download_is_one_error_and_not_kept(downloads, tmp_path):
    with pytest.raises(pretrained.PretrainedError, match='did not give a weight file'):
        pretrained.fetch_url_weights('https://example.org/junk.pth', tmp_path)
    assert not list(tmp_path.iterdir())


def test_plan_table_shows_the_rule_the_source_and_the_parameter_count():
    from utils.notebook import workflow

    frame = workflow.make_plan({'RECIPE': 'segformer-b3'}, gpu=True).frame().data
    weights = frame.loc['pre-trained weights', 'value']
    assert weights.startswith('ImageNet-1k weights only: ImageNet-1k MiT-B3') and 'download.openmmlab.com' in weights
    assert frame.loc['parameters', 'value'] == f"{RECIPE_PARAMS['segformer-b3']:,}"
    assert frame.loc['iterations, stage 1', 'value'] == "the config's (30,000)"


def test_a_short_real_transformer_run_never_writes_synthetic_data(tmp_path, capsys):
    """A real config (pre-trained weights in its backbone's init_cfg) with a missing data root is one error, not a
    synthetic dataset written there (which only a smoke run does)."""
    from utils.train import main

    missing = tmp_path / 'no-data'
    rc = main([MIT, '--data-root', str(missing), '--work-dir', str(tmp_path / 'w'), '--max-iters', '10'])
    assert rc == 2 and 'Data root not found' in capsys.readouterr().err and not missing.exists()


def test_a_cut_off_kept_copy_of_url_weights_is_fetched_again(tmp_path, monkeypatch):
    """A kept copy of a transformer's weights cut off by a disconnect is not used: it is fetched again (review)."""
    import torch

    from utils.core import pretrained

    url = 'https://download.openmmlab.com/x/mit_b3_20220624-13b1141c.pth'
    (tmp_path / 'mit_b3_20220624-13b1141c.pth').write_bytes(b'PK\x03\x04 cut off')

    def download(arg, target):
        torch.save({'state_dict': {f'w{i}': torch.zeros(1) for i in range(12)}}, target)

    monkeypatch.setattr(pretrained, '_download_url', download)
    with pytest.warns(UserWarning, match='unusable'):
        path, said = pretrained.fetch_url_weights(url, tmp_path)
    assert said.startswith('download.openmmlab.com') and len(torch.load(path)['state_dict']) == 12
