"""The final fit: train + val as one training set (one setting in the notebooks, one CLI flag), its own work_dir,
04 marking its val scores as not honest, 05 submitting that model."""
from __future__ import annotations

import pytest

from utils.notebook import steps, workflow
from utils.core.config import FINAL_FIT_SUFFIX, RECIPES, load_config

SMOKE = 'deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-40it_celebamask-smoke-64x64'


def test_the_training_set_becomes_train_plus_val(synthetic_root):
    from mmseg.registry import DATASETS

    from utils.core.model import init_registries

    init_registries()
    plain = load_config(SMOKE, data_root=synthetic_root, work_dir='/tmp/unused')
    both = load_config(SMOKE, data_root=synthetic_root, work_dir='/tmp/unused', final_fit=True)
    assert both.train_dataloader.dataset.type == 'ConcatDataset' and both.final_fit
    n_train = len(DATASETS.build(plain.train_dataloader.dataset))
    n_val = len(DATASETS.build(plain.val_dataloader.dataset))
    assert (n_train, n_val) == (40, 12)
    assert len(DATASETS.build(both.train_dataloader.dataset)) == n_train + n_val
    train_set, val_set = both.train_dataloader.dataset.datasets
    assert val_set.pipeline == train_set.pipeline  # val images get the training augmentation too
    assert both.train_cfg.val_interval == both.train_cfg.max_iters  # one (dishonest) validation, at the end


@pytest.fixture(scope='module')
def final_run(synthetic_root, tmp_path_factory):
    """A smoke final fit trained through the CLI flag into the work_dir the notebooks' plan names."""
    from utils.train import main

    plan = workflow.make_plan({'SMOKE': True, 'RECIPE': 'improved', 'FINAL_FIT': True,
                               'WORK_ROOT': str(tmp_path_factory.mktemp('final')), 'DATA_ROOT': str(synthetic_root)})
    rc = main([SMOKE, '--smoke', '--final-fit', '--data-root', str(synthetic_root), '--work-dir',
               str(plan.work_dir_20k), '--max-iters', '2'])
    assert rc == 0
    return plan


def test_cli_final_fit_trains_on_train_and_val_into_its_own_work_dir(final_run):
    from mmengine.config import Config

    work = final_run.work_dir_20k
    assert work.name.endswith(FINAL_FIT_SUFFIX)
    dumped = Config.fromfile(str(next(work.glob('*.py'))))
    assert [d['data_prefix']['img_path'] for d in dumped.train_dataloader.dataset.datasets] == [
        'train/train_image', 'val/val_image']
    assert [p.name for p in work.glob('best_*.pth')] == ['best_mIoU_iter_2.pth']
    for head in (dumped.model.decode_head, dumped.model.auxiliary_head):  # 'inv_sqrt' resolved before training
        assert isinstance(head.loss_decode.class_weight, list) and len(head.loss_decode.class_weight) == 19


def test_plan_setting_names_its_work_dirs_and_zip():
    plan = workflow.make_plan({'RECIPE': 'seed', 'FINAL_FIT': True}, gpu=True)
    assert plan.final_fit and plan.sources['FINAL_FIT'] == 'set here' and plan.settings()['FINAL_FIT'] is True
    assert plan.work_dir_20k.name == RECIPES['seed'][0] + FINAL_FIT_SUFFIX
    assert plan.work_dir_30k.name == RECIPES['seed'][1] + FINAL_FIT_SUFFIX
    assert plan.submission_zip.name == 'submission-seed-trainval.zip'
    assert workflow.checkpoint_recipe(plan.work_dir_20k / 'best.pth') == 'seed'
    assert workflow.make_plan({'RECIPE': 'seed'}, gpu=True).work_dir_20k.name == RECIPES['seed'][0]
    with pytest.raises(workflow.PlanError, match='FINAL_FIT'):
        workflow.make_plan({'FINAL_FIT': 'yes'})


def test_04_marks_a_final_fits_val_scores_and_05_uses_it(final_run, capsys):

    ckpt = workflow.final_checkpoint(final_run)  # what 04 and 05 use
    assert ckpt.parent == final_run.work_dir_20k
    capsys.readouterr()
    evaluation = steps.evaluate_run(final_run, ckpt)
    out = capsys.readouterr().out
    assert 'NOT HONEST' in out and 'train + val' in out
    assert len(evaluation.plain.names) == 12  # every val image, each of which the model was trained on
