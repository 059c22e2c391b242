"""Evaluate a checkpoint on a labelled split: per-class and per-image scores, confusion matrix, saved masks.

    python -m utils.evaluate CHECKPOINT --data-root DIR [--config CFG] [--split val] [--tta none|flip|ms]
                             [--out DIR] [--batch-size N] [--no-masks] [--no-flops] [--device cpu|cuda]
                             [--holdout WORK_DIR/split.json] [--no-bias]

Writes into ``--out`` (default ``<checkpoint folder>/eval/<checkpoint>_<split>_<tta>``):
``summary.json`` (imgF = the 2025-26 leaderboard's mean per-image F, aAcc/mIoU/mAcc/mDice, checkpoint and the
SHA-256 of its bytes, config, split, TTA, class biases, image count, parameters, FLOPs), ``per_class.csv``
(IoU/Acc/Dice/Precision/Recall in %, imgF = the class's mean F over the images where it is present, 0-1),
``confusion.csv`` (19 x 19 pixel counts, rows = ground truth), ``per_image.npz`` (image names and N x 19 int64 intersections,
unions, predicted and ground-truth areas, so any image can be inspected without the model) and
``pred/<name>.png`` (palette masks for the inspector in ``utils.notebook.widgets``). The numbers equal
MMSeg's ``IoUMetric`` on the same predictions (see ``utils.core.metrics.metrics_from_areas``).
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from utils.base import layout
from utils.base.layout import write_atomic, write_json_atomic
from utils.base.labels import CLASSES, NUM_CLASSES, pil_palette
from utils.core.metrics import (PER_CLASS_KEYS, SUMMARY_KEYS, areas_from_confusion, confusion_matrix, fscore_from_areas,
                                image_fscores, metrics_from_areas, per_class_frame, summary_percent)
from utils.core.model import count_parameters
from utils.base.report import cli_error, positive_int
from utils.base.layout import KnownError

if TYPE_CHECKING:
    from utils.core.checkpoints import OpenedCheckpoint

FORMAT_VERSION = 1
SUMMARY_FILE, PER_CLASS_FILE, PER_IMAGE_FILE, CONFUSION_FILE, PRED_DIR = (
    'summary.json', 'per_class.csv', 'per_image.npz', 'confusion.csv', 'pred')
AREA_KEYS = ('intersect', 'union', 'pred_area', 'gt_area')
log = logging.getLogger(__name__)


class EvaluationError(KnownError, RuntimeError):
    """Evaluation cannot run or a results folder cannot be used; the message names the file and the fix."""


# --------------------------------------------------------------------------- result object
@dataclass
class EvalResult:
    """Scores of one checkpoint on one split: summary dict, per-class DataFrame, confusion and per-image areas."""

    summary: dict
    names: list[str]
    intersect: np.ndarray  # N x C int64, and the three below likewise
    union: np.ndarray
    pred_area: np.ndarray
    gt_area: np.ndarray
    confusion: np.ndarray  # C x C int64, rows = ground truth
    classes: tuple[str, ...] = CLASSES
    out_dir: Path | None = None
    per_class: Any = field(init=False)  # pandas DataFrame indexed by class

    def __post_init__(self) -> None:
        totals = [a.sum(axis=0) for a in self.areas()]
        self.per_class = per_class_frame(*totals, classes=self.classes, images=(self.gt_area > 0).sum(axis=0))
        f = fscore_from_areas(self.intersect, self.pred_area, self.gt_area)
        present = np.isfinite(f).sum(axis=0)
        # the 2025-26 leaderboard's view of a class: its mean F over the images where it is present (0-1)
        self.per_class['imgF'] = np.where(present > 0, np.nansum(f, axis=0) / np.maximum(present, 1), np.nan)

    def areas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-image ``(intersect, union, pred_area, gt_area)``, each N x C."""
        return self.intersect, self.union, self.pred_area, self.gt_area

    def per_image(self, metric: str = 'IoU'):
        """N x C DataFrame of a per-class ``metric`` (IoU, Acc, Dice, Precision, Recall) per image, in %; NaN where undefined."""
        import pandas as pd

        m = metrics_from_areas(*self.areas())
        if metric not in m or np.ndim(m[metric]) != 2:
            raise ValueError(f'metric must be one of {", ".join(PER_CLASS_KEYS)}; got {metric!r}')
        return pd.DataFrame(m[metric] * 100, index=pd.Index(self.names, name='image'), columns=list(self.classes))

    def image_f(self):
        """The leaderboard's per-image F of every image (Series indexed by image name, 0-1); its mean is imgF."""
        import pandas as pd

        return pd.Series(image_fscores(self.intersect, self.pred_area, self.gt_area),
                         index=pd.Index(self.names, name='image'), name='imgF')

    def per_image_f(self):
        """N x C DataFrame: each image's F per class present in its ground truth (0-1), NaN for absent classes."""
        import pandas as pd

        return pd.DataFrame(fscore_from_areas(self.intersect, self.pred_area, self.gt_area),
                            index=pd.Index(self.names, name='image'), columns=list(self.classes))

    def image_summary(self):
        """Per-image aAcc/mIoU/mAcc/mDice (DataFrame indexed by image name, %)."""
        import pandas as pd

        m = metrics_from_areas(*self.areas())
        return pd.DataFrame({k: m[k] * 100 for k in SUMMARY_KEYS}, index=pd.Index(self.names, name='image'))

    def pred_path(self, name: str) -> Path | None:
        """The saved predicted mask of image ``name`` (None when masks were not saved)."""
        if self.out_dir is None:
            return None
        path = self.out_dir / PRED_DIR / f'{name}.png'
        return path if path.is_file() else None

    def data_paths(self, name: str, data_root: str | os.PathLike | None = None) -> tuple[Path, Path]:
        """``(image, ground-truth mask)`` paths of image ``name`` under ``data_root`` (default: the evaluated one)."""
        root = Path(data_root or self.summary.get('data_root', '.'))
        split = self.summary.get('split', 'val')
        return layout.image_dir(root, split) / f'{name}.jpg', layout.mask_dir(root, split) / f'{name}.png'

    def __repr__(self) -> str:
        s = self.summary
        return (f"EvalResult({s.get('split')}, {len(self.names)} images, tta={s.get('tta')}: "
                + ', '.join(f'{k} {s[k]:.2f}' for k in SUMMARY_KEYS if isinstance(s.get(k), (int, float))) + ')')


