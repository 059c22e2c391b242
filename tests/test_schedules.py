"""The seed's cyclic LR/momentum, as MMEngine schedulers, against mmcv 1.x's formula; and the 20k->30k resume."""
from __future__ import annotations

import math

import pytest

from utils.notebook.workflow import plot_schedule, schedule_trace

SEED_20K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512'
SEED_30K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-30k_celebamask-512x512'


def mmcv_cyclic(base, it, max_iters, target_ratio, step_ratio_up=0.4):
    """mmcv 1.x CyclicLrUpdaterHook (cyclic_times=1, anneal 'cos'), written from its documented phases."""
    up = int(step_ratio_up * max_iters)
    phases = [(0, up, 1.0, target_ratio[0]), (up, max_iters, target_ratio[0], target_ratio[1])]
    cur = it % max_iters
    for start, end, r0, r1 in phases:
        if start <= cur < end:
            f = (cur - start) / (end - start)
            s, e = base * r0, base * r1
            return e + 0.5 * (s - e) * (math.cos(math.pi * f) + 1)
    raise AssertionError


@pytest.fixture(scope='module')
def trace():
    return schedule_trace(SEED_20K, SEED_30K).set_index('iter')


@pytest.mark.parametrize('it', [0, 4000, 8000, 14000, 19999])
def test_stage1_matches_mmcv_cyclic(trace, it):
    assert trace.loc[it, 'lr'] == pytest.approx(mmcv_cyclic(0.01, it, 20000, (10, 1e-4)), rel=1e-6, abs=1e-12)
    assert trace.loc[it, 'momentum'] == pytest.approx(mmcv_cyclic(0.9, it, 20000, (0.85 / 0.95, 1)), rel=1e-6)


def test_stage1_shape(trace):
    assert trace.loc[0, 'lr'] == pytest.approx(0.01)
    assert trace.loc[8000, 'lr'] == pytest.approx(0.1)  # peak at 40%
    assert trace.loc[8000, 'momentum'] == pytest.approx(0.9 * 0.85 / 0.95)
    assert trace.loc[19999, 'lr'] < 1e-5


@pytest.mark.parametrize('it', [20000, 20001, 25000, 29999])
def test_resume_to_30k_recomputes_cycle_over_30k(trace, it):
    """Stage 2 follows the cycle recomputed over 30k iterations, as the mmcv hook did for the seed."""
    assert trace.loc[it, 'stage'] == 2
    assert trace.loc[it, 'lr'] == pytest.approx(mmcv_cyclic(0.01, it, 30000, (10, 1e-4)), rel=1e-6, abs=1e-12)
    assert trace.loc[it, 'momentum'] == pytest.approx(mmcv_cyclic(0.9, it, 30000, (0.85 / 0.95, 1)), rel=1e-6)


def test_every_stage2_iteration_matches_mmcv(trace):
    """No one-iteration lag after the stage change (MMEngine's Runner ends each scheduler at max_iters)."""
    stage2 = trace[trace['stage'] == 2]
    assert stage2.index.min() == 20000 and stage2.index.max() == 29999
    for it, row in stage2.iloc[::250].iterrows():
        assert row['lr'] == pytest.approx(mmcv_cyclic(0.01, it, 30000, (10, 1e-4)), rel=1e-9, abs=1e-15), it
    assert trace.loc[20000, 'lr'] == pytest.approx(0.058683, abs=5e-7)  # not 0.058691, iteration 19,999's value


def test_resume_jumps_back_up(trace):
    assert trace.loc[19999, 'lr'] < 1e-5
    assert trace.loc[20000, 'lr'] == pytest.approx(0.0587, abs=5e-4)


def test_plot_schedule_marks_resume(trace):
    fig = plot_schedule(trace.reset_index())
    ax = fig.axes[0]
    assert any('resume at 20,000' in t.get_text() for t in ax.texts)
    assert len(ax.lines) >= 2  # LR curve and the resume line
