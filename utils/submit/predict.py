"""Predict every test image into a masks folder: resumable, atomic PNGs, a manifest that never mixes two runs or
keeps a mask of an image that changed, and that lists the only files this tool may replace."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from utils.core.checkpoints import CheckpointLoadError, OpenedCheckpoint, UnsafeCheckpointError, open_checkpoint
from utils.core.inference import InferenceError, iter_predictions, read_image
from utils.base.layout import natural_key
from utils.submit.common import (MANIFEST, OWNER, TMP_MARK, SubmitError, _examples, check_masks_location, claim_masks_dir,
                                 image_fingerprint, image_size, list_images, mask_is_valid, mask_name, write_json_atomic,
                                 write_mask)


class UnreadableImagesError(SubmitError):
    """Some test images could not be read; all others were predicted (``.bad``, ``.result``)."""

    def __init__(self, message: str, bad: list[tuple[str, str]], result: PredictResult) -> None:
        super().__init__(message)
        self.bad, self.result = bad, result


@dataclass
class PredictResult:
    """What :func:`predict_folder` did: masks written and kept, why they were (re)predicted, unreadable images, speed."""

    masks_dir: Path
    images: int
    predicted: int
    skipped: int
    failed: list[tuple[str, str]]
    tta: str
    checkpoint: str
    seconds: float
    load_seconds: float = 0.0
    #: images whose bytes differ from those their kept mask was predicted from (so they were predicted again)
    changed: list[str] = field(default_factory=list)
    #: images with no mask of this model from an earlier run
    new: list[str] = field(default_factory=list)
    #: masks in the folder whose image is not in this run's image folder (never zipped)
    unused: list[str] = field(default_factory=list)

    @property
    def images_per_s(self) -> float:
        """Prediction throughput (model loading excluded), images per second."""
        return self.predicted / self.seconds if self.seconds > 0 else float('nan')

    def reasons(self) -> str:
        """Why images were predicted again and which masks are left out, e.g. '2 images changed since ...'."""
        parts = []
        if self.changed:
            parts.append(f'{len(self.changed)} images changed since their masks were predicted ({_examples(self.changed)})')
        if self.new:
            parts.append(f'{len(self.new)} new images ({_examples(self.new)})')
        if self.unused:
            parts.append(f'{len(self.unused)} masks of images no longer in the image folder are kept but not used '
                         f'({_examples(self.unused)})')
        return '; '.join(parts)

    def __str__(self) -> str:
        speed = f', {self.images_per_s:.1f} img/s' if self.predicted else ''
        why = self.reasons()
        return (f'{self.masks_dir}: {self.predicted} predicted, {self.skipped} kept from an earlier run, '
                f'{len(self.failed)} unreadable (tta={self.tta}{speed})' + (f'\n  {why}' if why else ''))


def _check_run(masks_dir: Path, old: dict | None, run: dict, overwrite: bool, replace_other_run: bool = False,
               progress: bool = False) -> None:
    """Refuse to add masks of this run to a folder of this tool that holds masks of another checkpoint or TTA
    (``replace_other_run``: say so and predict them all again instead)."""
    if overwrite or old is None or not old['masks']:
        return
    diffs = [f'{k}: {old.get(k)!r} there, {run[k]!r} now' for k in ('checkpoint_sha256', 'tta', 'config')
             if old.get(k) != run[k]]
    if diffs and replace_other_run:
        if progress:
            print(f'{masks_dir} holds the masks of another run ({old.get("checkpoint", "?")}, tta={old.get("tta")}): '
                  f'predicting every image again with {run["checkpoint"]} (tta={run["tta"]}).')
        return
    if diffs:
        raise SubmitError(f'{masks_dir} holds masks predicted with {old.get("checkpoint", "?")} (tta={old.get("tta")}); '
                          f'this run uses {run["checkpoint"]} (tta={run["tta"]}) [{"; ".join(diffs)}]. Mixing them '
                          f'would make a submission from two models. Pass --overwrite (overwrite=True) to predict '
                          f'every image again into {masks_dir} (only masks this tool wrote there are replaced), or '
                          'choose another folder with --masks-dir.')


def _plan(images: list[Path], masks_dir: Path, records: dict, overwrite: bool, sizes: dict,
          prints: dict) -> tuple[list[Path], list[str], list[str]]:
    """``(todo, changed, new)``: images whose mask must be predicted, and why (content changed, or no mask yet)."""
    if overwrite:
        return list(images), [], []
    todo: list[Path] = []
    changed: list[str] = []
    new: list[str] = []

    def kept(p: Path) -> bool:
        rec, now = records.get(mask_name(p)), prints[p]
        return (rec is not None and now is not None and rec.get('blake2b') == now['blake2b']
                and rec.get('bytes') == now['bytes'] and mask_is_valid(masks_dir / mask_name(p), sizes[p]))

    with ThreadPoolExecutor(4) as pool:
        ok = list(pool.map(kept, images))
    for p, good in zip(images, ok):
        if good:
            continue
        todo.append(p)
        rec = records.get(mask_name(p))
        if rec is not None and rec.get('blake2b') and prints[p] is not None and rec['blake2b'] != prints[p]['blake2b']:
            changed.append(p.name)
        elif rec is None or not rec.get('blake2b'):
            new.append(p.name)
    return todo, changed, new


def _robust_predictions(segmenter, paths: Sequence[Path], batch_size: int, tta: str
                        ) -> Iterator[tuple[Path, np.ndarray | None, str | None]]:
    """``(path, labels, None)`` per readable image and ``(path, None, reason)`` per unreadable one.

    :func:`utils.core.inference.iter_predictions` stops at the first unreadable file; here the batch
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


