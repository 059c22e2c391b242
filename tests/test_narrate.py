"""utils.notebook.narrate: each reading says this run's own numbers, computed from the data the result was drawn from.

The tests compute what a reading must say from the crafted data (which classes, which numbers, in the reading's
format) and check that the reading carries those numbers and names and makes the right claim (rose or fell, ahead
or behind, overfits or not); they do not match its sentences."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from utils.notebook import narrate
from utils.core import trends
from utils.base.labels import CLASSES
from utils.core.metrics import Scalars, report_miou

REPORT_MIOU = 74.72  # the reference report's best run on val, as its text states it


def _result(iou: list[float], miou: float, tta: str = 'none'):
    per_class = pd.DataFrame({'IoU': iou}, index=pd.Index(CLASSES, name='class'))
    return SimpleNamespace(per_class=per_class, summary={'mIoU': miou, 'tta': tta})


# --------------------------------------------------------------------------- what a reading says
def numbers(text: str) -> list[str]:
    """The numbers of a reading as written (sign, thousands separator and decimals kept), in order."""
    return re.findall(r'(?<![\d.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?', text)


def names(text: str) -> list[str]:
    """The class (and file) names a reading quotes, in order."""
    return re.findall(r'`([^`]+)`', text)


def bold(text: str) -> list[str]:
    """What a reading puts in bold: its headline numbers."""
    return re.findall(r'\*\*(.+?)\*\*', text)


def says(text: str, *words: str) -> bool:
    return all(re.search(rf'\b{re.escape(w)}\b', text, re.IGNORECASE) for w in words)


def pairs(text: str) -> list[tuple[str, str]]:
    """``(name, number)`` for every ```name` (number ...)`` of a reading."""
    return re.findall(r'`([^`]+)` \(([-+]?[\d.]+)', text)


# --------------------------------------------------------------------------- 00 and 01
def test_class_balance_names_the_biggest_and_rarest_classes_with_their_shares():
    pix = pd.Series([0.3, 0.25, 0.05] + [0.02 + 0.001 * k for k in range(13)] + [0.0001, 0.0, 0.1195],
                    index=list(CLASSES))  # no ties: the order of the classes named is the data's
    images = pd.Series(np.linspace(0.05, 1, 19), index=list(CLASSES))
    text = narrate.class_balance(pd.DataFrame({'train pixels': pix, 'train images': images}))
    big, rare = pix.nlargest(3), pix[pix > 0].nsmallest(3)
    absent = list(pix.index[pix == 0])
    assert names(text)[:3] == list(big.index)
    assert bold(text) == [f'{100 * big.sum():.1f}%']
    assert pairs(text)[:3] == [(c, f'{100 * pix[c]:.3f}') for c in rare.index]
    assert f'{100 * images[rare.index].min():.0f}-{100 * images[rare.index].max():.0f}%' in text
    assert names(text)[-len(absent):] == absent and says(text, 'never')


def test_class_weights_give_the_rarest_over_the_most_common_class_per_weighting():
    pix = pd.Series([0.3, 0.25, 0.05] + [0.02] * 13 + [0.0001, 0.0, 0.1995], index=list(CLASSES))
    table = pd.DataFrame({'pixels %': 100 * pix, 'seed': 1.0, 'median_freq': np.where(pix > 0, 0.02 / np.maximum(pix, 1e-9), 0),
                          'inv_sqrt': 1 / np.sqrt(np.maximum(pix, 1e-9))}, index=list(CLASSES))
    text = narrate.class_weights(table)
    rare, common = pix[pix > 0].idxmin(), pix.idxmax()
    assert names(text)[:2] == [rare, common]
    ratios = [f'{table.loc[rare, col] / table.loc[common, col]:.1f}' for col in ('seed', 'median_freq', 'inv_sqrt')]
    assert numbers(text)[:3] == ratios  # the same order as the weightings' columns


# --------------------------------------------------------------------------- 02 and 03
def test_schedule_reads_start_peak_end_and_the_momentum_range_from_the_trace():
    it = np.arange(0, 100)
    lr = np.where(it < 40, 0.01 + it * 0.00225, 0.1 - (it - 40) * 0.0016)
    momentum = 0.9 - 0.05 * (lr > 0.05)
    text = narrate.schedule(pd.DataFrame({'iter': it, 'lr': lr, 'momentum': momentum, 'stage': 1}))
    peak = int(lr.argmax())
    assert numbers(text)[:6] == [f'{lr[0]:.2g}', f'{lr[peak]:.2g}', str(it[peak]), f'{lr[-1]:.2g}', str(it[-1]),
                                 f'{momentum.min():.3f}'] and numbers(text)[6] == f'{momentum.max():.3f}'
    assert bold(text) == [f'{lr[peak]:.2g}']


def test_training_reads_the_loss_fall_the_best_validation_and_the_resume():
    train = pd.DataFrame({'step': np.arange(10, 210, 10), 'loss': np.linspace(2.0, 0.5, 20)})
    val = pd.DataFrame({'step': [50, 100, 150, 200], 'mIoU': [40.0, 61.5, 60.0, 58.0], 'val_loss': [1.0, .8, .7, .9]})
    text = narrate.training(Scalars(train=train, val=val, resumes=[(100, 'stage 2 starts')], runs=[]))
    tenth = len(train) // 10
    first, last = train['loss'][:tenth].mean(), train['loss'][-tenth:].mean()
    best = val.loc[val['mIoU'].idxmax()]
    assert bold(text)[:2] == [f'{last:.3f}', f'{best["mIoU"]:.2f}'] and says(text, 'fell') and last < first
    said = numbers(text)
    assert said[:2] == [f'{first:.3f}', f'{last:.3f}']
    assert said[2:5] == [f'{best["mIoU"]:.2f}', str(int(best['step'])), f'{val["mIoU"].iloc[-1]:.2f}']
    assert str(int(val.loc[val['val_loss'].idxmin(), 'step'])) in said and '"stage 2 starts"' in text


def test_training_says_went_up_when_the_loss_rose():
    train = pd.DataFrame({'step': np.arange(10, 210, 10), 'loss': np.linspace(0.5, 2.0, 20)})
    text = narrate.training(Scalars(train=train, val=pd.DataFrame({'step': []}), resumes=[], runs=[]))
    assert not says(text, 'fell') and bold(text) == [f'{train["loss"][-2:].mean():.3f}']


# --------------------------------------------------------------------------- 04 and 05
def test_evaluation_compares_with_the_report_names_the_worst_classes_and_the_tta_gain():
    iou = [90.0] * 16 + [10.0, 20.0, 30.0]
    plain, tta = _result(iou, 76.0), _result(iou, 77.25, 'flip')
    text = narrate.evaluation(plain, tta)
    assert bold(text) == ['76.00', f'{77.25 - 76.0:+.2f}']
    assert f'{76.0 - REPORT_MIOU:+.2f}' in numbers(text) and f'{REPORT_MIOU:.2f}' in numbers(text)
    worst = plain.per_class['IoU'].nsmallest(3)
    assert pairs(text) == [(c, f'{v:.1f}') for c, v in worst.items()]
    below = narrate.evaluation(_result(iou, 70.0))
    assert f'{70.0 - REPORT_MIOU:+.2f}'.startswith('-') and f'{70.0 - REPORT_MIOU:+.2f}' in numbers(below)
    assert 'TTA' in text and numbers(below).count(f'{77.25 - 76.0:+.2f}') == 0


def test_seed_comparison_counts_the_classes_ahead_and_names_the_largest_gap_and_lead():
    delta = pd.Series([1.0] * 17 + [-5.0, 2.0], index=list(CLASSES))
    text = narrate.seed_comparison(pd.DataFrame({'Δ vs best': delta}))
    assert bold(text) == [f'{int((delta > 0).sum())} of {len(delta)}']
    assert pairs(text) == [(delta.idxmin(), f'{delta.min():+.2f}'), (delta.idxmax(), f'{delta.max():+.2f}')]


def test_per_class_outlines_the_weakest_classes():
    result = _result([90.0] * 16 + [10.0, 20.0, 30.0], 77.25, 'flip')
    text = narrate.per_class(result)
    assert pairs(text) == [(c, f'{v:.1f}') for c, v in result.per_class['IoU'].nsmallest(3).items()]
    assert 'flip' in text


def test_confusion_gives_the_largest_mix_up_as_a_share_of_the_true_class():
    conf = np.eye(19, dtype=np.int64) * 100
    conf[4, 5] = 25  # l_eye taken for r_eye: 25 of the 125 l_eye pixels (of 425 predicted r_eye)
    conf[5, 5] = 400
    text = narrate.confusion(SimpleNamespace(confusion=conf))
    assert numbers(text)[0] == f'{100 * 25 / 125:.1f}' and names(text)[:2] == [CLASSES[4], CLASSES[5]]
    assert names(narrate.confusion(SimpleNamespace(confusion=np.eye(19)))) == []  # nothing mixed: no class named


def test_the_pair_that_mixes_most_comes_from_the_matrix():
    conf = np.eye(19, dtype=np.int64) * 1000
    ear, skin, hair, hat = (CLASSES.index(c) for c in ('l_ear', 'skin', 'hair', 'hat'))
    conf[ear, skin], conf[skin, ear], conf[hair, hat] = 300, 200, 50  # ear/skin: 500 pixels either way
    text = narrate.confusion(SimpleNamespace(confusion=conf))
    assert narrate.most_mixed_pair(conf) == (skin, ear, 500)
    assert names(text) == ['l_ear', 'skin', 'skin', 'l_ear', 'skin', 'l_ear']  # two mix-ups, then the pair
    shares = [f'{100 * 300 / conf[ear].sum():.1f}', f'{100 * 200 / conf[skin].sum():.1f}']
    assert numbers(text) == shares + ['500', f'{100 * 500 / conf[[skin, ear]].sum():.1f}']


def test_score_reads_the_leaderboard_formula_and_the_weakest_classes():
    iou = np.array([0.9] * 18 + [np.nan])
    iou[3] = 0.1
    text = narrate.score(SimpleNamespace(iou=iou, miou=85.0, images=12))
    assert bold(text) == ['85.00'] and '12' in numbers(text)
    order = np.argsort(np.where(np.isfinite(iou), iou, np.inf))[:3]
    assert pairs(text) == [(CLASSES[i], f'{100 * iou[i]:.1f}') for i in order] and pairs(text)[0][0] == CLASSES[3]


def test_the_classes_never_predicted_are_counted():
    counts = np.zeros(19, dtype=np.int64)
    counts[[0, 1, 2, 10, 13, 17]] = 1000  # 13 of the 19 classes appear in no mask
    absent = [c for c, n in zip(CLASSES, counts) if n == 0]
    report = SimpleNamespace(verdict='PASSED', class_counts=counts,
                             warnings=['7 classes never predicted or collapsed: skin ...', 'one other warning'])
    text = narrate.submission(SimpleNamespace(masks=12, folder='submission', bytes=2e6, report=report))
    assert narrate.never_predicted(counts) == absent
    assert any(numbers(b) == [str(len(absent)), str(len(CLASSES))] and says(b, 'never') for b in bold(text))
    assert names(text) == ['submission/'] + absent
    assert '7' not in numbers(text) and 'one other warning' in text  # the check's own count is replaced by ours
    distribution = SimpleNamespace(files=['skin: predicted nowhere', 'l_eye/r_eye: 0 vs 900 pixels (left/right collapse)'])
    shares = narrate.class_shares(_Indexed(report, {'class distribution': distribution}))
    assert numbers(shares)[:2] == [str(len(absent)), str(len(CLASSES))] and names(shares) == absent
    assert 'l_eye/r_eye' in shares and 'predicted nowhere' not in shares
    counts[:] = 5
    whole = narrate.submission(SimpleNamespace(masks=12, folder='s', bytes=2e6,
                                               report=SimpleNamespace(verdict='PASSED', class_counts=counts, warnings=[])))
    assert names(whole) == ['s/'] and not says(whole, 'never')


class _Indexed(SimpleNamespace):
    """A stand-in check report: attributes, and its checks by name."""

    def __init__(self, base, checks: dict) -> None:
        super().__init__(**vars(base))
        self._checks = checks

    def __getitem__(self, name):
        return self._checks[name]


# --------------------------------------------------------------------------- the plan, the Drive, the summary
def test_plan_names_what_was_set_here_and_what_came_from_the_settings():
    text = narrate.plan({'RECIPE': 'set here', 'TTA': 'default', 'SMOKE': 'settings.json'})
    here, kept = text.split(';')[:2]
    assert 'RECIPE' in here and 'SMOKE' not in here and 'SMOKE' in kept and 'TTA' not in text


def test_drive_space_counts_both_stages_checkpoints_together():
    """A resumed stage writes its own work_dir while stage 1's checkpoints stay: the peak is their sum with the
    dataset, not the larger stage (the numbers come from the table's GB column, not its words)."""
    gb = [0.4, 1.57, 1.57, None]
    frame = pd.DataFrame({'space on Drive': ['words', 'words', 'words', 'a few MB'], 'GB': gb},
                         index=['dataset copy', 'stage 1 checkpoints', 'stage 2 checkpoints', 'logs'])
    text = narrate.drive_space(frame)
    assert bold(text) == [f'{0.4 + 1.57 + 1.57:.1f} GB'] and numbers(text).count('1.57') == 2
    one = narrate.drive_space(frame.drop(index='stage 2 checkpoints'))
    assert bold(one) == [f'{0.4 + 1.57:.1f} GB'] and numbers(one).count('1.57') == 1
    assert bold(narrate.drive_space(frame.loc[['logs']])) == []  # no GB to add up: no total said


def test_summary_lists_what_the_notebook_produced_and_what_is_missing(tmp_path):
    (tmp_path / 'settings.json').write_text('{}')
    summary = narrate.summary('00_setup', [('settings', tmp_path / 'settings.json'), ('zip', tmp_path / 'x.zip')])
    lines = summary.splitlines()
    assert bold(lines[0])[0].startswith('00_setup') and len([ln for ln in lines if ln.startswith('- ')]) == 2
    settings, zipped = (ln for ln in lines if ln.startswith('- '))
    assert names(settings) == [str(tmp_path / 'settings.json')] and says(zipped, 'not written')
    assert not says(settings, 'not written') and '01_data_check' in lines[-1]


# --------------------------------------------------------------------------- overfitting, from the val loss
def _scalars(val_loss: list[float], train_loss: list[float]) -> Scalars:
    steps = [100 * (k + 1) for k in range(len(val_loss))]
    train = pd.DataFrame({'step': np.linspace(10, steps[-1], len(train_loss)).astype(int), 'loss': train_loss})
    val = pd.DataFrame({'step': steps, 'mIoU': np.linspace(40, 60, len(steps)), 'val_loss': val_loss})
    return Scalars(train=train, val=val, resumes=[], runs=[])


def _claims_overfitting(text: str) -> bool:
    return says(text, 'overfits')


def test_a_falling_validation_loss_is_never_called_overfitting():
    falling = narrate.overfitting(_scalars([1.0, 0.8, 0.7, 0.65], list(np.linspace(2, 0.5, 20))))
    assert not _claims_overfitting(falling) and numbers(falling)[:3] == ['1.000', '0.650', '400']


def test_a_rising_validation_loss_while_training_improves_is_overfitting_from_its_lowest_point():
    rising = _scalars([1.0, 0.7, 0.8, 0.95], list(np.linspace(2, 0.5, 20)))
    trend = trends.loss_trend(rising)
    assert trend['overfitting'] and (trend['low_step'], trend['low'], trend['last']) == (200, 0.7, 0.95)
    text = narrate.overfitting(rising)
    assert _claims_overfitting(text) and numbers(text)[:4] == ['200', '0.700', '0.950', '400']
    for reading in (narrate.training(rising), narrate.handin_figures(Path('.'), rising)):  # where 02-04 and 06 say it
        assert _claims_overfitting(reading)
    assert not _claims_overfitting(narrate.training(_scalars([1.0, 0.8], [2.0, 1.0])))


def test_a_rising_validation_loss_without_training_improving_is_not_overfitting():
    flat_train = _scalars([1.0, 0.7, 0.8, 0.95], [0.5] * 20)
    assert trends.loss_trend(flat_train)['rose'] and not trends.loss_trend(flat_train)['overfitting']
    text = narrate.overfitting(flat_train)
    assert not _claims_overfitting(text) and says(text, 'rose') and numbers(text)[:2] == ['0.700', '200']


def test_a_validation_loss_that_levelled_off_is_said_with_how_far_it_stayed_from_its_lowest():
    level = narrate.overfitting(_scalars([1.0, 0.7, 0.705, 0.708], list(np.linspace(2, 0.5, 20))))
    assert not _claims_overfitting(level) and not says(level, 'rose')
    assert f'{100 * (0.708 / 0.7 - 1):.1f}%' in level and numbers(level)[:2] == ['200', '0.700']


# --------------------------------------------------------------------------- the pictures of 01, 04 and 05
def _freq(pixels: dict[str, float], images: dict[str, float]):
    return pd.DataFrame({'train pixels': [pixels.get(c, 0.0) for c in CLASSES],
                         'train images': [images.get(c, 0.0) for c in CLASSES]}, index=pd.Index(CLASSES, name='class'))


def test_the_overlays_name_the_smallest_and_largest_classes_by_their_pixel_share():
    pixels = {'background': 0.40, 'skin': 0.30, 'hair': 0.2, 'neck_l': 0.0004, 'l_brow': 0.003, 'r_brow': 0.002,
              'nose': 0.0946}
    text = narrate.masks_shown(_freq(pixels, {}))
    assert names(text) == ['neck_l', 'r_brow', 'l_brow', 'background', 'skin']  # classes absent are not "smallest"
    assert numbers(text)[:5] == ['0.04', '0.20', '0.30', '40.0', '30.0']


def test_the_rare_classes_say_how_often_each_occurs_and_name_one_that_never_does():
    text = narrate.rare_classes(_freq({}, {'hat': 0.041, 'eye_g': 0.25, 'neck_l': 0.0}), ['hat', 'eye_g', 'neck_l'])
    assert names(text) == ['hat', 'eye_g', 'neck_l', 'neck_l'] and numbers(text)[:3] == ['4.1', '25.0', '0.0']
    assert 'none' in text.split('`neck_l`')[-1]
    assert names(narrate.rare_classes(_freq({}, {'hat': 0.5}), ['hat'])) == ['hat']  # none absent: nothing more said


def test_the_inspector_starts_from_the_worst_class_and_its_gap_to_the_median():
    iou = list(np.linspace(50, 95, len(CLASSES)))
    iou[CLASSES.index('hat')] = 12.0
    text = narrate.inspector(_result(iou, 70.0))
    median = float(np.median(iou))
    assert names(text) == ['hat'] and numbers(text)[:3] == ['12.0', f'{median - 12:.1f}', f'{median:.1f}']


def test_the_preview_counts_whole_faces_and_names_what_the_others_miss():
    core = [CLASSES.index(c) for c in ('skin', 'nose', 'l_eye', 'r_eye')]
    whole = list(range(len(CLASSES)))
    text = narrate.preview({'a': whole, 'b': [0, 1], 'c': whole}, core)
    assert numbers(text)[:2] == ['2', '3'] and names(text) == ['b']
    assert 'nose, l_eye, r_eye' in text and 'fix' in text
    assert numbers(narrate.preview({'a': whole}, core))[:2] == ['1', '1'] and 'fix' not in narrate.preview({'a': whole}, core)


def test_the_bar_is_read_from_the_reports_table():
    """The report's best val mIoU comes from assets/seed_summary.csv, the table the comparisons use (not restated)."""
    assert report_miou() == REPORT_MIOU


def test_the_training_sample_names_the_dataset_the_pipeline_and_the_classes_it_holds():
    import torch

    labels = torch.tensor([[[0, 1, 255], [17, 1, 0]]])
    sample = {'inputs': torch.zeros(3, 2, 3, dtype=torch.uint8), 'data_samples': SimpleNamespace(
        gt_sem_seg=SimpleNamespace(data=labels))}
    dataset = type('CelebAMaskDataset', (list,), {})([0] * 1200)
    text = narrate.training_sample(dataset, sample, [{'type': 'LoadImageFromFile'}, {'type': 'PackSegInputs'}])
    assert text.startswith('CelebAMaskDataset') and '1,200' in numbers(text)
    assert 'LoadImageFromFile > PackSegInputs' in text and '(3, 2, 3)' in text and '(1, 2, 3)' in text
    assert f'with 3 classes present: {CLASSES[0]}, {CLASSES[1]}, {CLASSES[17]}' in text  # 255 is no class


def test_the_stage_2_config_says_its_schedule_length_and_start():
    cfg = SimpleNamespace(train_cfg=SimpleNamespace(max_iters=30000), config_path='/x/seed-30k.py',
                          param_scheduler=[{'type': 'PolyLR', 'begin': 0, 'end': 30000}, {'type': 'Warmup', 'end': 500}])
    resumed = SimpleNamespace(what='stage 2, resumed from stage 1', iters=30000, resume=(Path('/w/run-30k'), Path('/w/run-20k')))
    text = narrate.stage_config(resumed, cfg)
    lines = dict(line.split(':', 1) for line in text.splitlines()[1:])
    assert 'seed-30k.py' in text and numbers(lines['schedule']) == ['0', '30,000', '0', '500']
    assert numbers(lines['iterations']) == ['30,000']
    assert 'run-30k, else of run-20k' in text
    final = SimpleNamespace(what='the final fit on all training pairs', iters=None, resume='auto')
    text = narrate.stage_config(final, cfg)
    assert "stage 1 took to its best holdout F" in text and 'from scratch' in text
    assert '30,000' not in text.split('iterations:')[1].split('\n')[0]  # the config's own length is not this run's
