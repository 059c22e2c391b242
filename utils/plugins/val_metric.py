"""The 2025-26 leaderboard's metric as an MMSeg evaluator: the mean per-image F (``imgF``, 0-1) and mIoU (%) beside it.

A config of that edition validates with ``val_evaluator = dict(type='ImageFScoreMetric')`` and keeps its best
checkpoint by ``save_best='imgF'``. The per-image F is :func:`utils.core.metrics.image_fscores` (the leaderboard's
definition); the dataset-level mIoU is MMSeg's ``IoUMetric`` formula on the same predictions. Per-image counts are
collected on the model's device (one ``bincount`` per image) and only 4 x 19 numbers per image leave it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from utils.base.labels import NUM_CLASSES
from utils.core.metrics import image_fscores, metrics_from_areas

#: decimals of the reported numbers: imgF on the 0-1 scale the leaderboard shows, mIoU in % as MMSeg logs it
IMGF_DECIMALS, MIOU_DECIMALS = 4, 2


def areas_torch(pred, gt, num_classes: int = NUM_CLASSES, ignore_index: int = 255) -> np.ndarray:
    """4 x C int64 ``(intersect, union, pred_area, gt_area)`` of one label map pair (torch tensors, any device)."""
    import torch

    keep = gt != ignore_index
    pred, gt = pred[keep].long(), gt[keep].long()
    if gt.numel() and (int(gt.max()) >= num_classes or int(gt.min()) < 0):
        raise ValueError(f'ground truth has labels outside 0..{num_classes - 1} (besides {ignore_index} = ignore)')
    conf = torch.bincount(gt * num_classes + pred, minlength=num_classes ** 2)[:num_classes ** 2]
    conf = conf.reshape(num_classes, num_classes)
    intersect, gt_area, pred_area = conf.diagonal(), conf.sum(1), conf.sum(0)
    out = torch.stack([intersect, pred_area + gt_area - intersect, pred_area, gt_area])
    return out.cpu().numpy().astype(np.int64)


@METRICS.register_module()
class ImageFScoreMetric(BaseMetric):
    """``imgF``: the mean over the val images of each image's mean F over its present classes (0-1, 4 decimals);
    ``mIoU``: MMSeg's dataset-level mean IoU (%, 2 decimals), a secondary number."""

    default_prefix = None  # logged as val/imgF, val/mIoU like MMSeg's own metrics

    def __init__(self, num_classes: int = NUM_CLASSES, ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes, self.ignore_index = int(num_classes), int(ignore_index)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze()
            gt = sample['gt_sem_seg']['data'].squeeze().to(pred.device)
            self.results.append(areas_torch(pred, gt, self.num_classes, self.ignore_index))

    def compute_metrics(self, results: list) -> dict[str, float]:
        areas = np.stack(results)  # N x 4 x C
        intersect, union, pred_area, gt_area = (areas[:, k] for k in range(4))
        per_image = image_fscores(intersect, pred_area, gt_area)
        totals = metrics_from_areas(intersect.sum(0), union.sum(0), pred_area.sum(0), gt_area.sum(0))
        img_f = float(np.nanmean(per_image)) if np.isfinite(per_image).any() else 0.0
        return {'imgF': round(img_f, IMGF_DECIMALS), 'mIoU': round(float(totals['mIoU']) * 100, MIOU_DECIMALS)}
