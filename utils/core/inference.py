"""Load a trained model safely and predict label maps: batched, AMP on GPU, flip/multi-scale TTA with the L/R swap.

MMSeg's own flip TTA averages the flipped prediction as it is, which mixes left and right parts
(a flipped left eye looks like a right eye). Here the flipped prediction's class channels are
swapped (4<->5, 6<->7, 8<->9) before averaging, so TTA never confuses the two sides.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from utils.core import checkpoints
from utils.core.class_bias import decide, read_class_bias
from utils.core.config import resolve_tta
from utils.base.labels import CLASSES, NUM_CLASSES, flip_permutation
from utils.core.model import build_segmentor
from utils.base.layout import KnownError

MS_SCALES = (0.75, 1.0, 1.25)


def tta_views(tta: str) -> int:
    """Forward passes per image for a TTA mode: 1 (none), 2 (flip), 2 per scale of MS_SCALES (ms)."""
    return {'none': 1, 'flip': 2, 'ms': 2 * len(MS_SCALES)}[tta]


class InferenceError(KnownError, RuntimeError):
    """A model or an input cannot be used for prediction; the message says why and what to do."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as an RGB uint8 array, read the one way every input is (:func:`utils.base.imageio.read_image`: as
    stored, EXIF orientation ignored); a truncated, oversized or unreadable file raises :class:`InferenceError`."""
    from utils.base.imageio import ImageReadError, read_image as read_one_way

    try:
        return read_one_way(path)
    except ImageReadError as exc:
        raise InferenceError(str(exc)) from None


def _test_size(cfg) -> tuple[int, int]:
    """(height, width) the model was tested at: the test pipeline's Resize scale, else the preprocessor size."""
    pipelines = [cfg.get(k, {}).get('dataset', {}).get('pipeline') for k in ('test_dataloader', 'val_dataloader')]
    for step in next((p for p in pipelines + [cfg.get('test_pipeline')] if p), []):
        if step.get('type') == 'Resize' and step.get('scale'):
            w, h = step['scale']
            return int(h), int(w)
    size = cfg.model.get('data_preprocessor', {}).get('size') or (512, 512)
    return int(size[0]), int(size[1])


