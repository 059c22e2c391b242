"""The 2025-26 leaderboard's per-image F (utils.core.metrics.image_fscore) and its MMSeg evaluator, against a plain
NumPy oracle written here from the course's definition (per class present in the ground truth: P, R, F1 with a
1e-7 guard in each division; the image's score is the mean over those classes; absent classes skipped)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from utils.base.labels import NUM_CLASSES, pil_palette
from utils.core.metrics import fscore_from_areas, image_fscore, image_fscores, intersect_and_union


def oracle(gt: np.ndarray, pred: np.ndarray, ignore: int = 255) -> float:
    """The leaderboard's definition, one class at a time, nothing shared with utils.core.metrics."""
    keep = gt != ignore
    gt, pred = gt[keep].astype(int), pred[keep].astype(int)
    scores = []
    for c in np.unique(gt):
        tp = float(np.sum((gt == c) & (pred == c)))
        fp = float(np.sum((gt != c) & (pred == c)))
        fn = float(np.sum((gt == c) & (pred != c)))
        p = tp / (tp + fp + 1e-7)
        r = tp / (tp + fn + 1e-7)
        scores.append(2 * p * r / (p + r + 1e-7))
    return float(np.mean(scores))


def _face(rng, size=32) -> np.ndarray:
    gt = np.zeros((size, size), np.uint8)
    gt[4:28, 6:26] = 1
    gt[10:13, 9:13], gt[10:13, 19:23] = 4, 5
    gt[20:23, 12:20] = 11
    return gt


def test_a_class_predicted_but_absent_costs_only_the_true_class():
    gt = _face(None)
    pred = gt.copy()
    pred[0:2, 0:8] = 18  # a hat where the ground truth has background: the hat is not scored, background loses P
    assert image_fscore(gt, pred) == pytest.approx(oracle(gt, pred), abs=1e-12)
    classes_scored = np.isfinite(fscore_from_areas(*np.take(intersect_and_union(pred, gt), [0, 2, 3], axis=0)))
    assert classes_scored.sum() == len(np.unique(gt)) and not classes_scored[18]
    assert 0.99 < image_fscore(gt, pred) < 1.0


def test_one_class_image_and_a_perfect_prediction():
    gt = np.full((16, 16), 1, np.uint8)
    assert image_fscore(gt, gt) == pytest.approx(1.0, abs=1e-6)
    assert image_fscore(gt, gt) == pytest.approx(oracle(gt, gt), abs=1e-12)
    pred = gt.copy()
    pred[:8] = 0  # half the skin called background: background absent from gt, so only skin's F counts
    assert image_fscore(gt, pred) == pytest.approx(2 * 0.5 / 1.5, abs=1e-6)


def test_an_empty_prediction_all_one_wrong_class_scores_zero_not_nan():
    gt = _face(None)
    pred = np.full_like(gt, 17)  # nothing right: every class present gets F = 0, guarded against 0/0
    assert image_fscore(gt, pred) == 0.0
    assert oracle(gt, pred) == 0.0


def test_ignored_pixels_are_left_out():
    gt = _face(None)
    pred = gt.copy()
    gt2 = gt.copy()
    gt2[:3] = 255
    pred[:3] = 7  # wrong, but under ignore
    assert image_fscore(gt2, pred) == pytest.approx(1.0, abs=1e-6)
    assert image_fscore(gt2, pred) == pytest.approx(oracle(gt2, pred), abs=1e-12)


def test_palette_and_l_files_read_with_the_mask_reader(tmp_path):
    from utils.evaluate import read_mask

    gt = _face(None)
    pred = gt.copy()
    pred[10:13, 9:13] = 5  # left eye called right eye
    pal = Image.fromarray(gt, mode='P')
    pal.putpalette(pil_palette())
    pal.save(tmp_path / 'gt.png')
    Image.fromarray(pred, mode='L').save(tmp_path / 'pred.png')
    a, b = read_mask(tmp_path / 'gt.png'), read_mask(tmp_path / 'pred.png')
    np.testing.assert_array_equal(a, gt)
    np.testing.assert_array_equal(b, pred)
    assert image_fscore(a, b) == pytest.approx(oracle(gt, pred), abs=1e-12)
    # the trap the handout warns of: a palette mask converted to 'L' holds luminance values, not class ids
    lum = np.array(Image.open(tmp_path / 'gt.png').convert('L'))
    assert not np.array_equal(lum, gt)


