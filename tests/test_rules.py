"""utils.core.rules: the 2025-26 guard refuses, before anything is written, a model at or over 1,821,085 parameters
(counted here on the built model, independently) and pre-trained weights given any way."""
from __future__ import annotations

import pytest

from utils.core.config import RECIPES, load_config
from utils.base.edition import PARAM_CAP
from utils.core.rules import EditionRuleError, check_edition_rules, effective_edition, weight_sources

FLAGSHIP = RECIPES['bisenetv2-slim'][0]


def _count(cfg) -> int:
    from utils.core.model import build_segmentor

    return sum(p.numel() for p in build_segmentor(cfg).parameters())


def test_the_flagship_passes_and_the_count_is_the_whole_model(tmp_path):
    cfg = load_config(FLAGSHIP, work_dir=tmp_path / 'wd')
    assert check_edition_rules(cfg, '2022') == _count(cfg) < PARAM_CAP  # the config's edition = '2025' wins


def test_over_the_cap_one_message_with_count_cap_and_largest_module(tmp_path):
    cfg = load_config(FLAGSHIP, work_dir=tmp_path / 'wd', cfg_options={'width': 1.5})
    count = _count(cfg)
    assert count >= PARAM_CAP
    with pytest.raises(EditionRuleError) as err:
        check_edition_rules(cfg, '2025')
    text = str(err.value)
    assert f'{count:,}' in text and '1,821,085' in text and 'most are in backbone' in text


def test_a_2022_recipe_is_refused_under_2025(tmp_path):
    cfg = load_config(RECIPES['seed'][0], work_dir=tmp_path / 'wd')
    with pytest.raises(EditionRuleError, match='pre-trained weights are not allowed') as err:
        check_edition_rules(cfg, '2025')
    assert 'the model has 4' in str(err.value)  # 43.6 M parameters too


PRETRAINED = dict(type='Pretrained', checkpoint='open-mmlab://some-weights.pth')
WAYS = {
    'model.pretrained': {'model.pretrained': 'weights.pth'},
    'backbone init_cfg': {'model.backbone.init_cfg': PRETRAINED},
    'init_cfg in a list': {'model.backbone.init_cfg': [dict(type='Kaiming', layer='Conv2d'), PRETRAINED]},
    'init by class path': {'model.decode_head.init_cfg': dict(type='mmengine.model.weight_init.PretrainedInit',
                                                              checkpoint='w.pth')},
    'load_from': {'load_from': 'someone-elses.pth'},
}


@pytest.mark.parametrize('way', WAYS)
def test_weights_are_refused_whichever_way_they_come(way, tmp_path):
    from utils.train import train

    work = tmp_path / 'wd'
    with pytest.raises(EditionRuleError, match='pre-trained weights are not allowed') as err:
        train(FLAGSHIP, tmp_path / 'data', work, smoke=True, cfg_options=WAYS[way], edition='2025')
    assert '1,821,085' in str(err.value)
    assert not work.exists() and not (tmp_path / 'data').exists()  # nothing written, nothing trained


def test_over_the_cap_trains_nothing_even_when_the_command_line_says_2022(tmp_path):
    from utils.train import train

    work = tmp_path / 'wd'
    with pytest.raises(EditionRuleError, match='1,821,085'):
        train(FLAGSHIP, tmp_path / 'data', work, smoke=True, cfg_options={'width': 1.5}, edition='2022')
    assert not work.exists()


def test_weights_as_the_class_itself_and_a_clean_config(tmp_path):
    from mmengine.model.weight_init import PretrainedInit

    cfg = load_config(FLAGSHIP, work_dir=tmp_path / 'wd')
    assert weight_sources(cfg) == []
    cfg.model.backbone.init_cfg = dict(type=PretrainedInit, checkpoint=None)
    assert len(weight_sources(cfg)) == 1


def test_the_edition_in_force():
    from utils.base.edition import EditionError

    assert effective_edition({'edition': '2025'}, '2022') == '2025'
    assert effective_edition({}, '2025') == '2025'
    assert effective_edition({}, None) == '2022'
    with pytest.raises(EditionError):
        effective_edition({}, '2024')


def test_the_command_line_takes_the_edition_and_says_why_in_one_message(tmp_path, capsys):
    from utils.train import main

    rc = main([RECIPES['seed'][0], '--smoke', '--edition', '2025', '--data-root', str(tmp_path / 'd'),
               '--work-dir', str(tmp_path / 'w')])
    err = capsys.readouterr().err
    assert rc != 0 and '43,589,878 parameters' in err and '1,821,085' in err and err.count('\n') == 1
    assert not (tmp_path / 'w').exists()
