"""The run plan the notebooks share (settings given once), the checkpoint picked for evaluation, the schedule figure
(the live hooks of the training cell: tests/test_live.py)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from utils.core import checkpoints, config
from utils.notebook import workflow


def test_plan_smoke_or_real(tmp_path):
    """SMOKE when given; else real when something points at real data or a GPU is there; else smoke."""
    smoke = workflow.make_plan({'WORK_ROOT': str(tmp_path)}, gpu=False)
    assert smoke.smoke and not smoke.amp and smoke.data_source == 'synthetic'
    assert smoke.data_root == tmp_path / 'data' and smoke.work_dir_20k.parent == tmp_path
    assert (smoke.iters_20k, smoke.iters_30k) == (60, 90) and smoke.smoke_options(60) == dict(size=64, max_iters=60)
    real = workflow.make_plan({'DATA_SOURCE': '1AbCdEf', 'WORK_ROOT': str(tmp_path)}, gpu=False)
    assert not real.smoke and not real.amp  # real data on a CPU: utils.notebook.session stops it
    gpu = workflow.make_plan({}, gpu=True, colab=True, drive_project=tmp_path / 'drive', content=tmp_path / 'c')
    assert not gpu.smoke and gpu.amp and gpu.smoke_options(20000) is None and (gpu.iters_20k, gpu.iters_30k) == (None, None)
    assert gpu.data_root == tmp_path / 'c' / 'data' / 'celebamask' and gpu.work_root == tmp_path / 'drive' / 'work_dirs'
    assert workflow.make_plan({'SMOKE': True}, gpu=True).smoke  # an explicit SMOKE wins over the GPU
    assert smoke.submission_zip.name == 'submission-SMOKE-not-for-upload.zip' and gpu.submission_zip.name == 'submission-seed.zip'
    assert workflow.make_plan({'RECIPE': 'improved'}, gpu=True).submission_zip.name == 'submission-improved.zip'
    # in Colab a smoke run's checkpoints get their own folder: a real run never resumes from a smoke model
    tried = workflow.make_plan({'SMOKE': True}, gpu=True, colab=True, drive_project=tmp_path / 'drive')
    assert tried.work_root == tmp_path / 'drive' / 'work_dirs' / 'smoke' and tried.work_dir_20k.parent == tried.work_root
    assert gpu.work_dir_20k.parent == tmp_path / 'drive' / 'work_dirs'


def test_a_smoke_setting_kept_from_an_earlier_run_is_said_on_a_gpu(tmp_path):
    plan = workflow.make_plan({}, notebook='02_train_20k', settings={'SMOKE': True}, gpu=True, colab=True,
                              drive_project=tmp_path)
    assert plan.smoke and any('set SMOKE = False in 00_setup' in n for n in plan.notes)
    assert not workflow.make_plan({}, settings={'SMOKE': True}, gpu=False).notes  # on a CPU smoke is expected


def test_settings_are_given_once_and_a_value_set_here_wins():
    """Later notebooks take the run's settings; a parameter set here wins, and the plan says so."""
    kept = {'SMOKE': True, 'RECIPE': 'seed', 'DATA_SOURCE': '/d/course.zip', 'TTA': 'flip'}
    plan = workflow.make_plan({}, notebook='04_evaluate', settings=kept)
    assert plan.smoke and plan.recipe == 'seed' and plan.data_source == '/d/course.zip'
    assert plan.sources['RECIPE'] == 'settings.json' and plan.sources['ITERS_20K'] == 'default' and not plan.notes
    other = workflow.make_plan({'RECIPE': 'improved'}, notebook='04_evaluate', settings=kept)
    assert other.recipe == 'improved' and other.sources['RECIPE'] == 'set here'
    assert any("RECIPE = 'improved' set here wins over the run's 'seed'" in n for n in other.notes)
    assert other.settings() == {**kept, 'RECIPE': 'improved'}  # what a first notebook would keep
    derived = workflow.make_plan({}, gpu=False)
    assert derived.smoke and derived.settings() == {}  # derived values are never frozen into settings.json
    html = other.frame().to_html()
    assert 'set here' in html and 'settings.json' in html and '<caption>' in html


