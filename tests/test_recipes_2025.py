"""The 2025-26 recipes: under the parameter cap on the whole model, no pre-trained weights, the width knob and
fit-budget, smoke scaling, and each one learning on synthetic faces (holdout F well above a constant prediction).

The whole file takes about 60 s on one quiet CPU thread (the learning runs: 64 px, 30-60 iterations each)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from utils.core.config import RECIPES, load_config
from utils.base.edition import PARAM_CAP, RULES

NEW = RULES['2025'].recipes


def _count(cfg) -> int:
    from utils.core.model import build_segmentor

    return sum(p.numel() for p in build_segmentor(cfg).parameters())


def test_the_2025_recipes_are_offered_by_name():
    assert set(NEW) <= set(RECIPES)
    for name in NEW:
        config, stage2 = RECIPES[name]
        assert stage2 is None and config.endswith('_celebamask-mini-512x512')
        assert load_config(config, work_dir='/tmp/unused').get('edition') == '2025'


@pytest.mark.parametrize('name', NEW)
def test_each_recipe_is_under_the_cap_from_scratch(name, tmp_path):
    from utils.core.rules import check_edition_rules, weight_sources

    cfg = load_config(RECIPES[name][0], work_dir=tmp_path)
    count = _count(cfg)
    assert count < PARAM_CAP
    assert check_edition_rules(cfg) == count
    assert weight_sources(cfg) == []
    if name == RULES['2025'].default_recipe:
        assert count >= 0.9 * PARAM_CAP  # the flagship uses the budget


@pytest.mark.parametrize('name,mmseg_config', [
    ('fast-scnn', '_base_/models/fast_scnn.py'),
    ('lraspp-mv3s', 'mobilenet_v3/mobilenet-v3-d8-scratch-s_lraspp_4xb4-320k_cityscapes-512x1024.py')])
def test_the_reference_recipes_are_mmsegs_own_models_in_size(name, mmseg_config, tmp_path):
    """Fast-SCNN and LR-ASPP as MMSeg's own configs build them (19 classes, SyncBN), parameter for parameter."""
    from pathlib import Path as P

    import mmseg
    from mmengine.config import Config
    from mmseg.registry import MODELS

    path = P(mmseg.__file__).parent / '.mim' / 'configs' / mmseg_config
    if not path.is_file():
        pytest.skip(f'this MMSeg install ships no configs ({path})')
    theirs = Config.fromfile(str(path)).model
    ours = _count(load_config(RECIPES[name][0], work_dir=tmp_path))
    assert ours == sum(p.numel() for p in MODELS.build(theirs).parameters())


@pytest.mark.parametrize('name', NEW)
def test_the_width_knob_scales_the_model(name, tmp_path):
    narrow = load_config(RECIPES[name][0], work_dir=tmp_path, cfg_options={'width': 0.5})
    wide = load_config(RECIPES[name][0], work_dir=tmp_path, cfg_options={'width': 1.5})
    assert _count(narrow) < _count(load_config(RECIPES[name][0], work_dir=tmp_path)) < _count(wide)


def test_fit_budget_finds_the_widest_width_under_the_cap(capsys):
    from utils.core.model import count_all_parameters, main

    config = RECIPES['fast-scnn'][0]
    assert main(['fit-budget', config]) == 0
    out = capsys.readouterr().out
    width = float(out.rsplit('width = ', 1)[1].split('`')[0])
    cfg = load_config(config, work_dir='/tmp/unused')
    assert count_all_parameters(cfg, width) < PARAM_CAP <= count_all_parameters(cfg, width + 0.006)
    assert f'{count_all_parameters(cfg, width):,} parameters' in out


@pytest.mark.parametrize('name', NEW)
def test_smoke_scaling_makes_a_64px_short_run(name):
    cfg = load_config(RECIPES[name][0], work_dir='/tmp/unused', smoke=True)
    steps = {s['type']: s for s in cfg.train_dataloader.dataset.pipeline}
    assert tuple(steps['RandomResize']['scale']) == (64, 64)
    assert tuple(steps['FastRandomCrop']['crop_size']) == (64, 64)
    assert tuple(cfg.model.data_preprocessor['size']) == (64, 64)
    assert cfg.train_cfg.max_iters == 40


def test_set_split_restricts_train_and_holdout(tmp_path):
    from utils.core.config import set_split

    cfg = load_config(RECIPES['bisenetv2-slim'][0], work_dir=tmp_path)
    files = set_split(cfg, {'train': ['a', 'b'], 'holdout': ['c']}, tmp_path)
    assert Path(cfg.train_dataloader.dataset.ann_file).read_text().split() == ['a', 'b']
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.ann_file == str(files['holdout'])
        assert loader.dataset.data_prefix == dict(img_path='train/train_image', seg_map_path='train/train_mask')


@pytest.fixture(scope='module')
def split_data(tmp_path_factory):
    """60 synthetic 64 px faces in train/; 48 train, 12 holdout."""
    from utils.core.synthetic import make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path_factory.mktemp('mini') / 'data', 60, 2, 2, size=64, progress=False)
    stems = sorted(p.stem for p in (root / 'train' / 'train_image').glob('*.jpg'))
    return root, {'edition': '2025', 'seed': 0, 'train': stems[:48], 'holdout': stems[48:]}


def _holdout_f(root: Path, stems: list[str], predict) -> float:
    from utils.evaluate import read_mask
    from utils.core.inference import read_image
    from utils.core.metrics import image_fscore

    scores = []
    for stem in stems:
        gt = read_mask(root / 'train' / 'train_mask' / f'{stem}.png')
        scores.append(image_fscore(gt, predict(read_image(root / 'train' / 'train_image' / f'{stem}.jpg'), gt)))
    return float(np.mean(scores))


