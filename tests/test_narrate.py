"""utils.narrate: each reading says this run's own numbers, computed from the data the result was drawn from."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from utils import narrate
from utils.labels import CLASSES
from utils.metrics import Scalars


def _result(iou: list[float], miou: float, tta: str = 'none'):
    per_class = pd.DataFrame({'IoU': iou}, index=pd.Index(CLASSES, name='class'))
    return SimpleNamespace(per_class=per_class, summary={'mIoU': miou, 'tta': tta})


def test_class_balance_and_weights_name_the_classes_and_ratios():
    pix = np.array([0.3, 0.25, 0.05] + [0.02] * 13 + [0.0001, 0.0, 0.1995])
    freq = pd.DataFrame({'train pixels': pix, 'train images': np.linspace(0.05, 1, 19)}, index=list(CLASSES))
    text = narrate.class_balance(freq)
    assert '`background`, `skin`, `cloth`' in text and '**75.0%**' in text and '`neck_l` (0.010% of pixels)' in text
    assert 'Never present in train: `neck`' in text
    table = pd.DataFrame({'pixels %': 100 * pix, 'seed': 1.0, 'median_freq': np.where(pix > 0, 0.02 / np.maximum(pix, 1e-9), 0),
                          'inv_sqrt': 1.0}, index=list(CLASSES))
    assert '`neck_l`' in narrate.class_weights(table) and 'median_freq x3000.0' in narrate.class_weights(table)


def test_schedule_reads_the_plotted_lines():
    from utils.workflow import plot_schedule

    it = np.arange(0, 100)
    lr = np.where(it < 40, 0.01 + it * 0.00225, 0.1 - (it - 40) * 0.0016)
    trace = pd.DataFrame({'iter': it, 'lr': lr, 'momentum': 0.9 - 0.05 * (lr > 0.05), 'stage': 1})
    text = narrate.schedule(plot_schedule(trace))
    assert 'starts at 0.01' in text and 'peaks at **0.1** at iteration 40' in text and 'between 0.850 and 0.900' in text


def test_training_names_the_best_validation_and_the_resume():
    train = pd.DataFrame({'step': np.arange(10, 210, 10), 'loss': np.linspace(2.0, 0.5, 20)})
    val = pd.DataFrame({'step': [50, 100, 150, 200], 'mIoU': [40.0, 61.5, 60.0, 58.0], 'val_loss': [1.0, .8, .7, .9]})
    text = narrate.training(Scalars(train=train, val=val, resumes=[(100, 'stage 2 starts')], runs=[]))
    assert '**61.50** at iteration 100' in text and 'ended at 58.00' in text and 'lowest at iteration 150' in text
    assert 'fell from 1.961 to **0.539**' in text  # means of the first and last tenth and '"stage 2 starts"' in text


def test_evaluation_seed_comparison_and_per_class():
    iou = [90.0] * 16 + [10.0, 20.0, 30.0]
    plain, tta = _result(iou, 76.0), _result(iou, 77.25, 'flip')
    text = narrate.evaluation(plain, tta)
    assert '**76.00**, +1.28 against' in text and '`neck_l` (10.0), `neck` (20.0), `cloth` (30.0)' in text
    assert 'adds **+1.25**' in text
    table = pd.DataFrame({'Δ vs best': [1.0] * 17 + [-5.0, 2.0]}, index=list(CLASSES))
    assert '**18 of 19**' in narrate.seed_comparison(table) and '`neck` (-5.00)' in narrate.seed_comparison(table)
    assert 'Outlined: `neck_l` (10.0)' in narrate.per_class(tta) and 'TTA flip' in narrate.per_class(tta)


def test_confusion_names_the_largest_mix_up():
    conf = np.eye(19, dtype=np.int64) * 100
    conf[4, 5] = 25  # l_eye taken for r_eye: 25 of 125 pixels
    assert '20.0% of `l_eye` pixels are predicted as `r_eye`' in narrate.confusion(SimpleNamespace(confusion=conf))
    assert 'No pixel' in narrate.confusion(SimpleNamespace(confusion=np.eye(19)))


def test_score_plan_and_the_summary(tmp_path):
    iou = np.array([0.9] * 18 + [np.nan])
    iou[3] = 0.1
    text = narrate.score(SimpleNamespace(iou=iou, miou=85.0, images=12))
    assert 'mIoU **85.00** on 12 masks' in text and '`eye_g` (10.0)' in text
    assert 'Set in this notebook: RECIPE' in narrate.plan({'RECIPE': 'set here', 'TTA': 'default'})
    (tmp_path / 'settings.json').write_text('{}')
    summary = narrate.summary('00_setup', [('settings', tmp_path / 'settings.json'), ('zip', tmp_path / 'x.zip')])
    assert summary.startswith('**00_setup: done.**') and '(not written)' in summary.splitlines()[2]
    assert '**Next:** 01_data_check' in summary


@pytest.mark.parametrize('frame,words', [
    (pd.DataFrame({'space on Drive': ['about 0.4 GB for the course data', '1.57 GB at the peak', 'a few MB']},
                  index=['dataset', 'stage 1', 'rest']), ['**2.0 GB**', '1.57 GB, for the stage 1']),
    (pd.DataFrame({'space on Drive': ['a few MB']}, index=['rest']), ['only a few MB'])])
def test_drive_space(frame, words):
    assert all(w in narrate.drive_space(frame) for w in words)