def test_plan_recipes_and_bad_values(tmp_path):
    from utils.core.config import available_configs

    for recipe, (stage1, stage2) in config.RECIPES.items():
        assert stage1 in available_configs() and (stage2 is None or stage2 in available_configs()), recipe
    improved = workflow.make_plan({'SMOKE': True, 'RECIPE': 'improved', 'WORK_ROOT': str(tmp_path)})
    assert improved.config_30k is None and improved.work_dir_30k is None and improved.iters_30k is None
    assert improved.tta == 'flip'  # the config's test_tta
    with pytest.raises(workflow.PlanError, match="RECIPE = 'bogus' in this notebook's parameters cell"):
        workflow.make_plan({'RECIPE': 'bogus'})
    with pytest.raises(workflow.PlanError, match="TTA = 'hflip' in this notebook's parameters cell"):
        workflow.make_plan({'TTA': 'hflip'})
    with pytest.raises(workflow.PlanError, match='ITERS_20K = 0'):
        workflow.make_plan({'ITERS_20K': 0})


def _touch(path: Path, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'x' * 10)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_final_checkpoint_prefers_the_best_of_the_last_stage(tmp_path):
    plan = workflow.make_plan({'SMOKE': True, 'WORK_ROOT': str(tmp_path)})
    with pytest.raises(FileNotFoundError, match='run 02_train_20k and 03_resume_30k first'):
        workflow.final_checkpoint(plan)
    _touch(plan.work_dir_20k / 'iter_40.pth', 20)
    newest = _touch(plan.work_dir_20k / 'iter_60.pth', 10)
    assert workflow.final_checkpoint(plan) == newest  # no best file: the newest iteration
    best1 = _touch(plan.work_dir_20k / 'best_mIoU_iter_40.pth', 5)
    assert workflow.final_checkpoint(plan) == best1
    _touch(plan.work_dir_30k / 'iter_90.pth')
    assert workflow.final_checkpoint(plan) == plan.work_dir_30k / 'iter_90.pth'  # stage 2 wins once it has run
    best2 = _touch(plan.work_dir_30k / 'best_mIoU_iter_80.pth')
    assert workflow.final_checkpoint(plan) == best2
    table = checkpoints.checkpoint_table(plan.work_dir_20k, plan.work_dir_30k, None)
    assert len(table) == 5 and set(table.work_dir) == {plan.work_dir_20k.name, plan.work_dir_30k.name}
    chosen = workflow.make_plan({'SMOKE': True, 'WORK_ROOT': str(tmp_path), 'CHECKPOINT': str(best1)})
    assert workflow.final_checkpoint(chosen) == best1  # CHECKPOINT set in 04/05 wins
    assert workflow.checkpoint_recipe(best1) == 'seed'
    with pytest.raises(FileNotFoundError, match='CHECKPOINT = .*does not exist'):
        workflow.final_checkpoint(workflow.make_plan({'CHECKPOINT': str(tmp_path / 'nope.pth')}))


def test_schedule_figure_shows_this_runs_schedule():
    """02 and 03 plot the schedule the run will use: a smoke run's own 60 (+ 30) iterations, the resume marked."""
    smoke = workflow.make_plan({'SMOKE': True})
    one = workflow.schedule_figure(smoke, stages=1)
    assert one.axes[0].get_title() == 'Stage 1 LR and momentum, seed recipe, smoke run'
    assert max(one.axes[0].lines[0].get_xdata()) == 59  # 60 iterations, not the config's 20,000
    both = workflow.schedule_figure(smoke, stages=2)
    assert any('resume at 60' in t.get_text() for t in both.axes[0].texts)
    assert max(both.axes[0].lines[0].get_xdata()) == 89
    assert workflow.schedule_figure(workflow.make_plan({'SMOKE': True, 'RECIPE': 'improved'}), stages=2) is None