def _config_tta(opened: OpenedCheckpoint, segmenter: Any) -> str:
    """The ``test_tta`` of the loaded model's config, else of the checkpoint's config (parsed once, with the model)."""
    from utils.core.config import ConfigError, resolve_tta

    if segmenter is not None:  # a loaded model (a stand-in without a config gets the project's default)
        return resolve_tta(None, getattr(segmenter, 'cfg', None))
    try:
        return resolve_tta(None, opened.cfg)
    except ConfigError:  # no config found: loading the model says so (after the checkpoint itself is checked)
        return resolve_tta(None)


def _run_identity(opened: OpenedCheckpoint, config: Any, tta: str | None, segmenter: Any) -> tuple[dict, Any]:
    """What makes a mask this run's: the checkpoint (path and the SHA-256 of the bytes loaded), the TTA (named before
    any work when it is unknown) and the config; returns it with the config resolved to a file when a name was given."""
    from utils.core.config import ConfigError, resolve_config, resolve_tta

    try:
        tta = resolve_tta(tta) if tta is not None else _config_tta(opened, segmenter)
    except ConfigError as exc:
        raise SubmitError(str(exc)) from None
    if config is not None and not Path(config).is_file() and segmenter is None:
        config = resolve_config(config)  # a config name from configs/ is fine too
    return {**opened.identity, 'tta': tta, 'config': str(config) if config is not None else None}, config


def _open(checkpoint: str | os.PathLike | OpenedCheckpoint, config: Any) -> OpenedCheckpoint:
    """The checkpoint read once (:func:`utils.core.checkpoints.open_checkpoint`); one that cannot be unpickled is refused
    with what to do, before anything is written."""
    try:
        return open_checkpoint(checkpoint, config)
    except (CheckpointLoadError, UnsafeCheckpointError) as exc:
        raise _cannot_load(Path(checkpoint), exc) from exc


def _unreadable(failed: list[tuple[str, str]], n_images: int, masks_dir: Path, result: 'PredictResult'):
    """The error for images that could not be read: each named, the rest of the masks kept, no zip made."""
    listed = '\n'.join(f'  {reason}' for _, reason in failed[:10])
    more = f'\n  ... and {len(failed) - 10} more' if len(failed) > 10 else ''
    return UnreadableImagesError(
        f'{len(failed)} of {n_images} images could not be read, so they have no mask:\n{listed}{more}\n'
        f'The other {n_images - len(failed)} masks are in {masks_dir} and will not be predicted again. '
        'Replace the bad files (re-extract the test images; python -m utils.data check lists such files) '
        'and run the same command again. No zip was made: a missing mask would cost a submission.',
        failed, result)