@pytest.mark.parametrize('seed', range(6))
def test_random_label_maps_equal_the_oracle(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 48, size=2)
    present = rng.choice(NUM_CLASSES, size=rng.integers(1, NUM_CLASSES + 1), replace=False)
    gt = rng.choice(present, size=(h, w)).astype(np.uint8)
    pred = np.where(rng.random((h, w)) < rng.random(), gt, rng.integers(0, NUM_CLASSES, (h, w))).astype(np.uint8)
    gt[rng.random((h, w)) < 0.05] = 255
    if (gt != 255).any():
        assert image_fscore(gt, pred) == pytest.approx(oracle(gt, pred), abs=1e-12)


def test_vectorised_per_image_scores_equal_one_call_per_image():
    rng = np.random.default_rng(7)
    gts = [rng.integers(0, 6, (20, 20)).astype(np.uint8) for _ in range(5)]
    preds = [np.where(rng.random(g.shape) < 0.7, g, rng.integers(0, 8, g.shape)).astype(np.uint8) for g in gts]
    areas = [np.stack(a) for a in zip(*(intersect_and_union(p, g) for p, g in zip(preds, gts)))]
    got = image_fscores(areas[0], areas[2], areas[3])
    np.testing.assert_allclose(got, [oracle(g, p) for g, p in zip(gts, preds)], atol=1e-12)


def test_the_mmseg_evaluator_gives_the_mean_per_image_f_and_mmseg_miou():
    import torch
    from mmseg.evaluation import IoUMetric

    from utils.plugins.val_metric import ImageFScoreMetric

    rng = np.random.default_rng(3)
    ours, theirs = ImageFScoreMetric(), IoUMetric(iou_metrics=['mIoU'])
    theirs.dataset_meta = ours.dataset_meta = dict(classes=tuple(map(str, range(NUM_CLASSES))))
    expected = []
    for _ in range(4):
        gt = rng.integers(0, 7, (24, 24)).astype(np.uint8)
        gt[:2] = 255
        pred = np.where(rng.random(gt.shape) < 0.6, gt, rng.integers(0, 9, gt.shape)).astype(np.uint8)
        pred[gt == 255] = 0
        expected.append(oracle(gt, pred))
        sample = dict(pred_sem_seg=dict(data=torch.from_numpy(pred.astype(np.int64))[None]),
                      gt_sem_seg=dict(data=torch.from_numpy(gt.astype(np.int64))[None]))
        ours.process({}, [sample])
        theirs.process({}, [sample])
    got = ours.compute_metrics(ours.results)
    assert got['imgF'] == pytest.approx(round(float(np.mean(expected)), 4), abs=1e-12)
    assert got['mIoU'] == pytest.approx(theirs.compute_metrics(theirs.results)['mIoU'], abs=1e-9)


def test_the_per_class_table_can_lead_with_the_per_image_f():
    from utils.evaluate import Accumulator
    from utils.core.metrics import per_class_table

    acc = Accumulator()
    gt = _face(None)
    pred = gt.copy()
    pred[10:13, 9:13] = 0  # the left eye missed
    acc.add('a', pred, gt)
    acc.add('b', gt, gt)
    result = acc.result()
    f = result.per_image_f()
    assert f.loc['a', 'l_eye'] == 0.0 and np.isnan(f.loc['a', 'hat'])
    assert result.per_class.loc['l_eye', 'imgF'] == pytest.approx(0.5, abs=1e-6)  # 0 in one image, 1 in the other
    assert result.summary['imgF'] == pytest.approx(np.mean([oracle(gt, pred), oracle(gt, gt)]), abs=1e-12)
    table = per_class_table(result, image_f=True)
    assert list(table.data.columns)[0] == 'imgF' and table.caption.startswith('mean per-image F ')
    assert 'imgF' not in per_class_table(result).data.columns  # the 2022 table is unchanged
