"""utils.narrate: each reading says this run's own numbers, computed from the data the result was drawn from."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

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


def test_schedule_reads_the_schedule_data():
    it = np.arange(0, 100)
    lr = np.where(it < 40, 0.01 + it * 0.00225, 0.1 - (it - 40) * 0.0016)
    trace = pd.DataFrame({'iter': it, 'lr': lr, 'momentum': 0.9 - 0.05 * (lr > 0.05), 'stage': 1})
    text = narrate.schedule(trace)
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


def test_drive_space_counts_both_stages_checkpoints_together():
    """A resumed stage writes its own work_dir while stage 1's checkpoints stay: the peak is their sum with the
    dataset, not the larger stage (the numbers come from the table's GB column, not its words)."""
    frame = pd.DataFrame({'space on Drive': ['words', 'words', 'words', 'a few MB'], 'GB': [0.4, 1.57, 1.57, None]},
                         index=['dataset copy', 'stage 1 checkpoints', 'stage 2 checkpoints', 'logs'])
    text = narrate.drive_space(frame)
    assert '**3.5 GB**' in text and '1.57 + 1.57 GB' in text
    one = narrate.drive_space(frame.drop(index='stage 2 checkpoints'))
    assert '**2.0 GB**' in one and '1.57 GB at the peak' in one
    assert 'only a few MB' in narrate.drive_space(frame.loc[['logs']])


def _scalars(val_loss: list[float], train_loss: list[float]) -> Scalars:
    steps = [100 * (k + 1) for k in range(len(val_loss))]
    train = pd.DataFrame({'step': np.linspace(10, steps[-1], len(train_loss)).astype(int), 'loss': train_loss})
    val = pd.DataFrame({'step': steps, 'mIoU': np.linspace(40, 60, len(steps)), 'val_loss': val_loss})
    return Scalars(train=train, val=val, resumes=[], runs=[])


def test_a_falling_validation_loss_is_never_called_overfitting():
    falling = narrate.overfitting(_scalars([1.0, 0.8, 0.7, 0.65], list(np.linspace(2, 0.5, 20))))
    assert 'overfit' not in falling.replace('no sign of overfitting', '') and 'lowest at the last validation (400)' in falling
    rising = _scalars([1.0, 0.7, 0.8, 0.95], list(np.linspace(2, 0.5, 20)))
    trend = narrate.loss_trend(rising)
    assert trend['overfitting'] and trend['low_step'] == 200 and trend['last'] == 0.95
    assert 'overfits from there on' in narrate.overfitting(rising) and 'iteration 200 (0.700)' in narrate.overfitting(rising)
    flat_train = _scalars([1.0, 0.7, 0.8, 0.95], [0.5] * 20)  # the val loss rises but training did not improve
    assert not narrate.loss_trend(flat_train)['overfitting'] and 'not overfitting' in narrate.overfitting(flat_train)
    level = narrate.overfitting(_scalars([1.0, 0.7, 0.705, 0.708], list(np.linspace(2, 0.5, 20))))
    assert 'levelled off' in level and 'overfits' not in level
    for reading in (narrate.training(rising), narrate.handin_figures(Path('.'), rising)):  # where 02-04 and 06 say it
        assert 'overfits from there on' in reading
    assert 'overfit' not in narrate.training(_scalars([1.0, 0.8], [2.0, 1.0])).replace('no sign of overfitting', '')


def test_the_pair_that_mixes_most_comes_from_the_matrix():
    conf = np.eye(19, dtype=np.int64) * 1000
    conf[CLASSES.index('l_ear'), CLASSES.index('skin')] = 300  # ear/skin: 300 + 200 pixels either way
    conf[CLASSES.index('skin'), CLASSES.index('l_ear')] = 200
    conf[CLASSES.index('hair'), CLASSES.index('hat')] = 50
    text = narrate.confusion(SimpleNamespace(confusion=conf))
    assert narrate.most_mixed_pair(conf) == (CLASSES.index('skin'), CLASSES.index('l_ear'), 500)
    assert '`skin` / `l_ear`: 500 pixels' in text and 'hair/hat' not in text and 'left/right' not in text


def test_the_classes_never_predicted_are_counted():
    counts = np.zeros(19, dtype=np.int64)
    counts[[0, 1, 2, 10, 13, 17]] = 1000  # 13 of the 19 classes appear in no mask
    report = SimpleNamespace(verdict='PASSED', class_counts=counts,
                             warnings=['7 classes never predicted or collapsed: skin ...', 'one other warning'])
    text = narrate.submission(SimpleNamespace(masks=12, folder='submission', bytes=2e6, report=report))
    assert len(narrate.never_predicted(counts)) == 13 and '**13 of the 19 classes are never predicted**' in text
    assert '7 classes' not in text and '1 other warning(s): one other warning' in text
    distribution = SimpleNamespace(files=['skin: predicted nowhere', 'l_eye/r_eye: 0 vs 900 pixels (left/right collapse)'])
    shares = narrate.class_shares(_Indexed(report, {'class distribution': distribution}))
    assert shares.startswith('13 of the 19 classes are never predicted') and '1 share(s) out of line: l_eye/r_eye' in shares
    counts[:] = 5
    whole = narrate.submission(SimpleNamespace(masks=12, folder='s', bytes=2e6,
                                               report=SimpleNamespace(verdict='PASSED', class_counts=counts, warnings=[])))
    assert 'never predicted' not in whole and 'labels 0..18' in whole


class _Indexed(SimpleNamespace):
    """A stand-in check report: attributes, and its checks by name."""

    def __init__(self, base, checks: dict) -> None:
        super().__init__(**vars(base))
        self._checks = checks

    def __getitem__(self, name):
        return self._checks[name]
