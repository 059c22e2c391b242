"""The run plan the notebooks share, the checkpoint picked for evaluation, and the live training-curve hook."""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from utils import checkpoints, config, workflow


def test_plan_smoke_is_automatic_without_a_gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    plan = workflow.make_plan(None, 'seed', work_root=tmp_path)
    assert plan.smoke and not plan.amp and plan.data_source == 'synthetic'
    assert plan.data_root == tmp_path / 'data' and plan.work_dir_20k.parent == tmp_path
    assert (plan.iters_20k, plan.iters_30k) == (60, 90) and plan.smoke_options(60) == dict(size=64, max_iters=60)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    real = workflow.make_plan(None, 'seed', data_source='1AbCdEf', data_root=tmp_path / 'd', work_root=tmp_path)
    assert not real.smoke and real.amp and real.smoke_options(20000) is None
    assert (real.iters_20k, real.iters_30k) == (None, None)  # the configs' own 20k / 30k
    assert workflow.make_plan(True, 'seed', work_root=tmp_path).smoke  # an explicit SMOKE wins over the GPU
    assert list(real.frame().index)[:2] == ['smoke', 'recipe']


def test_plan_recipes(tmp_path):
    from utils.config import available_configs

    for recipe, (stage1, stage2) in config.RECIPES.items():
        assert stage1 in available_configs() and (stage2 is None or stage2 in available_configs()), recipe
    improved = workflow.make_plan(True, 'improved', work_root=tmp_path)
    assert improved.config_30k is None and improved.work_dir_30k is None and improved.iters_30k is None
    with pytest.raises(ValueError, match='Unknown RECIPE'):
        workflow.make_plan(True, 'bogus', work_root=tmp_path)


def _touch(path: Path, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'x' * 10)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_final_checkpoint_prefers_the_best_of_the_last_stage(tmp_path):
    plan = workflow.make_plan(True, 'seed', work_root=tmp_path)
    with pytest.raises(FileNotFoundError, match='run notebook 02'):
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


def test_live_curve_hook_redraws_one_output(monkeypatch):
    import IPython
    import IPython.display

    shown = []

    class Handle:
        def update(self, fig):
            shown.append(('update', fig))

    def display(fig, display_id=False):
        shown.append(('display', fig))
        return Handle()

    monkeypatch.setattr(IPython, 'get_ipython', lambda: object())
    monkeypatch.setattr(IPython.display, 'display', display)
    hook = workflow.LiveCurveHook(interval=2)
    runner = SimpleNamespace(iter=0)
    for i in range(4):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={'loss': torch.tensor(4.0 - i)})
    hook.after_val_epoch(runner, {'mIoU': 12.5})
    runner.iter = 4  # MMEngine's counter after the last iteration
    hook.after_train(runner)
    assert [kind for kind, _ in shown] == ['display', 'update', 'update', 'update']  # one output, redrawn
    loss_ax, miou_ax = shown[-1][1].axes
    assert loss_ax.get_title() == 'training loss (iteration 4)'
    assert list(loss_ax.lines[0].get_ydata()) == [4.0, 3.0, 2.0, 1.0]
    assert list(miou_ax.lines[0].get_ydata()) == [12.5]


def test_live_curve_hook_is_silent_outside_ipython(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, 'get_ipython', lambda: None)
    hook = workflow.LiveCurveHook(interval=1)
    hook.after_train_iter(SimpleNamespace(iter=0), 0, outputs={'loss': torch.tensor(1.0)})
    assert hook._handle is None and hook.loss == [(1, 1.0)]