class Accumulator:
    """Collects per-image confusion counts; :meth:`result` turns them into an :class:`EvalResult`."""

    def __init__(self, num_classes: int = NUM_CLASSES, ignore_index: int = 255) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.names: list[str] = []
        self.rows: list[tuple[np.ndarray, ...]] = []
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def add(self, name: str, pred: np.ndarray, gt: np.ndarray) -> None:
        """Score one prediction against its ground truth (both H x W label maps)."""
        self.add_confusion(name, confusion_matrix(pred, gt, self.num_classes, self.ignore_index))

    def add_confusion(self, name: str, conf: np.ndarray) -> None:
        """Add one image's confusion matrix (rows = ground truth), e.g. computed in a worker thread."""
        self.confusion += conf
        self.names.append(str(name))
        self.rows.append(areas_from_confusion(conf))

    def result(self, summary: dict | None = None, out_dir: Path | None = None,
               classes: Sequence[str] = CLASSES) -> EvalResult:
        if not self.rows:
            raise EvaluationError('No image was scored: the split is empty.')
        arrays = [np.stack([r[k] for r in self.rows]).astype(np.int64) for k in range(4)]
        totals = [a.sum(axis=0) for a in arrays]
        m = metrics_from_areas(*totals)
        summ = dict(summary or {})
        summ.update(summary_percent(m))
        summ['mPrecision'] = float(np.nanmean(m['Precision']) * 100) if np.isfinite(m['Precision']).any() else None
        per_image_f = image_fscores(arrays[0], arrays[2], arrays[3])
        summ['imgF'] = float(np.nanmean(per_image_f)) if np.isfinite(per_image_f).any() else None
        summ['num_images'] = len(self.names)
        summ['classes'] = list(classes)
        return EvalResult(summ, list(self.names), *arrays, confusion=self.confusion.copy(),
                          classes=tuple(classes), out_dir=out_dir)


