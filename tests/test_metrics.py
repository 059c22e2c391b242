"""utils.core.metrics: the metric definitions against MMSeg's IoUMetric, scalars.json merging, curves and tables."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from utils.base.labels import CLASSES, NUM_CLASSES
from utils.core.metrics import (MetricsError, Scalars, areas_from_confusion, compare_with_seed, confusion_matrix,
                                intersect_and_union, load_seed_tables, main, metrics_from_areas, per_class_frame,
                                per_class_table, plot_confusion, plot_curves, read_scalars, summary_percent,
                                summary_table)


def _crafted_pairs(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label maps that exercise every edge: classes absent from both maps, only in GT, only predicted, ignore=255."""
    rng = np.random.default_rng(seed)
    absent, gt_only, pred_only = 16, 14, 15
    common = [c for c in range(NUM_CLASSES) if c not in (absent, gt_only, pred_only)]
    pairs = []
    for k, (h, w) in enumerate([(24, 32), (40, 40), (17, 29)]):
        gt = rng.choice(common, size=(h, w)).astype(np.uint8)
        pred = np.where(rng.random((h, w)) < 0.6, gt, rng.choice(common, size=(h, w))).astype(np.uint8)
        gt[: 2 + k, :5] = gt_only
        pred[-3:, -4:] = pred_only
        gt[5:7, 5:9] = 255  # ignored pixels
        pairs.append((pred, gt))
    return pairs


def _mmseg_metric(pairs, metrics=('mIoU', 'mDice', 'mFscore')):
    import torch
    from mmseg.evaluation import IoUMetric

    metric = IoUMetric(iou_metrics=list(metrics))
    metric.dataset_meta = dict(classes=CLASSES)
    for pred, gt in pairs:
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(pred.astype(np.int64))[None]),
                                 gt_sem_seg=dict(data=torch.from_numpy(gt.astype(np.int64))[None]))])
    return metric


def test_metrics_equal_mmseg_ioumetric_including_nan_classes():
    pairs = _crafted_pairs()
    metric = _mmseg_metric(pairs)
    totals = [sum(r[i] for r in metric.results) for i in range(4)]  # intersect, union, pred, gt (float tensors)
    theirs = metric.total_area_to_metrics(*totals, metrics=['mIoU', 'mDice', 'mFscore'])
    summary_theirs = metric.compute_metrics(list(metric.results))  # rounded to 2 decimals, in %

    areas = [np.sum(a, axis=0) for a in zip(*(intersect_and_union(p, g) for p, g in pairs))]
    for ours_area, their_area in zip(areas, totals):
        np.testing.assert_array_equal(ours_area, their_area.numpy().astype(np.int64))
    ours = metrics_from_areas(*areas)
    for ours_key, their_key in [('IoU', 'IoU'), ('Acc', 'Acc'), ('Dice', 'Dice'), ('Precision', 'Precision'),
                                ('Recall', 'Recall')]:
        a, b = ours[ours_key], np.asarray(theirs[their_key], dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=ours_key)
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=1e-6, err_msg=ours_key)
    assert np.isnan(ours['IoU'][16]) and np.isnan(ours['Acc'][15]) and ours['IoU'][15] == 0  # the edges were hit
    assert abs(float(ours['aAcc']) - float(theirs['aAcc'])) < 1e-6
    pct = summary_percent(ours)
    for key in ('aAcc', 'mIoU', 'mAcc', 'mDice'):
        # MMSeg rounds its float32 result to 2 decimals: equal once ours is rounded the same way
        assert np.float32(round(pct[key], 2)) == np.float32(summary_theirs[key]), key


def test_confusion_rows_are_ground_truth_and_areas_follow():
    gt = np.array([[0, 0, 1], [2, 2, 255]])
    pred = np.array([[0, 1, 1], [2, 0, 7]])
    conf = confusion_matrix(pred, gt, num_classes=3)
    assert conf.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]  # the 255 pixel is ignored
    inter, union, pred_a, gt_a = areas_from_confusion(conf)
    assert inter.tolist() == [1, 1, 1] and gt_a.tolist() == [2, 1, 2] and pred_a.tolist() == [2, 2, 1]
    assert union.tolist() == [3, 2, 2]
    with pytest.raises(ValueError, match='outside 0..2'):
        confusion_matrix(np.array([[5]]), np.array([[0]]), num_classes=3)
    with pytest.raises(ValueError, match='ground truth'):
        confusion_matrix(np.array([[0]]), np.array([[9]]), num_classes=3)


