"""Trust, round 4: every way weights enter a run is found (utils.core.weights.weight_loads) and judged by the course
rules; known files are recognised by their bytes, timm tags must be plain ImageNet-1k ones; the plan names each."""
from __future__ import annotations

import hashlib

import pytest
import torch

from utils.core import pretrained, weights
from utils.core.config import RECIPES, load_config

SWIN = RECIPES['swin-b'][0]
SEED = RECIPES['seed'][0]
MIT_NAME = 'mit_b3_20220624-13b1141c.pth'


def _cfg(name=SEED, **kw):
    return load_config(name, work_dir='/tmp/unused', **kw)


def _file(tmp_path, name='weights.pth'):
    path = tmp_path / name
    torch.save({'state_dict': {'w': torch.randn(3)}}, path)
    return path


def test_every_way_weights_enter_is_found_refused_and_planned(tmp_path):
    """backbone.pretrained given with --cfg-options, an init_cfg list, an initializer named by its class path: each
    is listed by weight_loads with its setting, refused by the rules, and named in the plan with its SHA-256."""
    file = _file(tmp_path)
    cfg = _cfg(cfg_options={'model.backbone.pretrained': str(file)})
    cfg.model.decode_head.init_cfg = [dict(type='Normal', std=0.01),
                                      dict(type='mmengine.model.weight_init.PretrainedInit', checkpoint=str(file))]
    cfg.model.auxiliary_head.init_cfg = dict(type='PretrainedInit', checkpoint=str(file), prefix='aux.')
    found = dict(weights.weight_loads(cfg))
    assert found == {'model.pretrained': 'open-mmlab://resnet50_v1c', 'model.backbone.pretrained': str(file),
                     'model.decode_head.init_cfg[1].checkpoint': str(file),
                     'model.auxiliary_head.init_cfg.checkpoint': str(file)}
    with pytest.raises(pretrained.CourseRuleError) as info:
        pretrained.check_course_rules(cfg)
    for setting in list(found)[1:]:
        assert f'{setting} = ' in str(info.value)
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    plan = weights.weights_plan(cfg)
    assert ('model.backbone.pretrained', str(file), sha) in plan and ('model.pretrained', 'open-mmlab://resnet50_v1c',
                                                                       None) in plan
    assert 'model.backbone.pretrained' in pretrained.weights_source(cfg)


@pytest.mark.parametrize('tag, ok', [('fb_in1k', True), ('ms_in1k', True), ('a1_in1k', True), ('tv_in1k', True),
                                     ('in12k_ft_in1k', False), ('in22k_ft_in1k', False), ('laion2b_ft_in1k', False),
                                     ('ig1b_ft_in1k', False), ('fb_in22k', False), ('fb_dist_in1k', False),
                                     ('', False)])
def test_a_timm_backbone_with_pretrained_true_needs_a_plain_imagenet_1k_tag(tag, ok):
    """A timm backbone fetching its own weights (pretrained=True) is judged by its tag: plain ImageNet-1k only."""
    cfg = _cfg()
    cfg.model.pop('pretrained')
    name = f'convnext_tiny.{tag}' if tag else 'convnext_tiny'
    cfg.model.backbone = dict(type='mmpretrain.TIMMBackbone', model_name=name, pretrained=True)
    assert weights.weight_loads(cfg) == [('model.backbone.pretrained', f'timm/{name}')]
    if ok:
        pretrained.check_course_rules(cfg)
    else:
        with pytest.raises(pretrained.CourseRuleError, match='plain ImageNet-1k tag'):
            pretrained.check_course_rules(cfg)


def test_a_hugging_face_backbone_with_pretrained_true_is_listed():
    cfg = _cfg()
    cfg.model.backbone = dict(type='HuggingFaceBackbone', model_name='facebook/convnext-base-224-22k', pretrained=True)
    assert ('model.backbone.pretrained', 'hf-hub:facebook/convnext-base-224-22k') in weights.weight_loads(cfg)
    with pytest.raises(pretrained.CourseRuleError):
        pretrained.check_course_rules(cfg)