# --------------------------------------------------------------------------- data
def split_files(data_root: str | os.PathLike, split: str = 'val',
                stems: Sequence[str] | None = None) -> list[tuple[str, Path, Path]]:
    """``(name, image path, mask path)`` of a labelled split in the course layout, naturally sorted; ``stems``
    keeps those images only (2025-26: the holdout, a list of stems of ``train/``)."""
    root = Path(data_root)
    img_dir, mask_dir = layout.image_dir(root, split), layout.mask_dir(root, split)
    if not root.is_dir():
        raise EvaluationError(f'Data root not found: {root}. Pass --data-root with the dataset folder '
                              '(course layout: val/val_image, val/val_mask, ...).')
    if not img_dir.is_dir():
        raise EvaluationError(f'Image folder not found: {img_dir}. Expected the course layout '
                              f'{split}/{split}_image + {split}/{split}_mask under {root}; check --split and --data-root.')
    if not mask_dir.is_dir():
        raise EvaluationError(f'{mask_dir} does not exist: split {split!r} has no ground-truth masks, so it cannot '
                              'be scored. Evaluate --split val; predict the test split with utils.submit instead.')
    images = [img_dir / n for n in layout.list_files(img_dir, layout.IMAGE_SUFFIXES)]
    if stems is not None:
        wanted = {str(x) for x in stems}
        images = [p for p in images if p.stem in wanted]
        if len(images) != len(wanted):
            raise EvaluationError(f'{len(wanted) - len(images)} of the {len(wanted)} holdout stems have no image in '
                                  f'{img_dir}: the split.json belongs to another dataset copy; make the holdout '
                                  'again for this data root.')
    if not images:
        raise EvaluationError(f'No images in {img_dir}: the split is empty. Re-extract the dataset '
                              '(python -m utils.data check finds what is missing).')
    out, missing = [], []
    for img in images:
        mask = mask_dir / f'{img.stem}.png'
        (out if mask.is_file() else missing).append((img.stem, img, mask))
    if missing:
        raise EvaluationError(f'{len(missing)} of {len(images)} images in {img_dir} have no mask in {mask_dir}, '
                              f'e.g. {", ".join(m[2].name for m in missing[:3])}. Re-extract the dataset.')
    return out


def read_mask(path: Path) -> np.ndarray:
    """A label map from a mask PNG, read the one way every mask is (:func:`utils.base.imageio.read_label_mask`); an RGB
    picture, a truncated or non-PNG file, a 16-bit mask beyond 0..255 and a decompression bomb each raise one
    :class:`EvaluationError` naming it."""
    from utils.base.imageio import ImageReadError, read_label_mask

    try:
        return read_label_mask(path)
    except ImageReadError as exc:
        raise EvaluationError(f'{exc} Otherwise re-extract the dataset or predict it again.') from None


# --------------------------------------------------------------------------- model facts
def count_flops(model, size: tuple[int, int]) -> tuple[int | None, str]:
    """FLOPs of one forward pass at ``size`` (MMEngine's counter, 1 multiply-add = 1 FLOP) and a note.

    Never raises: a counter failure gives ``(None, reason)``.
    """
    import torch
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # the counter warns about every op it does not count (BN, pooling, ...)
    try:
        from mmengine.analysis import get_model_complexity_info

        was_training = model.training
        model.eval()
        with torch.no_grad():
            info = get_model_complexity_info(model, input_shape=(3, *size), show_table=False, show_arch=False)
        model.train(was_training)
        return int(info['flops']), 'mmengine.analysis, 1 multiply-add = 1 FLOP, aux head excluded'
    except Exception as exc:  # the counter traces the model; any failure only costs the FLOP figure
        return None, f'FLOP counter failed: {type(exc).__name__}: {str(exc)[:200]}'
    finally:
        logger.setLevel(level)