def predict_folder(checkpoint: str | os.PathLike | OpenedCheckpoint, images_dir: str | os.PathLike, masks_dir: str | os.PathLike,
                   *, config: str | os.PathLike | None = None, tta: str | None = None, batch_size: int = 8,
                   overwrite: bool = False, replace_other_run: bool = False, device: str | None = None,
                   amp: bool | None = None, progress: bool = True, segmenter: Any = None) -> PredictResult:
    """Write ``<stem>.png`` into ``masks_dir`` for every test image, keeping valid masks of an earlier run.

    A mask is kept only when its image is byte for byte the one it was predicted from, by the same
    checkpoint and TTA (the manifest records each image's size and hash). Only files this tool wrote,
    as listed in ``masks_dir/manifest.json``, are ever replaced: a folder of other masks is refused.
    ``checkpoint``: a path, or one opened by :func:`utils.core.checkpoints.open_checkpoint` (not read again); the
    manifest names it by the SHA-256 of the bytes the model is loaded from.
    ``segmenter``: an already loaded :class:`utils.core.inference.Segmenter` for ``checkpoint`` (saves the
    loading time when predicting twice); by default the model is loaded only if a mask is missing.
    Raises :class:`UnreadableImagesError` after predicting all readable images if some are unreadable.
    ``tta=None``: the config's ``test_tta`` (one default for evaluate, submit and the notebooks).
    ``replace_other_run``: masks of another checkpoint or TTA in ``masks_dir`` are predicted again instead of
    refused (the notebooks set it: a changed ``CHECKPOINT`` or ``TTA`` means a new submission).
    """
    start = time.perf_counter()
    images = list_images(images_dir)
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    check_masks_location(masks_dir, images_dir)
    if batch_size < 1:
        raise SubmitError(f'--batch-size must be at least 1, got {batch_size}.')
    opened = _open(checkpoint, config)  # read, hashed and unpickled once: every step below uses this object
    checkpoint = opened.path
    run, config = _run_identity(opened, opened.config, tta, segmenter)
    tta = run['tta']
    old = claim_masks_dir(masks_dir)  # a folder this tool did not write is refused, whatever the flags
    _check_run(masks_dir, old, run, overwrite, replace_other_run, progress)
    records: dict[str, dict] = dict(old['masks']) if old else {}
    if old and any(old.get(k) != run[k] for k in ('checkpoint_sha256', 'tta', 'config')):
        records = {k: {'image': v.get('image')} for k, v in records.items()}  # another model's: never kept
    with ThreadPoolExecutor(4) as pool:
        prints = dict(zip(images, pool.map(image_fingerprint, images)))
        sizes = dict(zip(images, pool.map(image_size, images)))
    todo, changed, new = _plan(images, masks_dir, records, overwrite, sizes, prints)
    current = {mask_name(p) for p in images}
    unused = sorted((k for k in records if k not in current), key=natural_key)
    if progress and (changed or (new and len(todo) < len(images))):
        print(f'{len(todo)} of {len(images)} images to predict: ' + PredictResult(
            masks_dir, len(images), 0, 0, [], tta, str(checkpoint), 0.0, changed=changed, new=new).reasons())
    load_seconds = 0.0
    if todo and segmenter is None:  # load before anything is written: a bad checkpoint leaves no trace
        t0 = time.perf_counter()
        segmenter = _load_segmenter(opened, device, amp)
        load_seconds = time.perf_counter() - t0

    masks_dir.mkdir(parents=True, exist_ok=True)
    for stale in masks_dir.glob(f'.*{TMP_MARK}*'):  # leftovers of an interrupted run: never complete masks
        stale.unlink(missing_ok=True)
    for p in todo:  # ours from now on, but valid for no image until written (a crash leaves them pending)
        records[mask_name(p)] = {'image': p.name}
    manifest = dict(tool=OWNER, **run, images_dir=str(images_dir.resolve()), images=len(images),
                    status='running', updated=_now(), masks=records, zips=(old or {}).get('zips', {}))
    write_json_atomic(masks_dir / MANIFEST, manifest)

    failed: list[tuple[str, str]] = []
    t_predict = time.perf_counter()
    status = 'interrupted'
    try:
        if todo:
            failed = _predict_into(segmenter, todo, masks_dir, batch_size, tta, records, prints, manifest, progress)
        status = 'complete' if not failed else 'incomplete'
    finally:
        manifest.update(status=status, unreadable=[f for f, _ in failed], updated=_now())
        write_json_atomic(masks_dir / MANIFEST, manifest)
    seconds = time.perf_counter() - t_predict
    result = PredictResult(masks_dir=masks_dir, images=len(images), predicted=len(todo) - len(failed),
                           skipped=len(images) - len(todo), failed=failed, tta=tta, checkpoint=str(checkpoint),
                           seconds=seconds if todo else time.perf_counter() - start, load_seconds=load_seconds,
                           changed=changed, new=new, unused=unused)
    if failed:
        raise _unreadable(failed, len(images), masks_dir, result)
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec='seconds')


