"""Cheaper drop-ins for two of MMSeg's train transforms: the same random draws, byte-identical output.

``scripts/bench_pipeline.py`` timed the improved pipeline at about 13 ms per 512 px image on one core, and two
steps did more work than their result needs:

* ``RandomCrop`` with ``cat_max_ratio`` sorts every candidate crop's labels (``np.unique``, up to 10 crops of
  262,144 pixels) only to count them. ``FastRandomCrop`` counts them with ``np.bincount`` on the uint8 mask.
* ``PhotoMetricDistortion`` turns the whole image into float32, scales, clips and casts back, up to three
  times. On a uint8 image that arithmetic has only 256 possible inputs per step, so ``FastPhotoMetricDistortion``
  does the same float32 arithmetic once on those 256 values and applies the result as a lookup table
  (``cv2.LUT``). The hue shift, ``(h + d) % 180``, becomes a table the same way.

Both subclasses draw from NumPy's global generator in the same order as the originals, so with the same
seed a run sees the same crops and the same colours: ``tests/test_transforms.py`` checks that the outputs
are identical byte for byte. Anything that is not uint8 goes through MMSeg's own code. ``FastRandomCrop``
keeps MMSeg's ``@cache_randomness`` on ``crop_bbox``, so MMCV's ``cache_random_params`` (one crop shared by
several calls) works as with ``RandomCrop``.
"""
from __future__ import annotations

import cv2
import mmcv
import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import PhotoMetricDistortion, RandomCrop
from mmseg.registry import TRANSFORMS
from numpy import random  # the global generator MMSeg's transforms draw from


@TRANSFORMS.register_module()
class FastRandomCrop(RandomCrop):
    """MMSeg's ``RandomCrop``, with the class-ratio check done by counting instead of sorting."""

    # our own list: @cache_randomness below would otherwise append 'crop_bbox' to RandomCrop's list a second time
    _methods_with_randomness: list = []

    def _draw(self, img: np.ndarray) -> tuple[int, int, int, int]:
        margin_h = max(img.shape[0] - self.crop_size[0], 0)
        margin_w = max(img.shape[1] - self.crop_size[1], 0)
        top = np.random.randint(0, margin_h + 1)
        left = np.random.randint(0, margin_w + 1)
        return top, top + self.crop_size[0], left, left + self.crop_size[1]

    def _balanced(self, seg: np.ndarray) -> bool:
        """True when the crop holds at least two classes and none covers ``cat_max_ratio`` or more of it."""
        ignore = self.ignore_index
        if seg.dtype == np.uint8 and isinstance(ignore, (int, np.integer)):  # else (None, 255.0): as MMSeg
            counts = np.bincount(seg.ravel(), minlength=256)
            if 0 <= ignore < 256:
                counts[ignore] = 0
            counts = counts[counts > 0]
        else:
            labels, counts = np.unique(seg, return_counts=True)
            counts = counts[labels != self.ignore_index]
        return len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio

    @cache_randomness
    def crop_bbox(self, results: dict) -> tuple:
        img = results['img']
        bbox = self._draw(img)
        if self.cat_max_ratio < 1.:
            for _ in range(10):  # as MMSeg: up to 10 re-draws, and the last one is kept if none passes
                if self._balanced(self.crop(results['gt_seg_map'], bbox)):
                    break
                bbox = self._draw(img)
        return bbox


def _lut(img: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[img]``, by OpenCV; the shape kept as it was (cv2 drops a last axis of 1)."""
    if img.size == 0:
        return img.copy()
    return cv2.LUT(np.ascontiguousarray(img), table).reshape(img.shape)


@TRANSFORMS.register_module()
class FastPhotoMetricDistortion(PhotoMetricDistortion):
    """MMSeg's ``PhotoMetricDistortion``, with each per-pixel step applied as a 256-entry table on uint8 images."""

    def convert(self, img: np.ndarray, alpha: float = 1, beta: float = 0) -> np.ndarray:
        if img.dtype != np.uint8:
            return super().convert(img, alpha, beta)
        # the original's arithmetic (float32 * alpha + beta, clip, cast), on the 256 values a uint8 pixel can take
        table = np.clip(np.arange(256, dtype=np.float32) * alpha + beta, 0, 255).astype(np.uint8)
        return _lut(img, table)

    def hue(self, img: np.ndarray) -> np.ndarray:
        if img.dtype != np.uint8:
            return super().hue(img)
        if random.randint(2):
            img = mmcv.bgr2hsv(img)
            shift = random.randint(-self.hue_delta, self.hue_delta)
            table = ((np.arange(256) + shift) % 180).astype(np.uint8)
            img[:, :, 0] = _lut(img[:, :, 0], table)
            img = mmcv.hsv2bgr(img)
        return img
