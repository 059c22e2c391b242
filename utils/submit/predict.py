"""Predict every test image into a masks folder: resumable, atomic PNGs, a manifest that never mixes two runs."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoints import check_checkpoint_file
from ..inference import TTA_MODES, InferenceError, iter_predictions, read_image
from .common import (MANIFEST, TMP_MARK, SubmitError, checkpoint_sha256, image_size, is_inside, list_images,
                     mask_is_valid, mask_name, write_json_atomic, write_mask)


class UnreadableImagesError(SubmitError):
    """Some test images could not be read; all others were predicted (``.bad``, ``.result``)."""

    def __init__(self, message: str, bad: list[tuple[str, str]], result: PredictResult) -> None:
        super().__init__(message)
        self.bad, self.result = bad, result


@dataclass
class PredictResult:
    """What :func:`predict_folder` did: masks written and kept, unreadable images, speed."""

    masks_dir: Path
    images: int
    predicted: int
    skipped: int
    failed: list[tuple[str, str]]
    tta: str
    checkpoint: str
    seconds: float
    load_seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        """Prediction throughput (model loading excluded), images per second."""
        return self.predicted / self.seconds if self.seconds > 0 else float('nan')

    def __str__(self) -> str:
        speed = f', {self.images_per_s:.1f} img/s' if self.predicted else ''
        return (f'{self.masks_dir}: {self.predicted} predicted, {self.skipped} kept from an earlier run, '
                f'{len(self.failed)} unreadable (tta={self.tta}{speed})')


def _read_manifest(masks_dir: Path) -> dict | None:
    path = masks_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _check_manifest(masks_dir: Path, run: dict, overwrite: bool) -> None:
    """Refuse to add masks of this run to a folder that holds masks of another checkpoint or TTA."""
    if overwrite or not masks_dir.is_dir():
        return
    old = _read_manifest(masks_dir)
    fix = (f'Pass --overwrite (overwrite=True) to predict every image again into {masks_dir}, '
           'or choose another folder with --masks-dir.')
    if old is None:
        pngs = [p.name for p in masks_dir.glob('*.png') if not p.name.startswith('.')]
        if pngs:
            raise SubmitError(f'{masks_dir} already holds {len(pngs)} PNG files (e.g. {pngs[0]}) but no {MANIFEST}, '
                              f'so which model made them is unknown. {fix}')
        return
    diffs = [f'{k}: {old.get(k)!r} there, {run[k]!r} now' for k in ('checkpoint_sha256', 'tta', 'config')
             if old.get(k) != run[k]]
    if diffs:
        where = old.get('checkpoint', '?')
        raise SubmitError(f'{masks_dir} holds masks predicted with {where} (tta={old.get("tta")}); this run uses '
                          f'{run["checkpoint"]} (tta={run["tta"]}) [{"; ".join(diffs)}]. Mixing them would make a '
                          f'submission from two models. {fix}')


def _robust_predictions(segmenter, paths: Sequence[Path], batch_size: int, tta: str
                        ) -> Iterator[tuple[Path, np.ndarray | None, str | None]]:
    """``(path, labels, None)`` per readable image and ``(path, None, reason)`` per unreadable one.

    :func:`utils.inference.iter_predictions` stops at the first unreadable file; here the batch
    that held it is redone image by image and the run goes on after it.
    """
    remaining = list(paths)
    while remaining:
        done = 0
        try:
            for path, labels in iter_predictions(segmenter, remaining, batch_size, tta, progress=False):
                done += 1
                yield path, labels, None
            return
        except InferenceError:
            batch = remaining[done:done + batch_size]  # batches before the failing one were all yielded
            good: list[tuple[Path, np.ndarray]] = []
            for p in batch:
                try:
                    good.append((p, read_image(p)))
                except InferenceError as exc:
                    yield p, None, str(exc)
            if good:
                for (p, _), labels in zip(good, segmenter.predict([im for _, im in good], tta)):
                    yield p, labels, None
            remaining = remaining[done + batch_size:]


def predict_folder(checkpoint: str | os.PathLike, images_dir: str | os.PathLike, masks_dir: str | os.PathLike,
                   *, config: str | os.PathLike | None = None, tta: str = 'none', batch_size: int = 8,
                   overwrite: bool = False, device: str | None = None, amp: bool | None = None,
                   progress: bool = True, segmenter: Any = None) -> PredictResult:
    """Write ``<stem>.png`` into ``masks_dir`` for every test image, keeping valid masks of an earlier run.

    ``segmenter``: an already loaded :class:`utils.inference.Segmenter` for ``checkpoint`` (saves the
    loading time when predicting twice); by default the model is loaded only if a mask is missing.
    Raises :class:`UnreadableImagesError` after predicting all readable images if some are unreadable.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    images = list_images(images_dir)
    images_dir, masks_dir, checkpoint = Path(images_dir), Path(masks_dir), Path(checkpoint)
    if is_inside(masks_dir, images_dir):
        raise SubmitError(f'The masks folder {masks_dir} is inside the image folder {images_dir}: its PNGs would be '
                          'taken for test images. Choose a folder outside it (--masks-dir or another --out).')
    if tta not in TTA_MODES:
        raise SubmitError(f'Unknown TTA {tta!r}: choose one of {", ".join(TTA_MODES)}.')
    if batch_size < 1:
        raise SubmitError(f'--batch-size must be at least 1, got {batch_size}.')
    check_checkpoint_file(checkpoint)
    if config is not None and not Path(config).is_file() and segmenter is None:
        from ..config import resolve_config

        config = resolve_config(config)  # a config name from configs/ is fine too
    run = {'checkpoint': str(checkpoint.resolve()), 'checkpoint_sha256': checkpoint_sha256(checkpoint), 'tta': tta,
           'config': str(config) if config is not None else None}
    _check_manifest(masks_dir, run, overwrite)
    masks_dir.mkdir(parents=True, exist_ok=True)
    for stale in masks_dir.glob(f'.*{TMP_MARK}*'):  # leftovers of an interrupted run: never complete masks
        stale.unlink(missing_ok=True)

    sizes = {p: image_size(p) for p in images}
    if overwrite:
        todo = list(images)
    else:
        with ThreadPoolExecutor(4) as pool:
            valid = list(pool.map(lambda p: mask_is_valid(masks_dir / mask_name(p), sizes[p]), images))
        todo = [p for p, ok in zip(images, valid) if not ok]
    manifest = dict(tool='utils.submit', **run, images_dir=str(images_dir.resolve()), images=len(images),
                    status='running', updated=datetime.now(UTC).isoformat(timespec='seconds'))
    write_json_atomic(masks_dir / MANIFEST, manifest)

    failed: list[tuple[str, str]] = []
    load_seconds = 0.0
    t_predict = time.perf_counter()
    if todo:
        if segmenter is None:
            from ..inference import Segmenter

            t0 = time.perf_counter()
            segmenter = Segmenter.from_checkpoint(checkpoint, config=config, device=device, amp=amp)
            load_seconds = time.perf_counter() - t0
        t_predict = time.perf_counter()
        bar = tqdm(total=len(todo), desc=f'predict (tta={tta})', unit='img', disable=not progress)
        pending: list[Future] = []
        try:
            with ThreadPoolExecutor(2) as writer:
                for path, labels, error in _robust_predictions(segmenter, todo, batch_size, tta):
                    if error is not None:
                        failed.append((str(path), error))
                        bar.set_postfix(unreadable=len(failed))
                    else:
                        pending.append(writer.submit(write_mask, labels, masks_dir / mask_name(path)))
                        if len(pending) > 64:
                            pending.pop(0).result()
                    bar.update()
                for fut in pending:
                    fut.result()
        finally:
            bar.close()
    seconds = time.perf_counter() - t_predict
    manifest.update(status='complete' if not failed else 'incomplete', unreadable=[f for f, _ in failed],
                    updated=datetime.now(UTC).isoformat(timespec='seconds'))
    write_json_atomic(masks_dir / MANIFEST, manifest)
    result = PredictResult(masks_dir=masks_dir, images=len(images), predicted=len(todo) - len(failed),
                           skipped=len(images) - len(todo), failed=failed, tta=tta, checkpoint=str(checkpoint),
                           seconds=seconds if todo else time.perf_counter() - start, load_seconds=load_seconds)
    if failed:
        listed = '\n'.join(f'  {reason}' for _, reason in failed[:10])
        more = f'\n  ... and {len(failed) - 10} more' if len(failed) > 10 else ''
        raise UnreadableImagesError(
            f'{len(failed)} of {len(images)} images could not be read, so they have no mask:\n{listed}{more}\n'
            f'The other {len(images) - len(failed)} masks are in {masks_dir} and will not be predicted again. '
            'Replace the bad files (re-extract the test images; python -m utils.data check lists such files) '
            'and run the same command again. No zip was made: a missing mask would cost a submission.',
            failed, result)
    return result