def _load_segmenter(opened: OpenedCheckpoint, device: str | None, amp: bool | None) -> Any:
    """The model of the opened checkpoint; weights that do not fit raise an error that says what to do."""
    from utils.core.checkpoints import CheckpointError
    from utils.core.inference import Segmenter

    try:
        return Segmenter.from_checkpoint(opened, device=device, amp=amp)  # with the config it was opened with
    except CheckpointError as exc:  # InferenceError (a config mismatch) already says what to do
        raise _cannot_load(opened.path, exc) from exc


def _cannot_load(checkpoint: Any, exc: Exception) -> SubmitError:
    text = str(exc).rstrip()
    text += '' if text.endswith('.') else '.'
    return SubmitError(f'Cannot load the checkpoint {checkpoint}: {text} Nothing was predicted: pass a complete '
                       'checkpoint that training wrote (e.g. work_dirs/<config>/best_mIoU_iter_*.pth), or copy '
                       'this one again if it was cut off.')


def _predict_into(segmenter: Any, todo: list[Path], masks_dir: Path, batch_size: int, tta: str, records: dict,
                  prints: dict, manifest: dict, progress: bool) -> list[tuple[str, str]]:
    """Predict ``todo`` into ``masks_dir``, recording each written mask's image in ``records``; the unreadable."""
    from tqdm.auto import tqdm

    failed: list[tuple[str, str]] = []
    bar = tqdm(total=len(todo), desc=f'predict (tta={tta})', unit='img', disable=not progress)
    pending: list[tuple[Future, Path]] = []
    flushed = time.monotonic()

    def settle(fut: Future, path: Path) -> None:
        fut.result()
        if prints[path] is not None:
            records[mask_name(path)] = dict(prints[path])

    try:
        with ThreadPoolExecutor(2) as writer:
            for path, labels, error in _robust_predictions(segmenter, todo, batch_size, tta):
                if error is not None:
                    failed.append((str(path), error))
                    bar.set_postfix(unreadable=len(failed))
                else:
                    pending.append((writer.submit(write_mask, labels, masks_dir / mask_name(path)), path))
                    while len(pending) > 64 or (pending and pending[0][0].done()):
                        settle(*pending.pop(0))
                if time.monotonic() - flushed > 5:  # a killed run keeps what it finished
                    manifest['updated'] = _now()
                    write_json_atomic(masks_dir / MANIFEST, manifest)
                    flushed = time.monotonic()
                bar.update()
            while pending:
                settle(*pending.pop(0))
    finally:  # interrupted: the writer has finished what it started; record the masks that were written
        for fut, path in pending:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                settle(fut, path)
        bar.close()
    return failed