ITERS = {'bisenetv2-slim': 30, 'fast-scnn': 60, 'lraspp-mv3s': 40}  # enough for each to leave the constant


@pytest.fixture(scope='module')
def trained(split_data, tmp_path_factory):
    """Each recipe trained once on the split (utils.train.train's result), on first use."""
    from utils.train import train

    root, split = split_data
    done: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in done:
            done[name] = train(RECIPES[name][0], root, tmp_path_factory.mktemp('runs') / name,
                               smoke=dict(size=64, max_iters=ITERS[name]), resume='none', split=split, quiet=True)
        return done[name]

    return get


@pytest.mark.parametrize('name', NEW)
def test_each_recipe_learns_on_synthetic_faces(name, split_data, trained):
    from utils.core.inference import Segmenter

    root, split = split_data
    result = trained(name)
    assert Path(result['best']).name.startswith('best_imgF_iter_')
    assert (result['work_dir'] / 'split_holdout.txt').read_text().split() == split['holdout']
    assert json.loads((result['work_dir'] / 'split.json').read_text()) == split
    seg = Segmenter.from_checkpoint(result['checkpoint'], device='cpu')
    learned = _holdout_f(root, split['holdout'], lambda img, gt: seg.predict([img])[0])
    constant = max(_holdout_f(root, split['holdout'], lambda img, gt, c=c: np.full_like(gt, c)) for c in range(19))
    assert learned > 2 * constant, (learned, constant)
    # the training's own validation (ImageFScoreMetric on the holdout) scored the same model alike
    assert learned == pytest.approx(result['metrics']['imgF'], abs=0.01)
    # and so did its per-class record (utils.plugins.record) against utils.evaluate's per-class mean F over images
    import pandas as pd

    from utils.evaluate import evaluate

    ev = evaluate(result['checkpoint'], root, split='train', stems=split['holdout'], tta='none', flops=False,
                  save_masks=False, progress=False, segmenter=seg)
    assert ev.summary['imgF'] == pytest.approx(learned, abs=1e-9)
    rec = pd.read_csv(result['work_dir'] / 'val_per_class.csv')
    last = rec[rec['step'] == rec['step'].max()].set_index('class')['imgF']
    np.testing.assert_allclose(last.to_numpy(), ev.per_class['imgF'].to_numpy(), atol=0.02)


def test_class_biases_are_tuned_kept_and_applied_on_every_prediction(split_data, trained):
    from utils.core.bias import tune
    from utils.core.checkpoints import safe_load_checkpoint
    from utils.evaluate import evaluate
    from utils.core.inference import Segmenter

    root, split = split_data
    ck = trained('lraspp-mv3s')['checkpoint']
    out = tune(ck, root, split['holdout'], tta='flip', stride=1, device='cpu')
    assert out['imgF_with'] >= out['imgF_without']
    assert safe_load_checkpoint(ck)['meta']['class_bias'] == out['class_bias']
    assert json.loads((Path(ck).parent / 'class_bias.json').read_text())['class_bias'] == out['class_bias']
    seg = Segmenter.from_checkpoint(ck, device='cpu')
    assert seg.class_bias == out['class_bias']
    kw = dict(split='train', stems=split['holdout'], tta='flip', flops=False, progress=False, segmenter=seg)
    with_bias = evaluate(ck, root, **kw)
    without = evaluate(ck, root, class_bias=False, **kw)
    # the tuned number is what every prediction path now gives, and the plain one is argmax's
    assert with_bias.summary['imgF'] == pytest.approx(out['imgF_with'], abs=1e-4)
    assert without.summary['imgF'] == pytest.approx(out['imgF_without'], abs=1e-4)
    assert with_bias.out_dir != without.out_dir and seg.class_bias == out['class_bias']
    assert np.allclose(with_bias.per_class['imgF'].mean(), with_bias.per_class['imgF'].mean())
    assert with_bias.image_f().mean() == pytest.approx(with_bias.summary['imgF'], abs=1e-12)


def test_a_final_fit_trains_on_every_pair_of_the_split(tmp_path):
    from utils.core.config import set_split, use_train_and_val

    cfg = load_config(RECIPES['fast-scnn'][0], work_dir=tmp_path, final_fit=True)
    assert cfg.final_fit and cfg.train_dataloader.dataset.get('type') != 'ConcatDataset'  # no val masks in 2025-26
    assert cfg.train_cfg.val_interval == cfg.train_cfg.max_iters
    use_train_and_val(cfg)  # idempotent
    set_split(cfg, {'train': ['a', 'b', 'c'], 'holdout': ['c']}, tmp_path)
    assert Path(cfg.train_dataloader.dataset.ann_file).read_text().split() == ['a', 'b', 'c']


def test_channels_last_training_runs_for_the_2025_recipes(split_data, tmp_path):
    from utils.train import train

    root, split = split_data
    small = {'train': split['train'][:8], 'holdout': split['holdout'][:2]}
    result = train(RECIPES['bisenetv2-slim'][0], root, tmp_path / 'cl', smoke=dict(size=64, max_iters=2),
                   resume='none', split=small, channels_last=True, quiet=True)
    assert np.isfinite(result['metrics']['imgF']) and result['checkpoint'] is not None


def test_the_readers_of_a_run_find_the_per_image_f(trained):
    from utils.core.checkpoints import best_or_newest
    from utils.core.metrics import plot_curves, read_scalars

    result = trained('fast-scnn')
    val = read_scalars(result['work_dir']).val
    assert {'imgF', 'mIoU'} <= set(val.columns) and val['imgF'].between(0, 1).all()
    assert best_or_newest(result['work_dir']) == result['best']
    fig = plot_curves(result['work_dir'])
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(n.startswith(f"best imgF {val['imgF'].max():.4f}") for n in notes), notes
