"""MMSeg registrations for CelebAMask-HQ: the dataset (course folder layout) and a label-range check.

Masks are 8-bit palette PNGs whose *indices* are the labels; they are read with the PIL backend,
which returns indices, never colours. Registered into MMSeg's registries when imported (configs
list this module in ``custom_imports``).
"""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import DATASETS, TRANSFORMS

from utils.base.imageio import read_bgr, read_label_mask
from utils.base.labels import CLASSES, NUM_CLASSES, PALETTE
from utils.base.layout import LAYOUT_HELP, natural_key
from utils.base.layout import KnownError, MissingFileError

@DATASETS.register_module()
class CelebAMaskDataset(BaseSegDataset):
    """CelebAMask-HQ mini: ``N.jpg`` images with ``N.png`` palette masks, 19 classes, no ignored zero label."""

    METAINFO = dict(classes=CLASSES, palette=[list(c) for c in PALETTE])

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs) -> None:
        kwargs['pipeline'] = one_way_pipeline(kwargs.get('pipeline') or [])
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=False,
                         **kwargs)

    def load_data_list(self) -> list[dict]:
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', None)
        if not osp.isdir(img_dir):
            raise MissingFileError(f'Image folder not found: {img_dir} (data_root={self.data_root!r}); '
                                    + LAYOUT_HELP)
        if ann_dir and not osp.isdir(ann_dir):
            raise MissingFileError(f'Mask folder not found: {ann_dir} (data_root={self.data_root!r}); '
                                    + LAYOUT_HELP)
        data_list = super().load_data_list()
        if not data_list:
            raise MissingFileError(f'No {self.img_suffix} images in {img_dir}; ' + LAYOUT_HELP)
        if ann_dir:
            missing = [d['seg_map_path'] for d in data_list if not osp.isfile(d['seg_map_path'])]
            if missing:
                raise MissingFileError(
                    f'{len(missing)} of {len(data_list)} images in {img_dir} have no mask, e.g. '
                    f'{", ".join(missing[:3])}. Re-extract the dataset or run `python -m utils.data check`.')
        return sorted(data_list, key=lambda d: natural_key(d['img_path']))


#: MMCV / MMSeg loaders -> this project's, which read through utils.base.imageio (the one way every input is read).
ONE_WAY = {'LoadImageFromFile': 'mmseg.LoadFaceImage', 'LoadAnnotations': 'mmseg.LoadFaceMask'}


def one_way_pipeline(pipeline: list) -> list:
    """``pipeline`` with MMCV's image loader (OpenCV applies EXIF orientation) and MMSeg's mask loader (a 16-bit
    PNG is cast modulo 256) replaced by :class:`LoadFaceImage` and :class:`LoadFaceMask`, their options dropped."""
    out = []
    for step in pipeline:
        kind = step.get('type') if isinstance(step, dict) else None
        if kind in ONE_WAY:
            step = {'type': ONE_WAY[kind], **({'reduce_zero_label': step['reduce_zero_label']}
                                               if 'reduce_zero_label' in step else {})}
        out.append(step)
    return out


@TRANSFORMS.register_module()
class LoadFaceImage(BaseTransform):
    """Load ``results['img_path']`` with :func:`utils.base.imageio.read_image` (as stored, EXIF orientation ignored), BGR."""

    def transform(self, results: dict) -> dict:
        img = read_bgr(results['img_path'])
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results


@TRANSFORMS.register_module()
class LoadFaceMask(LoadAnnotations):
    """MMSeg's LoadAnnotations, reading the mask with :func:`utils.base.imageio.read_label_mask` (16-bit converted exactly
    or refused, naming the file)."""

    def _load_seg_map(self, results: dict) -> None:
        seg = read_label_mask(results['seg_map_path'])
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label:
            seg = seg.copy()
            seg[seg == 0] = 255
            seg = seg - 1
            seg[seg == 254] = 255
        if results.get('label_map') is not None:
            copy = seg.copy()
            for old, new in results['label_map'].items():
                seg[copy == old] = new
        results['gt_seg_map'] = seg
        results['seg_fields'].append('gt_seg_map')

class MaskLabelError(KnownError, ValueError):
    """A training or val mask holds values that are not labels; the message names the file and the fix."""


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Fail fast, naming the file, when a loaded mask has labels outside ``0..num_classes-1`` (255 = ignore is allowed)."""

    def __init__(self, num_classes: int = NUM_CLASSES, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None:
            return results
        if seg.ndim != 2:
            raise MaskLabelError(f"Mask {results.get('seg_map_path')} has shape {seg.shape}: it is an RGB "
                             'picture, not a label map. Masks must be single-channel (palette or grayscale) '
                             'PNGs whose pixel values are the labels 0..18; see `python -m utils.data check`.')
        if int(seg.max()) >= self.num_classes:  # then look at every value: a 30 beside a 255 is still wrong
            bad = sorted(int(v) for v in np.unique(seg) if v >= self.num_classes and v != self.ignore_index)
        else:
            bad = []
        if bad:
            raise MaskLabelError(f"Mask {results.get('seg_map_path')} has labels {bad[:8]} outside "
                             f'0..{self.num_classes - 1}. Masks must hold class indices, not colours or '
                             '0/255 values; run `python -m utils.data check` to find every such file.')
        return results