class Segmenter:
    """A face-parsing model ready to predict: weights, preprocessing, device and TTA in one object."""

    def __init__(self, model, cfg, device: str = 'cpu', amp: bool | None = None, channels_last: bool = False,
                 classes: Sequence[str] = CLASSES, class_bias: Sequence[float] | None = None) -> None:
        import torch

        #: per-class decoding biases (utils.core.bias): labels = argmax(log p + b); None = plain argmax
        self.class_bias = None if class_bias is None else [float(b) for b in class_bias]

        self.model, self.cfg, self.device = model.eval().to(device), cfg, device
        self.amp = (device.startswith('cuda')) if amp is None else bool(amp and device.startswith('cuda'))
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.classes = tuple(classes)
        self.num_classes = len(self.classes)
        self.test_size = _test_size(cfg)
        pre = cfg.model.get('data_preprocessor', {})
        self.mean = torch.tensor(pre.get('mean', [123.675, 116.28, 103.53]), device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(pre.get('std', [58.395, 57.12, 57.375]), device=device).view(1, 3, 1, 1)
        self.perm = torch.as_tensor(flip_permutation(), device=device)
        #: the checkpoint the weights came from (utils.core.checkpoints.checkpoint_identity); None when built otherwise
        self.checkpoint_identity: dict[str, str] | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_checkpoint(cls, checkpoint: str | os.PathLike | checkpoints.OpenedCheckpoint,
                        config: str | os.PathLike | None = None, device: str | None = None, amp: bool | None = None,
                        channels_last: bool = False) -> 'Segmenter':
        """Build the model from ``config`` and load the weights safely (nothing in the file is executed).

        ``checkpoint``: a path, or a checkpoint already opened by :func:`utils.core.checkpoints.open_checkpoint` (the
        file is then not read again). ``config=None``: the config file that training wrote next to the checkpoint
        (in this project's own marked work_dir), else the config of the same name in ``configs/`` (see
        :func:`utils.core.checkpoints.config_for_checkpoint`). The text a checkpoint stores is never run.
        """
        import torch

        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        opened = checkpoints.open_checkpoint(checkpoint, config)
        meta = opened.meta
        classes = tuple((meta.get('dataset_meta') or {}).get('classes') or CLASSES)
        if classes != CLASSES:
            raise InferenceError(f'{opened.path} was trained on another dataset (classes {list(classes)[:5]}...); '
                                 f'this project predicts the {NUM_CLASSES} CelebAMask classes.')
        cfg = opened.cfg
        model = build_segmentor(cfg)
        load_weights(model, opened.state_dict(), str(opened.path))
        seg = cls(model, cfg, device=device, amp=amp, channels_last=channels_last, classes=classes,
                  class_bias=read_class_bias(opened.path, meta))
        seg.checkpoint_identity = opened.identity
        return seg

    # ------------------------------------------------------------------ prediction
    def _to_tensor(self, images: Sequence[np.ndarray], size: tuple[int, int]):
        import torch
        import torch.nn.functional as F

        batch = []
        for img in images:
            t = torch.from_numpy(np.ascontiguousarray(img)).to(self.device).permute(2, 0, 1)[None].float()
            if tuple(t.shape[-2:]) != size:
                t = F.interpolate(t, size=size, mode='bilinear', align_corners=False)
            batch.append(t)
        x = (torch.cat(batch) - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _logits(self, x):
        import torch

        metas = [dict(img_shape=tuple(x.shape[-2:]), ori_shape=tuple(x.shape[-2:]),
                      pad_shape=tuple(x.shape[-2:]))] * x.shape[0]
        with torch.autocast('cuda', dtype=torch.float16, enabled=self.amp):
            return self.model.encode_decode(x, metas).float()

    def predict_proba(self, images: Sequence[np.ndarray], tta: str = 'none',
                      scales: Sequence[float] = MS_SCALES):
        """Class probabilities (N x C x H x W torch tensor at the first image's size) averaged over the TTA views."""
        import torch
        import torch.nn.functional as F

        resolve_tta(tta)  # a mode outside TTA_MODES names the choices
        shapes = {img.shape[:2] for img in images}
        if len(shapes) != 1:
            raise InferenceError('predict_proba needs images of one size; use predict() for mixed sizes.')
        out_size = shapes.pop()
        base_h, base_w = self.test_size
        views = [(1.0, False)]
        if tta == 'flip':
            views.append((1.0, True))
        elif tta == 'ms':
            views = [(s, f) for s in scales for f in (False, True)]
        total = None
        with torch.no_grad():
            for scale, flip in views:
                size = (max(8, int(round(base_h * scale / 8)) * 8), max(8, int(round(base_w * scale / 8)) * 8))
                x = self._to_tensor(images, size)
                if flip:
                    x = x.flip(-1)
                logits = self._logits(x)
                if flip:
                    logits = logits.flip(-1)[:, self.perm]  # channel c <- the flipped view's mirror class
                logits = F.interpolate(logits, size=out_size, mode='bilinear', align_corners=False)
                prob = logits.softmax(dim=1)
                total = prob if total is None else total + prob
        return total / len(views)

    def predict(self, images: Sequence[np.ndarray], tta: str = 'none') -> list[np.ndarray]:
        """Label maps (uint8, each at its own image's size) for RGB uint8 ``images``; the class biases of the
        checkpoint (``self.class_bias``, utils.core.bias) shift the decision when it has them."""
        out: list[np.ndarray | None] = [None] * len(images)
        by_shape: dict[tuple, list[int]] = {}
        for i, img in enumerate(images):
            if img.ndim != 3 or img.shape[2] != 3:
                raise InferenceError(f'Expected an RGB image (H x W x 3), got shape {img.shape}.')
            by_shape.setdefault(img.shape[:2], []).append(i)
        for idx in by_shape.values():
            prob = self.predict_proba([images[i] for i in idx], tta)
            labels = decide(prob, self.class_bias).to('cpu', non_blocking=False).numpy().astype(np.uint8)
            for j, i in enumerate(idx):
                out[i] = labels[j]
        return out  # type: ignore[return-value]


def load_weights(model, state: dict, source: str = '<checkpoint>') -> None:
    """Load ``state`` into ``model``; a class-count or architecture mismatch raises :class:`InferenceError`."""
    own = model.state_dict()
    head_key = 'decode_head.conv_seg.weight'
    if head_key in state and head_key in own and state[head_key].shape[0] != own[head_key].shape[0]:
        raise InferenceError(f'{source} predicts {state[head_key].shape[0]} classes but the config builds a '
                             f'{own[head_key].shape[0]}-class head: use the config the checkpoint was trained '
                             f'with, or a checkpoint trained on the {NUM_CLASSES} CelebAMask classes.')
    ignore = ('auxiliary_head.',)  # the auxiliary head only matters for training
    missing = [k for k in own if k not in state and not k.startswith(ignore)]
    unexpected = [k for k in state if k not in own and not k.startswith(ignore)]
    wrong = [k for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        raise InferenceError(
            f'{source} does not match the config\'s model: {len(missing)} missing weights (e.g. {missing[:2]}), '
            f'{len(unexpected)} unexpected (e.g. {unexpected[:2]}), {len(wrong)} of another shape (e.g. '
            f'{wrong[:2]}). Pass the config this checkpoint was trained with (--config).')
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


def iter_predictions(segmenter: Segmenter, paths: Iterable[str | os.PathLike], batch_size: int = 8,
                     tta: str = 'none', progress: bool = True, desc: str = 'predict') -> Iterator[tuple[Path, np.ndarray]]:
    """Yield ``(path, label map)`` for image files, reading the next batch while the current one runs."""
    from tqdm.auto import tqdm

    paths = [Path(p) for p in paths]
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    bar = tqdm(total=len(paths), desc=desc, unit='img', disable=not progress)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pending = pool.submit(lambda b: [read_image(p) for p in b], batches[0]) if batches else None
        for k, batch in enumerate(batches):
            images = pending.result()
            if k + 1 < len(batches):
                pending = pool.submit(lambda b: [read_image(p) for p in b], batches[k + 1])
            for path, labels in zip(batch, segmenter.predict(images, tta)):
                yield path, labels
            bar.update(len(batch))
    bar.close()