def _cached_complexity(out_dir: Path, ident: dict, size: tuple[int, int]) -> dict | None:
    try:
        old = json.loads((out_dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    same = all(old.get(k) == v for k, v in ident.items()) and old.get('flops_input') == f'{size[0]}x{size[1]}'
    if same and old.get('params') and 'flops' in old and old.get('flops') is not None:
        return {k: old.get(k) for k in ('params', 'flops', 'flops_input', 'flops_note')}
    return None


def default_out_dir(checkpoint: str | os.PathLike, split: str, tta: str, bias: bool = False) -> Path:
    """``<checkpoint folder>/eval/<checkpoint stem>_<split>_<tta>[_bias]``: next to the work_dir's checkpoints
    (``_bias``: decoded with the checkpoint's per-class biases, utils.core.bias)."""
    ck = Path(checkpoint)
    return ck.parent / 'eval' / f'{ck.stem}_{split}_{tta}{"_bias" if bias else ""}'


# --------------------------------------------------------------------------- evaluate
def _segmenter_for(ck: str | os.PathLike | OpenedCheckpoint, config: Any, device: str | None, tta: str | None,
                   segmenter: Any) -> tuple[Any, str]:
    """The model to evaluate (``segmenter`` when given, else loaded from ``ck``, a path or an opened checkpoint) and
    the TTA it runs with; an unknown TTA is named before the model is loaded, a model of another class count after."""
    from utils.core.checkpoints import CheckpointError, checkpoint_path
    from utils.core.config import ConfigError, resolve_tta
    from utils.core.inference import InferenceError, Segmenter

    try:
        if tta is not None:
            resolve_tta(tta)
        seg = segmenter if segmenter is not None else Segmenter.from_checkpoint(ck, config=config, device=device)
    except (InferenceError, CheckpointError, ConfigError) as exc:
        raise EvaluationError(str(exc)) from exc
    n_out = getattr(getattr(seg.model, 'decode_head', None), 'num_classes', NUM_CLASSES)
    if n_out != NUM_CLASSES:
        raise EvaluationError(f'{checkpoint_path(ck)} predicts {n_out} classes, but CelebAMask has {NUM_CLASSES} '
                              f'({", ".join(CLASSES[:4])}, ...): evaluate a checkpoint trained on this dataset, or '
                              'pass --config with the 19-class config it was trained with.')
    return seg, resolve_tta(tta, getattr(seg, 'cfg', None))


def _complexity(seg: Any, out: Path, ident: dict, flops: bool) -> dict:
    """Parameters and FLOPs of the model (kept from an earlier evaluation of the same checkpoint when there is one)."""
    size = tuple(seg.test_size)
    cached = _cached_complexity(out, ident, size) if flops else None
    if cached is not None:
        return cached
    n_flops, note = count_flops(seg.model, size) if flops else (None, 'not counted (--no-flops)')
    return dict(params=count_parameters(seg.model), flops=n_flops, flops_input=f'{size[0]}x{size[1]}',
                flops_note=note)


def _score_one(name: str, pred: np.ndarray, mask_path: Path, pred_dir: Path | None,
               palette: list[int]) -> tuple[str, np.ndarray]:
    """Per-image work, off the model's path: read the ground truth, count, save the prediction (into ``pred_dir``)."""
    from PIL import Image

    gt = read_mask(mask_path)
    if gt.shape != pred.shape:
        raise EvaluationError(f'Mask {mask_path} is {gt.shape[1]}x{gt.shape[0]} but its image is '
                              f'{pred.shape[1]}x{pred.shape[0]}: masks must match their images. '
                              'Re-extract the dataset.')
    try:
        conf = confusion_matrix(pred, gt)
    except ValueError as exc:
        raise EvaluationError(f'Mask {mask_path}: {exc}. Masks must hold class indices 0..18 '
                              '(run python -m utils.data check).') from None
    if pred_dir is not None:
        img = Image.fromarray(pred, mode='P')
        img.putpalette(palette)
        img.save(pred_dir / f'{name}.png', compress_level=1)  # fast: a few ms less per image
    return name, conf


def evaluate(checkpoint: str | os.PathLike | OpenedCheckpoint, data_root: str | os.PathLike, split: str = 'val',
             tta: str | None = None, out_dir: str | os.PathLike | None = None, config: str | os.PathLike | None = None,
             batch_size: int = 8, save_masks: bool = True, flops: bool = True, device: str | None = None,
             progress: bool = True, segmenter=None, stems: Sequence[str] | None = None,
             class_bias: bool = True) -> EvalResult:
    """Predict every image of ``split`` with ``checkpoint`` (batched, AMP on GPU, optional TTA), score and save.

    Returns an :class:`EvalResult`; the files are written to ``out_dir`` (see the module docstring).
    ``checkpoint``: a path, or one opened by :func:`utils.core.checkpoints.open_checkpoint` (not read again); the summary
    names it by its SHA-256 (``checkpoint_sha256``), as submit's manifest does.
    ``tta=None``: the config's ``test_tta`` (``'flip'``, set once in ``configs/_base_/default_runtime.py``).
    ``segmenter``: a :class:`utils.core.inference.Segmenter` already loaded from ``checkpoint``, to reuse it
    (e.g. to compare TTA modes without reloading).
    ``stems``: score only these images of ``split`` (2025-26: ``split='train'`` and the holdout's stems).
    ``class_bias``: decode with the checkpoint's per-class biases when it has them (utils.core.bias); False scores
    plain argmax, so the two can be compared per class (``per_class['imgF']``).
    """
    from utils.core.checkpoints import checkpoint_identity, checkpoint_path
    from utils.core.inference import InferenceError, iter_predictions

    ck = checkpoint_path(checkpoint)
    files = split_files(data_root, split, stems)
    seg, tta = _segmenter_for(checkpoint, config, device, tta, segmenter)
    bias = getattr(seg, 'class_bias', None) if class_bias else None
    out = Path(out_dir) if out_dir is not None else default_out_dir(ck, split, tta, bias is not None)
    ident = checkpoint_identity(checkpoint, seg)  # the loaded model's own: the file is not read again
    complexity = _complexity(seg, out, ident, flops)
    out.mkdir(parents=True, exist_ok=True)
    if save_masks:
        (out / PRED_DIR).mkdir(exist_ok=True)
    masks = {img: (name, mask) for name, img, mask in files}
    acc = Accumulator()
    score_one = functools.partial(_score_one, pred_dir=out / PRED_DIR if save_masks else None, palette=pil_palette())

    start = time.perf_counter()
    pending: deque[Future] = deque()
    kept_bias = getattr(seg, 'class_bias', None)
    try:
        seg.class_bias = bias
        with ThreadPoolExecutor(2) as workers:  # PNG decode/encode and bincount overlap the next batch
            for path, pred in iter_predictions(seg, [f[1] for f in files], batch_size=batch_size, tta=tta,
                                               progress=progress, desc=f'evaluate {split} ({tta})'):
                name, mask_path = masks[path]
                pending.append(workers.submit(score_one, name, pred, mask_path))
                while len(pending) > 4 * batch_size:  # bounded: results are added in image order
                    acc.add_confusion(*pending.popleft().result())
            while pending:
                acc.add_confusion(*pending.popleft().result())
    except InferenceError as exc:
        raise EvaluationError(str(exc)) from exc
    finally:
        seg.class_bias = kept_bias  # a segmenter passed in keeps its biases for the next call
    seconds = time.perf_counter() - start
    summary = dict(format_version=FORMAT_VERSION, **ident,
                   config=str(config) if config is not None else 'stored in checkpoint',
                   data_root=str(Path(data_root).resolve()), split=split, tta=tta, **complexity, class_bias=bias,
                   holdout=stems is not None,
                   device=seg.device, amp=bool(seg.amp), batch_size=batch_size, seconds=round(seconds, 3),
                   images_per_second=round(len(files) / seconds, 3) if seconds > 0 else None,
                   created=time.strftime('%Y-%m-%d %H:%M:%S'), final_fit=_final_fit(ck, split))
    result = acc.result(summary, out_dir=out)
    save_result(result, out)
    return result


def _final_fit(checkpoint: Path, split: str) -> bool:
    """Whether the checkpoint's run is a final fit (its own record says so, whatever its folder is called); its val
    scores then measure images it was trained on, which a warning says."""
    from utils.plugins.record import is_final_fit

    final = is_final_fit(checkpoint)
    if final and split == 'val':
        warnings.warn(f'{checkpoint} is a final fit, trained on train + val: its val scores are NOT honest (they '
                      'measure images it was trained on).', stacklevel=3)
    return final


def save_result(result: EvalResult, out_dir: str | os.PathLike) -> Path:
    """Write summary.json, per_class.csv, confusion.csv and per_image.npz of ``result`` into ``out_dir``."""
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in result.summary.items()}
    confusion = pd.DataFrame(result.confusion, index=pd.Index(result.classes, name='gt \\ pred'),
                             columns=list(result.classes))
    areas = dict(zip(AREA_KEYS, result.areas()))

    def per_image(tmp: Path) -> None:
        with open(tmp, 'wb') as fh:  # a file object: numpy would add '.npz' to the temporary name
            np.savez_compressed(fh, names=np.array(result.names), classes=np.array(result.classes),
                                confusion=result.confusion, **areas)

    # each file replaced whole (utils.submit.common.write_atomic): a full Drive keeps the previous results
    write_json_atomic(out / SUMMARY_FILE, summary)
    write_atomic(out / PER_CLASS_FILE, lambda tmp: result.per_class.to_csv(tmp, float_format='%.6f'))
    write_atomic(out / CONFUSION_FILE, confusion.to_csv)
    write_atomic(out / PER_IMAGE_FILE, per_image)
    result.out_dir = out
    return out


def load_result(out_dir: str | os.PathLike, classes: Sequence[str] = CLASSES) -> EvalResult:
    """Read a results folder written by :func:`evaluate`; a folder from another dataset raises :class:`EvaluationError`."""
    out = Path(out_dir)
    summary_path, npz_path = out / SUMMARY_FILE, out / PER_IMAGE_FILE
    redo = f'Re-run `python -m utils.evaluate CHECKPOINT --data-root DIR --out {out}` to rebuild it.'
    for path in (summary_path, npz_path):
        if not path.is_file():
            raise EvaluationError(f'{path} not found: {out} is not a results folder of utils.evaluate. {redo}')
    try:
        summary = json.loads(summary_path.read_text())
        with np.load(npz_path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise EvaluationError(f'Cannot read {out}: {exc}. {redo}') from None
    saved = tuple(str(c) for c in summary.get('classes') or data.get('classes', []))
    if saved != tuple(classes):
        raise EvaluationError(f'{summary_path} was made for other classes ({list(saved)[:5]}...), not the '
                              f'{len(classes)} CelebAMask classes: it comes from another dataset. {redo}')
    missing = [k for k in ('names', *AREA_KEYS, 'confusion') if k not in data]
    if missing:
        raise EvaluationError(f'{npz_path} lacks {missing}. {redo}')
    n = len(data['names'])
    for k in AREA_KEYS:
        if data[k].shape != (n, len(classes)):
            raise EvaluationError(f'{npz_path}: {k} has shape {data[k].shape}, expected ({n}, {len(classes)}) for '
                                  f'{n} images x {len(classes)} classes; the file comes from another dataset or '
                                  f'is damaged. {redo}')
    if data['confusion'].shape != (len(classes),) * 2:
        raise EvaluationError(f'{npz_path}: confusion matrix has shape {data["confusion"].shape}, expected '
                              f'{len(classes)} x {len(classes)}. {redo}')
    return EvalResult(summary, [str(x) for x in data['names']], *(data[k].astype(np.int64) for k in AREA_KEYS),
                      confusion=data['confusion'].astype(np.int64), classes=tuple(classes), out_dir=out)


def format_report(result: EvalResult) -> str:
    """Plain-text per-class table and summary, for the terminal."""
    s = result.summary
    head = (f"{s.get('checkpoint')} on {s.get('split')} ({s.get('num_images')} images), TTA {s.get('tta')}\n"
            f"parameters {s.get('params'):,} | FLOPs "
            + (f"{s['flops'] / 1e9:.1f} G at {s.get('flops_input')}" if s.get('flops') else
               f"n/a ({s.get('flops_note')})"))
    table = result.per_class[list(PER_CLASS_KEYS)].round(2).assign(imgF=result.per_class['imgF'].round(4))
    table = table.to_string(na_rep='n/a')
    summ = ' | '.join(f'{k} {s[k]:.2f}' for k in SUMMARY_KEYS)
    if isinstance(s.get('imgF'), (int, float)):
        summ = f"imgF {s['imgF']:.4f} (per-image F, 0-1; {'with' if s.get('class_bias') else 'without'} class " \
               f'biases) | ' + summ
    return f'{head}\n{table}\n{summ}'


# --------------------------------------------------------------------------- command line
def _holdout_stems(path: str) -> list[str]:
    try:
        return [str(x) for x in json.loads(Path(path).read_text())['holdout']]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvaluationError(f'--holdout {path}: not a split.json with a holdout list ({type(exc).__name__}: '
                              f'{exc}); pass the split.json in the run\'s work_dir.') from None


def main(argv: list[str] | None = None) -> int:
    from utils.core.config import TTA_MODES

    p = argparse.ArgumentParser(prog='python -m utils.evaluate', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('checkpoint', help='a .pth checkpoint (iter_*.pth or best_*.pth)')
    p.add_argument('--config', help='config path or name (default: the config training wrote into the checkpoint\'s '
                                    'work_dir, else the one of the run\'s name in configs/; the text stored inside '
                                    'the checkpoint is never run)')
    p.add_argument('--data-root', required=True, help='dataset root in the course layout')
    p.add_argument('--split', default='val', help='labelled split to score (default: val)')
    p.add_argument('--tta', default=None, choices=TTA_MODES,
                   help="test-time augmentation (default: the config's test_tta, 'flip' = with the left/right swap; "
                        "'ms' = 3 scales x flip)")
    p.add_argument('--out', help='results folder (default: <checkpoint folder>/eval/<name>_<split>_<tta>)')
    p.add_argument('--batch-size', type=positive_int, default=8, help='images per forward pass (default 8)')
    p.add_argument('--no-masks', action='store_true', help='do not save the predicted masks')
    p.add_argument('--no-flops', action='store_true', help='skip the FLOP count')
    p.add_argument('--device', help="'cuda' or 'cpu' (default: cuda when available)")
    p.add_argument('--holdout', metavar='SPLIT_JSON',
                   help="2025-26: score the holdout of the run's split.json (its stems of train/) instead of --split")
    p.add_argument('--no-bias', action='store_true', help='decode with plain argmax, not the per-class biases')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)

    try:
        split, stems = (a.split, None) if a.holdout is None else ('train', _holdout_stems(a.holdout))
        result = evaluate(a.checkpoint, a.data_root, split=split, tta=a.tta, out_dir=a.out, config=a.config,
                          batch_size=a.batch_size, save_masks=not a.no_masks, flops=not a.no_flops, device=a.device,
                          stems=stems, class_bias=not a.no_bias)
    except Exception as exc:  # one message naming the file and the fix; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    print(format_report(result))
    print(f'results saved to {result.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
