"""Training under the 2025-26 rules: the holdout is made once, written to the work_dir as split.json, kept on a
resume, and the datasets the Runner builds hold exactly its stems (a final fit: every training pair)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from utils.core.config import load_config
from utils.data.split import read_split
from utils.core.synthetic import make_synthetic_dataset
from utils.train import TrainError, apply_holdout, config_edition, main, train

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / 'configs' / 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64.py'
N_TRAIN = 40
SEEN: dict[str, list[int]] = {}


@pytest.fixture(scope='module')
def ds25(tmp_path_factory) -> Path:
    return make_synthetic_dataset(tmp_path_factory.mktemp('d25') / 'ds', N_TRAIN, 4, 4, size=64, progress=False,
                                  edition='2025')


@pytest.fixture(scope='module')
def config25(tmp_path_factory) -> Path:
    """A 2025-26 recipe (Fast-SCNN, the smallest; under the cap, so the rules guard lets it train)."""
    from utils.core.config import RECIPES

    return REPO / 'configs' / f"{RECIPES['fast-scnn'][0]}.py"


def _build(dataset_cfg):
    import utils.plugins.dataset  # noqa: F401  (registers the dataset and CheckSegLabels)
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    init_default_scope('mmseg')
    return DATASETS.build(dataset_cfg)


def _stems(dataset) -> list[str]:
    return sorted(Path(d['img_path']).stem for d in dataset.load_data_list())


def test_config_edition(config25):
    assert config_edition(config25) == '2025'
    assert config_edition(SMOKE) is None
    assert config_edition(SMOKE, {'edition': '2025'}) == '2025'


def test_holdout_applied_to_the_datasets(ds25, config25, tmp_path):
    cfg = load_config(config25, data_root=ds25, work_dir=tmp_path / 'w', smoke=True)
    split = apply_holdout(cfg, ds25)
    assert read_split(tmp_path / 'w', ds25) == split and len(split['holdout']) == 4
    train_set, val_set = _build(cfg.train_dataloader.dataset), _build(cfg.val_dataloader.dataset)
    assert len(train_set) == len(split['train']) == N_TRAIN - 4
    assert _stems(train_set) == split['train'] and _stems(val_set) == split['holdout']
    assert all(Path(d['seg_map_path']).parent == ds25 / 'train' / 'train_mask' for d in val_set.load_data_list())
    assert (tmp_path / 'w' / 'split_holdout.txt').read_text().split() == split['holdout']
    # a second run into the same work_dir, or a stage resumed from it, keeps that holdout whatever its seed says
    again = load_config(config25, data_root=ds25, work_dir=tmp_path / 'w', smoke=True,
                        cfg_options={'holdout': {'seed': 5}})
    assert apply_holdout(again, ds25) == split
    stage2 = load_config(config25, data_root=ds25, work_dir=tmp_path / 'w2', smoke=True,
                         cfg_options={'holdout': {'seed': 5}})
    assert apply_holdout(stage2, ds25, resumed_from=tmp_path / 'w' / 'iter_2.pth') == split
    fresh = load_config(config25, data_root=ds25, work_dir=tmp_path / 'w3', smoke=True,
                        cfg_options={'holdout': {'seed': 5}})
    assert apply_holdout(fresh, ds25)['holdout'] != split['holdout']


def test_final_fit_trains_on_every_pair(ds25, config25, tmp_path):
    first = load_config(config25, data_root=ds25, work_dir=tmp_path / 'stage1', smoke=True)
    split = apply_holdout(first, ds25)
    cfg = load_config(config25, data_root=ds25, work_dir=tmp_path / 'fit', smoke=True)
    fit = apply_holdout(cfg, ds25, final_fit=True, resumed_from=tmp_path / 'stage1' / 'iter_2.pth')
    assert fit['holdout'] == split['holdout'] and fit['final_fit'] is True
    assert len(_build(cfg.train_dataloader.dataset)) == N_TRAIN and cfg.final_fit
    assert cfg.train_cfg.val_interval == cfg.train_cfg.max_iters
    assert read_split(tmp_path / 'fit', ds25) == fit
    back = load_config(config25, data_root=ds25, work_dir=tmp_path / 'fit', smoke=True)
    with pytest.raises(TrainError, match='belongs to a final fit'):
        apply_holdout(back, ds25)


def test_train_writes_split_and_trains_on_its_stems(ds25, config25, tmp_path):
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module(force=True)
    class RecordDatasetSizes(Hook):
        def before_train(self, runner) -> None:
            SEEN.setdefault('train', []).append(len(runner.train_dataloader.dataset))
            SEEN.setdefault('val', []).append(len(runner.val_dataloader.dataset))

    SEEN.clear()
    result = train(config25, ds25, tmp_path / 'stage1', smoke=dict(size=64, max_iters=2), resume='none',
                   extra_hooks=[dict(type='RecordDatasetSizes')])
    split = read_split(result['work_dir'], ds25)
    assert SEEN == {'train': [len(split['train'])], 'val': [len(split['holdout'])]} and len(split['holdout']) == 4
    assert result['checkpoint'] is not None
    # the command, as 03 runs it: a final fit resumed from stage 1, on every pair
    rc = main([str(config25), '--data-root', str(ds25), '--work-dir', str(tmp_path / 'fit'), '--smoke',
               '--max-iters', '3', '--resume', str(tmp_path / 'stage1'), '--final-fit'])
    assert rc == 0
    fit = read_split(tmp_path / 'fit', ds25)
    assert fit['holdout'] == split['holdout'] and sorted(fit['train']) == sorted(split['train'] + split['holdout'])
    assert os.path.isfile(tmp_path / 'fit' / 'iter_3.pth')