def test_uint8_fast_path_equals_the_int64_path():
    """8-bit maps take a uint16 bincount; the counts equal the plain int64 route, 255 ignored, bad labels named."""
    rng = np.random.default_rng(3)
    gt = rng.integers(0, NUM_CLASSES, (64, 48)).astype(np.uint8)
    pred = rng.integers(0, NUM_CLASSES, (64, 48)).astype(np.uint8)
    gt[:5, :7] = 255
    fast = confusion_matrix(pred, gt)
    slow = confusion_matrix(pred.astype(np.int64), gt.astype(np.int64))
    assert fast.dtype == np.int64 and np.array_equal(fast, slow)
    assert fast.sum() == gt.size - 35
    bad = gt.copy()
    bad[10, 10] = 30  # a 30 beside the 255s must not slip through
    with pytest.raises(ValueError, match=r'ground truth has labels \[30\]'):
        confusion_matrix(pred, bad)
    wrong = pred.copy()
    wrong[0, 0] = 19
    with pytest.raises(ValueError, match=r'prediction has labels \[19\]'):
        confusion_matrix(wrong, gt)


def test_metrics_from_areas_per_image_rows_match_single_calls():
    rows = [intersect_and_union(p, g) for p, g in _crafted_pairs(1)]
    stacked = [np.stack(a) for a in zip(*rows)]
    batch = metrics_from_areas(*stacked)
    for i, row in enumerate(rows):
        one = metrics_from_areas(*row)
        np.testing.assert_array_equal(batch['IoU'][i], one['IoU'])
        assert batch['mIoU'][i] == pytest.approx(one['mIoU'])
    df = per_class_frame(*[a.sum(axis=0) for a in stacked])
    assert list(df.index) == list(CLASSES) and df.loc['neck_l', 'IoU'] != df.loc['neck_l', 'IoU']  # NaN
    assert df['IoU'].mean() == pytest.approx(float(summary_percent(metrics_from_areas(
        *[a.sum(axis=0) for a in stacked]))['mIoU']))


# --------------------------------------------------------------------------- scalars.json
def _write_run(work_dir: Path, stamp: str, train_steps, val_steps, loss_offset: float = 0.0, cut_last: bool = False):
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for s in sorted(set(train_steps) | set(val_steps)):
        if s in train_steps:
            lines.append(json.dumps({'lr': 0.01 * s, 'momentum': 0.9, 'loss': 10 - s / 10 + loss_offset,
                                     'decode.loss_ce': 1.0, 'iter': s, 'step': s}))
        if s in val_steps:
            lines.append(json.dumps({'aAcc': 90.0 + loss_offset, 'mIoU': s / 10 + loss_offset, 'mAcc': 50.0,
                                     'mDice': 60.0, 'step': s}))
    text = '\n'.join(lines) + '\n'
    if cut_last:
        text += '{"lr": 0.1, "loss'  # a run killed mid-write
    (vis / 'scalars.json').write_text(text)


def test_read_scalars_merges_interrupted_and_resumed_runs(tmp_path):
    stage1, stage2 = tmp_path / 'stage1', tmp_path / 'stage2'
    _write_run(stage1, '20240101_000000', range(10, 60, 10), [20, 40], cut_last=True)  # died after 50
    _write_run(stage1, '20240102_000000', range(50, 110, 10), [60, 80, 100], loss_offset=1.0)  # resumed from 40
    _write_run(stage2, '20240103_000000', range(110, 160, 10), [120, 140], loss_offset=2.0)  # 100 -> 150
    with pytest.warns(UserWarning, match='not valid JSON'):
        sc = read_scalars([stage1, stage2])
    assert sc.train['step'].tolist() == list(range(10, 160, 10))
    assert sc.val['step'].tolist() == [20, 40, 60, 80, 100, 120, 140]
    # step 50 was logged by both runs of stage 1: the later run wins
    assert sc.train.set_index('step').loc[50, 'loss'] == pytest.approx(10 - 5 + 1.0)
    assert sc.train.set_index('step').loc[40, 'loss'] == pytest.approx(10 - 4)
    assert sc.resumes == [(40, 'resumed after an interruption'), (100, 'stage 2 starts')]  # labelled by stage
    assert {'lr', 'momentum', 'loss', 'decode.loss_ce'} <= set(sc.train.columns)
    assert {'aAcc', 'mIoU', 'mAcc', 'mDice'} <= set(sc.val.columns) and 'lr' not in sc.val.columns

    fig = plot_curves(sc)
    axes = fig.axes
    assert len(axes) >= 4
    for ax in axes[:4]:
        resume_lines = [ln for ln in ax.lines if ln.get_linestyle() == '--' and list(ln.get_xdata()) == [40, 40]]
        assert resume_lines, 'resume point not marked'
    titles = [ax.get_title() for ax in axes]
    assert 'learning rate' in titles and 'momentum' in titles


def test_read_scalars_errors_name_the_folder(tmp_path):
    with pytest.raises(MetricsError, match=str(tmp_path / 'nowhere')):
        read_scalars(tmp_path / 'nowhere')


def test_read_scalars_of_the_smoke_run(smoke_run):
    sc = read_scalars(smoke_run['work_dir'])
    assert isinstance(sc, Scalars) and sc.resumes == []
    assert sc.train['step'].is_monotonic_increasing and sc.train['lr'].notna().all()
    last = sc.val.iloc[-1]
    assert last['mIoU'] == pytest.approx(smoke_run['metrics']['mIoU'], abs=1e-4)
    assert int(last['step']) == 20