def test_a_known_file_is_recognised_by_its_bytes_and_host_not_its_name(tmp_path, monkeypatch):
    """A renamed file with the name of OpenMMLab's MiT-B3 file is refused (its SHA-256 does not start with the
    digits OpenMMLab publishes in the name); the real bytes pass; the name on another host is refused."""
    cfg = _cfg(RECIPES['segformer-b3'][0])
    renamed = _file(tmp_path, MIT_NAME)
    cfg.model.backbone.init_cfg.checkpoint = str(renamed)
    with pytest.raises(pretrained.CourseRuleError, match='not its bytes'):
        pretrained.check_course_rules(cfg)
    real = hashlib.sha256(renamed.read_bytes()).hexdigest()
    monkeypatch.setitem(weights.KNOWN_SHA256_PREFIX, MIT_NAME, real[:8])  # as if these were OpenMMLab's bytes
    pretrained.check_course_rules(cfg)
    cfg.model.backbone.init_cfg.checkpoint = f'https://mirror.example.org/pretrain/{MIT_NAME}'
    with pytest.raises(pretrained.CourseRuleError, match='another host'):
        pretrained.check_course_rules(cfg)
    cfg.model.backbone.init_cfg.checkpoint = f'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/{MIT_NAME}'
    pretrained.check_course_rules(cfg)


def test_a_foreign_load_from_is_listed_and_refused_even_with_a_known_name(tmp_path):
    """load_from of a file training did not write is refused whatever it is called; the plan lists it with its hash."""
    path = _file(tmp_path, 'iter_20000.pth')
    cfg = _cfg(cfg_options={'load_from': str(path)})
    assert weights.weight_loads(cfg)[-1] == ('load_from', str(path))
    with pytest.raises(pretrained.CourseRuleError, match='load_from = .*did not write'):
        pretrained.check_course_rules(cfg)
    assert weights.weights_plan(cfg)[-1][2] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_kept_copy_missing_weights_of_the_architecture_is_fetched_again_or_named_offline(tmp_path, monkeypatch):
    """A kept copy with three of the backbone's tensors (or one of another shape) is not used: it is fetched again
    with a warning naming what is missing; offline, the error names the kept copy too."""
    cfg = _cfg(RECIPES['swin-b'][0])
    cfg.model.backbone.update(embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1])
    shapes = pretrained.architecture_shapes(cfg.model.backbone)
    assert 'stages.0.blocks.0.attn.w_msa.qkv.weight' in shapes and 'norm3.weight' in shapes
    name = 'swin_base_patch4_window12_384_20220317-55b0104a.pth'
    kept = tmp_path / name
    torch.save({'state_dict': {k: torch.zeros(v) for k, v in list(shapes.items())[:3]}}, kept)
    calls = []

    def whole(url, target):
        calls.append(url)
        torch.save({'state_dict': {k: torch.zeros(v) for k, v in shapes.items()}}, target)

    monkeypatch.setattr(pretrained, '_download_url', whole)
    with pytest.warns(UserWarning, match=f'{len(shapes) - 3} of its {len(shapes)} weights missing'):
        path, said = pretrained.fetch_url_weights(f'https://download.openmmlab.com/x/{name}', tmp_path,
                                                  architecture=cfg.model.backbone)
    assert len(calls) == 1 and 'kept copy' not in said
    assert pretrained.fetch_url_weights(f'https://download.openmmlab.com/x/{name}', tmp_path,
                                        architecture=cfg.model.backbone)[1].startswith('kept copy')
    state = torch.load(kept)['state_dict']
    state['norm3.weight'] = torch.zeros(5)  # one tensor of another shape
    torch.save({'state_dict': state}, kept)

    def offline(url, target):
        raise OSError('Network is unreachable')

    monkeypatch.setattr(pretrained, '_download_url', offline)
    monkeypatch.delitem(pretrained.SECOND_SOURCES, name)
    with pytest.warns(UserWarning, match='1 of another shape \\(norm3.weight\\)'), \
            pytest.raises(pretrained.PretrainedError, match=f'The kept copy {kept} is not used'):
        pretrained.fetch_url_weights(f'https://download.openmmlab.com/x/{name}', tmp_path,
                                     architecture=cfg.model.backbone)
