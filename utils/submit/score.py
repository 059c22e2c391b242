"""Score a submission against ground-truth masks with the leaderboard's formula (``utils.core.metrics``)."""
from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from utils.base.labels import CLASSES, NUM_CLASSES
from utils.base.layout import natural_key
from utils.core.metrics import areas_from_confusion, confusion_matrix, metrics_from_areas
from utils.base.report import number_formats
from utils.submit.check import open_masks, read_mask
from utils.submit.common import SubmitError


@dataclass
class ScoreResult:
    """mIoU of a submission against ground-truth masks, the leaderboard's formula; ``.to_frame()`` per class."""

    miou: float
    aacc: float
    iou: np.ndarray
    intersection: np.ndarray
    union: np.ndarray
    images: int

    def to_frame(self):
        """IoU (%), intersection and union per class (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame({'IoU': np.round(100 * self.iou, 2), 'intersection': self.intersection,
                             'union': self.union}, index=pd.Index(CLASSES, name='class'))

    def __str__(self) -> str:
        rows = [f'  {c:<10} {100 * v:6.2f}' if np.isfinite(v) else f'  {c:<10}    n/a'
                for c, v in zip(CLASSES, self.iou)]
        return '\n'.join([f'{self.images} masks: mIoU {self.miou:.2f}  aAcc {self.aacc:.2f}', '  class        IoU']
                         + rows)

    def table(self):
        """The per-class table as a notebook shows it: the overall mIoU in the caption, n/a for a class absent from
        both the masks and the ground truth (the leaderboard's mean skips it too)."""
        absent = int((~np.isfinite(self.iou)).sum())
        note = f'; {absent} class(es) absent from both: n/a, not counted' if absent else ''
        frame = self.to_frame()
        return (frame.style.format(number_formats(frame), na_rep='n/a')
                .set_caption(f'The leaderboard\'s formula on {self.images} masks: mIoU {self.miou:.2f}, '
                             f'aAcc {self.aacc:.2f}{note}'))

    def _repr_html_(self) -> str:
        return self.table().to_html()


def score_arrays(pairs: Iterator[tuple[np.ndarray, np.ndarray]] | Sequence[tuple[np.ndarray, np.ndarray]],
                 ignore_index: int = 255) -> ScoreResult:
    """Score ``(prediction, ground truth)`` label-map pairs: I and U summed per class over all pairs.

    The counting and the formulas are :mod:`utils.core.metrics`' (the same as MMSeg's and the leaderboard's).
    """
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    n = 0
    for pred, gt in pairs:
        try:
            conf += confusion_matrix(pred, gt, NUM_CLASSES, ignore_index)
        except ValueError as exc:
            raise SubmitError(f'mask {n + 1}: {exc}; run check_submission() first.') from None
        n += 1
    inter, union, pred_area, gt_area = areas_from_confusion(conf)
    m = metrics_from_areas(inter, union, pred_area, gt_area)
    miou = float(100 * m['mIoU']) if np.isfinite(m['IoU']).any() else float('nan')
    aacc = float(100 * m['aAcc']) if gt_area.sum() else float('nan')
    return ScoreResult(miou, aacc, m['IoU'], inter, union, n)


def score_submission(source: Any, masks_dir: str | os.PathLike, progress: bool = True) -> ScoreResult:
    """mIoU of a submission zip (or masks folder) against the ground-truth masks in ``masks_dir``."""
    from tqdm.auto import tqdm

    gt_dir = Path(masks_dir)
    if not gt_dir.is_dir():
        raise SubmitError(f'Ground-truth folder not found: {gt_dir}. Pass the masks of the same images, e.g. '
                          '--masks data/synthetic/test/test_mask (the real test masks are hidden).')
    gts = sorted((p for p in gt_dir.glob('*.png') if not p.name.startswith('.')), key=lambda p: natural_key(p.name))
    if not gts:
        raise SubmitError(f'No PNG masks in {gt_dir}.')
    try:
        masks = open_masks(source)
    except zipfile.BadZipFile as exc:
        raise SubmitError(f'{source} is not a zip archive ({exc}).') from None
    try:
        present = masks.mask_files()
        missing = [p.name for p in gts if p.name not in present]
        if missing:
            raise SubmitError(f'{len(missing)} ground-truth masks have no prediction in {masks.path} (e.g. '
                              f'{", ".join(missing[:3])}); run check_submission() first.')

        def pairs() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for p in tqdm(gts, desc='score', unit='mask', disable=not progress):
                pred = masks.array(present[p.name])
                gt = read_mask(lambda path=p: path, str(p))  # a path: Pillow opens it
                if pred.shape != gt.shape:
                    raise SubmitError(f'{present[p.name]} is {pred.shape}, its ground truth {p} is {gt.shape}: '
                                      'run check_submission() first.')
                yield pred, gt

        return score_arrays(pairs())
    finally:
        masks.close()