def test_metrics_cli_saves_curves(smoke_run, tmp_path, capsys):
    assert main([str(smoke_run['work_dir']), '--out', str(tmp_path / 'curves')]) == 0
    from PIL import Image

    with Image.open(tmp_path / 'curves' / 'curves.png') as img:
        assert img.size[0] > 500
    assert (tmp_path / 'curves' / 'val_scalars.csv').is_file()
    assert main([str(tmp_path / 'missing'), '--out', str(tmp_path / 'x')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'Traceback' not in err


# --------------------------------------------------------------------------- tables
def test_seed_tables_are_consistent_with_the_report_summary():
    seed = load_seed_tables()
    for run in ('first', 'best'):
        table = seed[run]
        assert tuple(table.index) == CLASSES and list(table.columns) == ['IoU', 'Acc', 'Dice']
        for col in ('IoU', 'Acc', 'Dice'):  # the report's summary is the mean of its per-class table
            assert table[col].mean() == pytest.approx(seed['summary'].loc[run, 'm' + col], abs=0.006)
    assert seed['first'].loc['l_eye', 'IoU'] < seed['best'].loc['l_eye', 'IoU']


def _crafted_per_class():
    areas = [np.sum(a, axis=0) for a in zip(*(intersect_and_union(p, g) for p, g in _crafted_pairs(2)))]
    return per_class_frame(*areas)


def test_per_class_table_highlights_the_worst_classes():
    df = _crafted_per_class()
    html = per_class_table(df, worst=2, caption='hdr').to_html()
    worst = df['IoU'].dropna().nsmallest(2).index
    assert 'hdr' in html and 'border: 2px solid #c00000' in html
    # the highlighted rows are exactly the worst ones
    styled = per_class_table(df, worst=2)._compute().ctx
    bold_rows = {df.index[r] for (r, _c), props in styled.items() if ('border', '2px solid #c00000') in props}
    assert bold_rows == set(worst)


def test_compare_with_seed_deltas_and_colours():
    df = _crafted_per_class()
    table = compare_with_seed(df, styled=False)
    seed = load_seed_tables()
    np.testing.assert_allclose(table.loc[list(CLASSES), 'Δ vs best'],
                               df['IoU'] - seed['best']['IoU'], equal_nan=True)
    assert table.loc['mIoU', 'seed best'] == pytest.approx(seed['best']['IoU'].mean())
    html = compare_with_seed(df).to_html()
    assert '#c6efce' in html and '#ffc7ce' in html  # positive and negative deltas coloured
    summ = summary_table({'aAcc': 1.0, 'mIoU': 2.123456, 'mAcc': 3.0, 'mDice': 4.0}, styled=False)
    assert list(summ.index) == ['seed first', 'seed best', 'ours'] and summ.loc['ours', 'mIoU'] == 2.12
    both = summary_table({'aAcc': 1.0, 'mIoU': 2.0, 'mAcc': 3.0, 'mDice': 4.0, 'tta': 'none'},
                         with_tta={'aAcc': 1.5, 'mIoU': 2.75, 'mAcc': 3.0, 'mDice': 4.0, 'tta': 'flip'}, styled=False)
    assert list(both.index)[-3:] == ['ours (TTA none)', 'ours (TTA flip)', 'TTA gain']
    assert both.loc['TTA gain', 'mIoU'] == 0.75
    html = summary_table({'aAcc': 1.0, 'mIoU': 85.786947, 'mAcc': 3.0, 'mDice': 4.0}).to_html()
    assert '85.79' in html and '85.786947' not in html and '<caption>' in html


def test_plot_confusion_is_row_normalised_with_class_names():
    pairs = _crafted_pairs(3)
    conf = sum(confusion_matrix(p, g) for p, g in pairs)
    fig = plot_confusion(conf)
    ax = fig.axes[0]
    data = np.asarray(ax.images[0].get_array())
    present = conf.sum(axis=1) > 0
    np.testing.assert_allclose(data[present].sum(axis=1), 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    assert ax.get_ylabel() == 'ground truth'


def test_a_class_without_a_score_is_white_not_black(tmp_path):
    """The per-class table paints n/a cells white with grey text (the colour map painted them solid black)."""
    import pandas as pd

    from utils.base.labels import CLASSES
    from utils.core.metrics import per_class_table

    df = pd.DataFrame({'IoU': [50.0] * 18 + [float('nan')], 'Acc': [60.0] * 19, 'Dice': [55.0] * 19},
                      index=pd.Index(CLASSES, name='class'))
    html = per_class_table(df, caption='x').to_html()
    cell = html.split('>n/a<')[0].rsplit('id="', 1)[1].split('"')[0]  # the id of the n/a cell
    rules = html.split(f'#{cell} {{', 1)[1].split('}', 1)[0]  # its CSS: the last background-color wins
    assert [line.strip() for line in rules.splitlines() if 'background-color' in line][-1] == 'background-color: white;'
