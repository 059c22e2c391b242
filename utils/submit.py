"""Predict the test images and build a validated leaderboard zip; check, score, preview and download it.

    python -m utils.submit CHECKPOINT --images DIR --out submission.zip [--tta none|flip|ms] [--batch-size 8]
    python -m utils.submit check submission.zip --images DIR [--reference VAL_MASK_DIR] [--strict]
    python -m utils.submit score submission.zip --masks TEST_MASK_DIR      # data with masks (synthetic)

``predict`` (the default action) writes one 8-bit palette PNG per test image (``100.jpg`` ->
``100.png``, same size, labels 0..18, CelebAMask colours) into ``<zip stem>_masks/``, then zips them
inside one folder and checks the zip before it is moved into place. It is resumable: each PNG is
written under a temporary name and renamed when complete, finished masks are kept on the next run
(``--overwrite`` predicts all again), and ``manifest.json`` in the masks folder records the
checkpoint (SHA-256) and TTA so that masks of two models are never mixed. Unreadable images are
listed after all the others are predicted, and the run fails: a missing mask costs a submission.

What the checker fails and what it only warns about:

* FAIL (the scorer would reject the zip or mis-score it): not a zip / empty zip / corrupt entry;
  masks not in exactly one folder (files at the top level, nested folders, two folders); junk such
  as ``__MACOSX`` or ``.DS_Store``; a missing mask; an extra or wrongly named file; a file that is not
  a PNG; more than one channel (RGB: the scorer's ``np.array(Image.open(f))`` would be H x W x 3);
  a size other than the image's; values outside 0..18.
* WARN (a valid submission that would score badly; ``strict=True``/``--strict`` makes these fail):
  masks of a single class (e.g. all background), face classes that no mask predicts, a left/right
  pair where one side has almost vanished, and, given the val ground truth as ``reference``, classes
  whose pixel share fell below a tenth of the reference share. A smoke model trained for a few
  iterations predicts all background: its zip is still a well-formed submission, hence warnings.

Scoring uses the leaderboard's (and MMSeg's) formula: intersection and union per class summed over
the whole set, IoU = I / U, mIoU = mean over the classes with a non-empty union.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from .compat import CheckpointError, check_checkpoint_file
from .inference import TTA_MODES, InferenceError, iter_predictions, read_image
from .labels import CLASSES, FLIP_PAIRS, NUM_CLASSES, PALETTE, colorize, pil_palette
from .layout import natural_key
from .report import FAIL, PASS, WARN, Check, Report, check_files, cli_error

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
MANIFEST = 'manifest.json'
#: Face parts that (nearly) every CelebAMask test face shows; a set of predictions without one is suspect.
CORE_CLASSES = tuple(CLASSES.index(c) for c in ('skin', 'nose', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
                                                 'u_lip', 'l_lip'))
_JUNK_NAMES = {'.DS_Store', 'Thumbs.db', 'desktop.ini'}
_TMP_MARK = '.part-'


class SubmitError(Exception):
    """A problem with the user's input or output paths; the message names the file and the fix."""


class UnreadableImagesError(SubmitError):
    """Some test images could not be read; all others were predicted (``.bad``, ``.result``)."""

    def __init__(self, message: str, bad: list[tuple[str, str]], result: PredictResult) -> None:
        super().__init__(message)
        self.bad, self.result = bad, result


class SubmissionCheckError(SubmitError):
    """The freshly built zip failed its check; ``.report`` says why. No zip was written."""

    def __init__(self, message: str, report: SubmissionReport) -> None:
        super().__init__(message)
        self.report = report


# --------------------------------------------------------------------------- small helpers
def list_images(images_dir: str | os.PathLike) -> list[Path]:
    """Test images in ``images_dir`` (jpg/jpeg/png/bmp, hidden files ignored) in natural order."""
    folder = Path(images_dir)
    if not folder.is_dir():
        raise SubmitError(f'Image folder not found: {folder}. Pass the test images, e.g. '
                          '--images data/celebamask/test/test_image.')
    paths = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith('.')
                    and p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: natural_key(p.name))
    if not paths:
        raise SubmitError(f'No images in {folder} (looked for {", ".join(IMAGE_SUFFIXES)}). Point --images '
                          'at the folder that holds the test images (test/test_image).')
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems:
            raise SubmitError(f'{stems[p.stem].name} and {p.name} in {folder} would both give {p.stem}.png: '
                              'keep one of them.')
        stems[p.stem] = p
    return paths


def mask_name(image: str | os.PathLike) -> str:
    """The leaderboard's name for the mask of ``image``: ``100.jpg`` -> ``100.png``."""
    return f'{Path(image).stem}.png'


def default_masks_dir(out_zip: str | os.PathLike) -> Path:
    """``<zip folder>/<zip stem>_masks``, where predicted masks are kept between runs."""
    out_zip = Path(out_zip)
    return out_zip.with_name(f'{out_zip.stem}_masks')


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of an image from its header, or None when it cannot be opened."""
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - any unreadable image has no size; read_image reports why
        return None


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


_SHA_CACHE: dict[tuple, str] = {}


def _checkpoint_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = file_sha256(path)
    return _SHA_CACHE[key]


def _human_bytes(n: float) -> str:
    for unit in ('B', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n:.1f} GB'


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f'.{path.name}{_TMP_MARK}{os.getpid()}')
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def write_mask(labels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a label map as an 8-bit palette PNG, atomically (a temporary name, renamed when complete)."""
    path = Path(path)
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype != np.uint8 or (labels.size and int(labels.max()) >= NUM_CLASSES):
        raise ValueError(f'{path.name}: expected an H x W uint8 label map with values 0..{NUM_CLASSES - 1}, got '
                         f'{labels.dtype} {labels.shape} max {labels.max() if labels.size else None}.')
    img = Image.fromarray(np.ascontiguousarray(labels))
    img.putpalette(pil_palette())  # mode L -> P: indices stay the labels, colours are for people
    tmp = path.with_name(f'.{path.name}{_TMP_MARK}{os.getpid()}-{id(labels):x}')
    try:
        img.save(tmp, format='PNG', compress_level=1)  # fast; the zip compresses again anyway
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def mask_is_valid(path: str | os.PathLike, size: tuple[int, int] | None) -> bool:
    """True when ``path`` is a complete single-channel PNG of ``size`` (w, h) with values 0..18."""
    try:
        with Image.open(path) as im:
            if im.format != 'PNG' or im.mode not in ('P', 'L') or (size is not None and im.size != tuple(size)):
                return False
            arr = np.asarray(im)
        return arr.size > 0 and int(arr.max()) < NUM_CLASSES
    except Exception:  # noqa: BLE001 - a mask that cannot be read is simply predicted again
        return False


# --------------------------------------------------------------------------- prediction
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
    if _is_inside(masks_dir, images_dir):
        raise SubmitError(f'The masks folder {masks_dir} is inside the image folder {images_dir}: its PNGs would be '
                          'taken for test images. Choose a folder outside it (--masks-dir or another --out).')
    if tta not in TTA_MODES:
        raise SubmitError(f'Unknown TTA {tta!r}: choose one of {", ".join(TTA_MODES)}.')
    if batch_size < 1:
        raise SubmitError(f'--batch-size must be at least 1, got {batch_size}.')
    check_checkpoint_file(checkpoint)
    if config is not None and not Path(config).is_file() and segmenter is None:
        from .train import resolve_config

        config = resolve_config(config)  # a config name from configs/ is fine too
    run = {'checkpoint': str(checkpoint.resolve()), 'checkpoint_sha256': _checkpoint_sha256(checkpoint), 'tta': tta,
           'config': str(config) if config is not None else None}
    _check_manifest(masks_dir, run, overwrite)
    masks_dir.mkdir(parents=True, exist_ok=True)
    for stale in masks_dir.glob(f'.*{_TMP_MARK}*'):  # leftovers of an interrupted run: never complete masks
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
    _write_json_atomic(masks_dir / MANIFEST, manifest)

    failed: list[tuple[str, str]] = []
    load_seconds = 0.0
    t_predict = time.perf_counter()
    if todo:
        if segmenter is None:
            from .inference import Segmenter

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
    _write_json_atomic(masks_dir / MANIFEST, manifest)
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


# --------------------------------------------------------------------------- reading a submission
class _Masks:
    """Uniform access to the masks of a zip or a folder: entry names and their bytes."""

    def __init__(self, source: str | os.PathLike) -> None:
        self.path = Path(source)
        self.zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.entries = sorted(p.name + ('/' if p.is_dir() else '') for p in self.path.iterdir()
                                  if p.name != MANIFEST and not p.name.startswith('.'))
        elif self.path.is_file():
            self.zip = zipfile.ZipFile(self.path)  # BadZipFile is handled by the caller
            self.entries = self.zip.namelist()
        else:
            raise SubmitError(f'Not found: {self.path}. Pass the submission zip (or a folder of masks).')

    def read(self, name: str) -> bytes:
        return self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def mask_files(self) -> dict[str, str]:
        """``file name -> entry`` for the PNG files at mask depth (inside the one folder of a zip)."""
        depth = 2 if self.zip is not None else 1
        out: dict[str, str] = {}
        for e in self.entries:
            parts = [p for p in e.split('/') if p]
            if not e.endswith('/') and len(parts) == depth and not _is_junk(parts):
                out.setdefault(parts[-1], e)
        return out


def _is_junk(parts: Sequence[str]) -> bool:
    return any(p == '__MACOSX' or p.startswith('._') or p in _JUNK_NAMES for p in parts) or parts[-1].startswith('.')


def _open_masks(source: Any) -> _Masks:
    if isinstance(source, SubmissionResult):
        source = source.zip_path
    return _Masks(source)


# --------------------------------------------------------------------------- checking
@dataclass
class SubmissionReport(Report):
    """Result of :func:`check_submission`: ``.ok``, ``.problems``, ``.warnings``, ``.to_frame()``; a table in
    Jupyter."""

    source: Path
    images: int
    masks: int
    results: list[Check]
    class_counts: np.ndarray
    seconds: float
    fail_note: ClassVar[str] = ': do not upload this zip'

    def _heading(self) -> list[str]:
        return [f'submission check: {self.source} ({self.masks} masks for {self.images} images)']

    def _html_heading(self) -> str:
        return f'{self.source} ({self.masks} masks for {self.images} images, {self.seconds:.1f} s)'


def class_counts(source: Any, progress: bool = False) -> np.ndarray:
    """Pixels per class (length 19) over all masks of a zip, a masks folder or a ground-truth folder."""
    from tqdm.auto import tqdm

    masks = _open_masks(source)
    try:
        counts = np.zeros(NUM_CLASSES, dtype=np.int64)
        for entry in tqdm(list(masks.mask_files().values()), desc='count classes', unit='mask', disable=not progress):
            arr = np.asarray(Image.open(io.BytesIO(masks.read(entry))))
            if arr.ndim == 2:
                counts += np.bincount(arr.ravel(), minlength=256)[:NUM_CLASSES]
        return counts
    finally:
        masks.close()


def _reference_counts(reference: Any) -> np.ndarray | None:
    if reference is None:
        return None
    if isinstance(reference, (str, os.PathLike)):
        return class_counts(reference)
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (NUM_CLASSES,):
        raise SubmitError(f'reference must be a folder of ground-truth masks or {NUM_CLASSES} class counts.')
    return ref


def _content_checks(counts: np.ndarray, single: list[str], n_masks: int, reference: np.ndarray | None,
                    status: str) -> list[Check]:
    total = counts.sum()
    out = [check_files('no empty masks', single, 'every mask has more than one class',
                       '{n} masks hold a single class (e.g. all background)',
                       'A face parser predicts several parts per face: look at these images and at preview_grid(); '
                       'a model trained for a few iterations only (smoke mode) predicts all background.', status)]
    share = counts / total if total else np.zeros(NUM_CLASSES)
    issues: list[str] = []
    if total:
        issues += [f'{CLASSES[c]}: predicted nowhere' for c in CORE_CLASSES if counts[c] == 0]
        for a, b in FLIP_PAIRS:
            lo, hi = sorted((counts[a], counts[b]))
            if hi > 0.001 * total and lo < 0.25 * hi:
                issues.append(f'{CLASSES[a]}/{CLASSES[b]}: {counts[a]} vs {counts[b]} pixels (left/right collapse)')
        if reference is not None and reference.sum() > 0:
            ref = reference / reference.sum()
            for c in range(NUM_CLASSES):
                if ref[c] >= 0.001 and share[c] < 0.1 * ref[c] and counts[c] > 0:
                    issues.append(f'{CLASSES[c]}: {100 * share[c]:.3f}% of pixels vs {100 * ref[c]:.3f}% '
                                  'in the reference')
    out.append(check_files('class distribution', issues, 'no class collapsed' + (' (compared with the reference)'
                                                                                if reference is not None else ''),
                           '{n} classes look collapsed',
                           'Compare class_histogram(zip, reference=val masks); a plain flip TTA or a wrong checkpoint '
                           'collapses classes.', status))
    return out


def check_submission(source: Any, images_dir: str | os.PathLike, *, reference: Any = None, strict: bool = False,
                     progress: bool = True) -> SubmissionReport:
    """Check a submission zip (or a folder of masks) against the test images; see the module docstring.

    ``reference``: ground-truth masks (e.g. ``val/val_mask``) or 19 class counts, for the collapse check.
    ``strict``: content warnings (single-class masks, collapsed classes) fail the check.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    images = list_images(images_dir)
    expected = {mask_name(p): p for p in images}
    src = source.zip_path if isinstance(source, SubmissionResult) else Path(source)
    results: list[Check] = []

    def report(masks: int = 0, counts: np.ndarray | None = None) -> SubmissionReport:
        return SubmissionReport(src, len(images), masks, results,
                                counts if counts is not None else np.zeros(NUM_CLASSES, np.int64),
                                time.perf_counter() - t0)

    try:
        masks = _open_masks(src)
    except zipfile.BadZipFile as exc:
        results.append(Check('zip file', FAIL, f'not a zip archive ({exc})', [src.name],
                             'Build the zip with make_submission() or python -m utils.submit; re-download it if '
                             'it was copied.'))
        return report()
    try:
        is_zip = masks.zip is not None
        files = [e for e in masks.entries if not e.endswith('/')]
        if is_zip:
            bad_crc = None
            if files:
                try:
                    bad_crc = masks.zip.testzip()
                except Exception as exc:  # noqa: BLE001 - unsupported compression, truncated archive
                    bad_crc = f'{files[0]} ({exc})'
            dupes = sorted({e for e in files if files.count(e) > 1}) if len(set(files)) != len(files) else []
            problems = ([] if files else [src.name]) + ([bad_crc] if bad_crc else []) + dupes
            summary = ('the zip holds no files' if not files else f'corrupt entry {bad_crc}' if bad_crc
                       else f'{len(dupes)} names appear twice' if dupes else f'{len(files)} files, readable')
            results.append(Check('zip file', FAIL if problems else PASS, summary, problems,
                                 'Rebuild the zip with make_submission() / python -m utils.submit.'
                                 if problems else ''))
            if not files:
                return report()
        junk = [e for e in files if _is_junk([p for p in e.split('/') if p])]
        results.append(check_files('no junk files', junk, 'no __MACOSX, .DS_Store or hidden files', '{n} junk files',
                                   'Zip the masks with make_submission() instead of the Finder/Explorer; '
                                   'or delete them with: zip -d ZIP "__MACOSX/*" "*.DS_Store"'))
        real = [e for e in files if e not in junk]
        if is_zip:
            tops = sorted({e.split('/')[0] for e in real if '/' in e})
            misplaced = [e for e in real if len([p for p in e.split('/') if p]) != 2]
            if len(tops) > 1:
                main = max(tops, key=lambda t: sum(e.startswith(t + '/') for e in real))
                misplaced += [e for e in real if e.split('/')[0] != main and e not in misplaced]
            results.append(check_files('one folder', sorted(misplaced),
                                       f'all masks in the folder {tops[0]}/' if tops else 'all masks in one folder',
                                       '{n} files are not directly inside one folder (top level, nested or a second '
                                       'folder)', 'Put all masks directly into one folder, e.g. submission/100.png.'))
        else:
            subdirs = [e for e in masks.entries if e.endswith('/')]
            results.append(check_files('one folder', subdirs, 'no sub-folders', '{n} sub-folders',
                                       'Keep only the masks in the folder.'))
        present = masks.mask_files()
        if is_zip and len({e.split('/')[0] for e in present.values()}) > 1:
            main = max(tops, key=lambda t: sum(e.startswith(t + '/') for e in present.values()))
            present = {k: v for k, v in present.items() if v.startswith(main + '/')}
        missing = [n for n in expected if n not in present]
        extra = sorted(set(present) - set(expected), key=natural_key)
        results.append(check_files('all masks present', missing, f'{len(expected)} masks, one per image',
                                   '{n} images have no mask', 'Predict them (python -m utils.submit ... resumes and '
                                                              'only predicts what is missing).'))
        stems = {Path(n).stem.lower(): n for n in missing}
        hints = [f'{present[e]} (expected {stems[e.split(".")[0].lower()]})'
                 if e.split('.')[0].lower() in stems else present[e] for e in extra]
        results.append(check_files('no extra files', hints, 'no file without a test image',
                                   '{n} files are not <image name>.png of a test image',
                                   'Name each mask like its image with .png: 100.jpg -> 100.png; remove other files.'))

        not_png, multi, wrong_size, out_of_range, single = [], [], [], [], []
        bad_values: set[int] = set()
        counts = np.zeros(NUM_CLASSES, dtype=np.int64)
        checked = 0
        for name in tqdm([n for n in expected if n in present], desc='check masks', unit='mask',
                         disable=not progress):
            entry = present[name]
            try:
                with Image.open(io.BytesIO(masks.read(entry))) as im:
                    fmt, mode, size = im.format, im.mode, im.size
                    arr = np.asarray(im)
            except Exception as exc:  # noqa: BLE001 - any decode failure is a finding, not a crash
                not_png.append(f'{entry} ({type(exc).__name__})')
                continue
            checked += 1
            if fmt != 'PNG':
                not_png.append(f'{entry} ({fmt})')
            if mode not in ('P', 'L') or arr.ndim != 2:
                multi.append(f'{entry} (mode {mode}, {"x".join(map(str, arr.shape))})')
                continue
            want = image_size(expected[name])
            if want is not None and size != want:
                wrong_size.append(f'{entry} ({size[0]}x{size[1]}, image {want[0]}x{want[1]})')
            hist = np.bincount(arr.ravel(), minlength=256)
            high = np.nonzero(hist[NUM_CLASSES:])[0] + NUM_CLASSES
            if high.size:
                out_of_range.append(f'{entry} (values {", ".join(map(str, high[:4]))})')
                bad_values.update(int(v) for v in high)
            counts += hist[:NUM_CLASSES]
            if np.count_nonzero(hist) == 1:
                top = int(np.argmax(hist))
                single.append(f'{entry} (all {CLASSES[top] if top < NUM_CLASSES else top})')

        results.append(check_files('PNG files', not_png, 'every mask is a readable PNG',
                                   '{n} masks are not readable PNGs',
                                   'Write masks with write_mask() / PIL as PNG; re-run the prediction for these.'))
        results.append(check_files('single channel', multi, 'every mask is 8-bit single channel (mode P or L)',
                                   '{n} masks have several channels (the scorer would read H x W x 3)',
                                   'Save label indices, not colours: a palette PNG (mode P) or mode L; for colour '
                                   'masks use python -m utils.data fix-rgb.'))
        results.append(check_files('sizes', wrong_size, 'every mask has its image\'s size', '{n} masks differ in size',
                                   'Predict at the image\'s size (utils.inference resizes back with the model); '
                                   'never crop or pad the masks.'))
        vals = ', '.join(map(str, sorted(bad_values)[:6]))
        results.append(check_files('values 0..18', out_of_range, f'all labels in 0..{NUM_CLASSES - 1}',
                                   '{n} masks hold values outside 0..18' + (f' ({vals})' if vals else ''),
                                   'Labels are class indices 0..18: 255 (ignore) or 19+ mean a wrong label map.'))
        ref = _reference_counts(reference)
        results += _content_checks(counts, single, checked, ref, FAIL if strict else WARN)
        return report(len(present), counts)
    finally:
        masks.close()


# --------------------------------------------------------------------------- zipping
@dataclass
class SubmissionResult:
    """A finished submission: the zip (size, SHA-256), its masks folder, the prediction and the check."""

    zip_path: Path
    masks_dir: Path
    folder: str
    masks: int
    bytes: int
    sha256: str
    prediction: PredictResult
    report: SubmissionReport

    def __str__(self) -> str:
        return (f'{self.zip_path}: {self.masks} masks in {self.folder}/, {_human_bytes(self.bytes)}, '
                f'sha256 {self.sha256}; check {self.report.verdict}'
                f'{f" with {len(self.report.warnings)} warnings" if self.report.warnings else ""}\n'
                f'  {self.prediction}')

    def _repr_html_(self) -> str:
        return (f'<p><b>{self.zip_path}</b>: {self.masks} masks in <code>{self.folder}/</code>, '
                f'{_human_bytes(self.bytes)}, SHA-256 <code>{self.sha256}</code><br>{self.prediction}</p>'
                + self.report._repr_html_())


def zip_masks(masks_dir: str | os.PathLike, images: Sequence[str | os.PathLike], out_zip: str | os.PathLike,
              folder: str) -> Path:
    """Zip ``<stem>.png`` of each image from ``masks_dir`` into ``out_zip`` under ``folder/`` (no other files)."""
    out_zip, masks_dir = Path(out_zip), Path(masks_dir)
    with zipfile.ZipFile(out_zip, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for img in images:
            zf.write(masks_dir / mask_name(img), f'{folder}/{mask_name(img)}')
    return out_zip


def make_submission(checkpoint: str | os.PathLike, images_dir: str | os.PathLike,
                    out_zip: str | os.PathLike = 'submission.zip', *, config: str | os.PathLike | None = None,
                    tta: str = 'none', batch_size: int = 8, masks_dir: str | os.PathLike | None = None,
                    folder: str | None = None, overwrite: bool = False, reference: Any = None, strict: bool = False,
                    device: str | None = None, amp: bool | None = None, progress: bool = True,
                    segmenter: Any = None) -> SubmissionResult:
    """Predict every test image, zip the masks in one folder, check the zip, then move it to ``out_zip``.

    ``folder``: the folder inside the zip (default: the zip's stem). The zip only appears at
    ``out_zip`` once it has passed :func:`check_submission`; otherwise :class:`SubmissionCheckError`.
    """
    out_zip, images_dir = Path(out_zip), Path(images_dir)
    if out_zip.suffix.lower() != '.zip':
        raise SubmitError(f'--out {out_zip}: the submission must be a .zip file, e.g. submission.zip.')
    if _is_inside(out_zip, images_dir):
        raise SubmitError(f'The zip {out_zip} would be written inside the image folder {images_dir}; write it '
                          'elsewhere, e.g. --out submission.zip.')
    masks_dir = Path(masks_dir) if masks_dir is not None else default_masks_dir(out_zip)
    folder = folder or out_zip.stem
    if not folder or '/' in folder or '\\' in folder or folder.startswith('.'):
        raise SubmitError(f'folder {folder!r}: give one plain folder name for the masks inside the zip.')
    prediction = predict_folder(checkpoint, images_dir, masks_dir, config=config, tta=tta, batch_size=batch_size,
                                overwrite=overwrite, device=device, amp=amp, progress=progress, segmenter=segmenter)
    images = list_images(images_dir)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f'.{out_zip.stem}.', suffix='.zip.tmp', dir=out_zip.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        zip_masks(masks_dir, images, tmp, folder)
        report = check_submission(tmp, images_dir, reference=reference, strict=strict, progress=progress)
        report.source = out_zip
        if not report.ok:
            raise SubmissionCheckError(f'The new zip failed its check, so {out_zip} was not written:\n'
                                       f'{report.format()}', report)
        os.replace(tmp, out_zip)
    finally:
        tmp.unlink(missing_ok=True)
    return SubmissionResult(out_zip, masks_dir, folder, len(images), out_zip.stat().st_size, file_sha256(out_zip),
                            prediction, report)


# --------------------------------------------------------------------------- scoring
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

    def _repr_html_(self) -> str:
        return f'<b>mIoU {self.miou:.2f}</b>, aAcc {self.aacc:.2f} ({self.images} masks)' + self.to_frame().to_html()


def score_arrays(pairs: Iterator[tuple[np.ndarray, np.ndarray]] | Sequence[tuple[np.ndarray, np.ndarray]],
                 ignore_index: int = 255) -> ScoreResult:
    """Score ``(prediction, ground truth)`` label-map pairs: I and U summed per class over all pairs."""
    inter = np.zeros(NUM_CLASSES, np.int64)
    area_pred = np.zeros(NUM_CLASSES, np.int64)
    area_gt = np.zeros(NUM_CLASSES, np.int64)
    n = 0
    for pred, gt in pairs:
        pred, gt = np.asarray(pred).astype(np.int64), np.asarray(gt).astype(np.int64)
        valid = gt != ignore_index
        p, g = pred[valid], gt[valid]
        inter += np.bincount(g[(p == g) & (g < NUM_CLASSES)], minlength=NUM_CLASSES)[:NUM_CLASSES]
        area_pred += np.bincount(p[(p >= 0) & (p < NUM_CLASSES)], minlength=NUM_CLASSES)[:NUM_CLASSES]
        area_gt += np.bincount(g[g < NUM_CLASSES], minlength=NUM_CLASSES)[:NUM_CLASSES]
        n += 1
    union = area_pred + area_gt - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    miou = float(100 * np.nanmean(iou)) if np.isfinite(iou).any() else float('nan')
    aacc = float(100 * inter.sum() / area_gt.sum()) if area_gt.sum() else float('nan')
    return ScoreResult(miou, aacc, iou, inter, union, n)


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
        masks = _open_masks(source)
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
                pred = np.asarray(Image.open(io.BytesIO(masks.read(present[p.name]))))
                gt = np.asarray(Image.open(p))
                if pred.shape != gt.shape:
                    raise SubmitError(f'{present[p.name]} is {pred.shape}, its ground truth {p} is {gt.shape}: '
                                      'run check_submission() first.')
                yield pred, gt

        return score_arrays(pairs())
    finally:
        masks.close()


# --------------------------------------------------------------------------- figures and download
def _load_rgb(path: Path) -> np.ndarray | None:
    try:
        return read_image(path)
    except InferenceError:
        return None


def _palette_legend(fig, labels: Sequence[int], ncol: int = 7) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.asarray(PALETTE[c]) / 255, edgecolor='0.3', label=f'{c} {CLASSES[c]}')
               for c in labels]
    fig.legend(handles=handles, loc='lower center', ncol=min(ncol, max(1, len(handles))), fontsize=8,
               frameon=False)


def preview_grid(source: Any, images_dir: str | os.PathLike, n: int = 6, *, seed: int | None = 0,
                 alpha: float = 0.5, cols: int = 2, names: Sequence[str] | None = None):
    """Figure of ``n`` random test images: image | prediction overlay, with a palette legend."""
    from matplotlib.figure import Figure

    images = {mask_name(p): p for p in list_images(images_dir)}
    masks = _open_masks(source)
    try:
        present = masks.mask_files()
        avail = [m for m in images if m in present]
        if not avail:
            raise SubmitError(f'{masks.path} holds no mask for any image in {images_dir}.')
        if names is not None:
            chosen = [mask_name(x) for x in names]
        else:
            rng = np.random.default_rng(seed)
            chosen = [avail[i] for i in sorted(rng.choice(len(avail), size=min(n, len(avail)), replace=False))]
        rows = -(-len(chosen) // cols)
        fig = Figure(figsize=(3.2 * 2 * cols, 3.2 * rows + 0.9))
        axes = fig.subplots(rows, 2 * cols, squeeze=False)
        seen: set[int] = set()
        for ax in axes.ravel():
            ax.axis('off')
        for k, name in enumerate(chosen):
            ax_img, ax_ov = axes[k // cols, 2 * (k % cols)], axes[k // cols, 2 * (k % cols) + 1]
            mask = np.asarray(Image.open(io.BytesIO(masks.read(present[name]))))
            img = _load_rgb(images[name])
            seen.update(int(v) for v in np.unique(mask) if v < NUM_CLASSES)
            colour = colorize(mask).astype(np.float32)
            if img is None or img.shape[:2] != mask.shape:
                ax_img.set_title(f'{images[name].name}: unreadable or other size', fontsize=8)
                overlay = colour
            else:
                ax_img.imshow(img)
                ax_img.set_title(images[name].name, fontsize=9)
                overlay = (1 - alpha) * img.astype(np.float32) + alpha * colour
            ax_ov.imshow(overlay.clip(0, 255).astype(np.uint8))
            ax_ov.set_title(f'{name} ({len(np.unique(mask))} classes)', fontsize=9)
        _palette_legend(fig, sorted(seen) or range(NUM_CLASSES))
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        return fig
    finally:
        masks.close()


def class_histogram(source: Any, reference: Any = None, *, log: bool = True, ax=None):
    """Bar chart of the predicted pixel share per class, next to ``reference`` (e.g. the val masks)."""
    from matplotlib.figure import Figure

    pred = class_counts(source).astype(np.float64)
    ref = _reference_counts(reference)
    fig = ax.figure if ax is not None else Figure(figsize=(11, 4))
    ax = ax or fig.add_subplot(1, 1, 1)
    x = np.arange(NUM_CLASSES)
    width = 0.4 if ref is not None else 0.8
    share = 100 * pred / max(pred.sum(), 1)
    ax.bar(x - (width / 2 if ref is not None else 0), share, width,
           color=[np.asarray(c) / 255 for c in PALETTE], edgecolor='0.2', label='predictions')
    if ref is not None:
        ax.bar(x + width / 2, 100 * ref / max(ref.sum(), 1), width, color='0.75', edgecolor='0.2',
               label='reference (ground truth)')
    missing = [CLASSES[c] for c in range(NUM_CLASSES) if pred[c] == 0]
    ax.set_xticks(x, CLASSES, rotation=45, ha='right')
    ax.set_ylabel('% of pixels' + (' (log)' if log else ''))
    if log:
        ax.set_yscale('log')
    ax.set_title('Predicted classes' + (f' - never predicted: {", ".join(missing)}' if missing else ''), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def offer_download(zip_path: Any) -> Path:
    """Print the zip's size and SHA-256; in Colab start the browser download, elsewhere say where the file is."""
    from .env import in_colab

    path = Path(zip_path.zip_path if isinstance(zip_path, SubmissionResult) else zip_path)
    if not path.is_file():
        raise SubmitError(f'Not found: {path}. Build it with make_submission() first.')
    print(f'{path}: {_human_bytes(path.stat().st_size)}, sha256 {file_sha256(path)}')
    if in_colab():
        from google.colab import files  # type: ignore[import-not-found]

        files.download(str(path))
        print('download started in the browser; upload this file to the leaderboard.')
    else:
        print(f'Not in Colab, so nothing to download: the submission is at {path.resolve()}.')
    return path


# --------------------------------------------------------------------------- command line
_COMMANDS = ('predict', 'check', 'score')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m utils.submit', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='predict is the default command: python -m utils.submit CHECKPOINT --images '
                                       'DIR --out submission.zip')
    sub = p.add_subparsers(dest='cmd', required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument('--quiet', action='store_true', help='no progress bars')
        s.add_argument('--debug', action='store_true', help='show full tracebacks')

    r = sub.add_parser('predict', help='predict the test images and write a checked zip (the default command)')
    r.add_argument('checkpoint', help='trained checkpoint (.pth), e.g. work_dirs/<config>/best_mIoU_iter_30000.pth')
    r.add_argument('--config', default=None, help='config it was trained with (default: the one stored in it)')
    r.add_argument('--images', required=True, help='folder of test images, e.g. data/celebamask/test/test_image')
    r.add_argument('--out', required=True, help='zip to write, e.g. submission.zip')
    r.add_argument('--tta', choices=TTA_MODES, default='none', help='test-time augmentation (default none)')
    r.add_argument('--batch-size', type=int, default=8, help='images per forward pass (default 8)')
    r.add_argument('--masks-dir', default=None, help='where masks are kept (default: <zip stem>_masks next to it)')
    r.add_argument('--folder', default=None, help='folder name inside the zip (default: the zip stem)')
    r.add_argument('--overwrite', action='store_true', help='predict every image again, replacing kept masks')
    r.add_argument('--reference', default=None, help='ground-truth masks (val/val_mask) for the collapse check')
    r.add_argument('--strict', action='store_true', help='content warnings (empty/collapsed classes) fail')
    r.add_argument('--device', default=None, help='cuda or cpu (default: cuda when available)')
    r.add_argument('--no-amp', action='store_true', help='no mixed precision on GPU')
    common(r)

    c = sub.add_parser('check', help='check a submission zip against the test images (exit 1 on failure)')
    c.add_argument('zip', help='submission zip (or a folder of masks)')
    c.add_argument('--images', required=True, help='folder of test images')
    c.add_argument('--reference', default=None, help='ground-truth masks (val/val_mask) for the collapse check')
    c.add_argument('--strict', action='store_true', help='content warnings (empty/collapsed classes) fail')
    c.add_argument('--max-files', type=int, default=5, help='files listed per problem')
    common(c)

    s = sub.add_parser('score', help='mIoU of a zip against ground-truth masks (synthetic data has test masks)')
    s.add_argument('zip', help='submission zip (or a folder of masks)')
    s.add_argument('--masks', required=True, help='ground-truth masks of the same images')
    common(s)
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 check failed, 2 error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in _COMMANDS and argv[0] not in ('-h', '--help'):
        argv.insert(0, 'predict')
    args = build_parser().parse_args(argv)
    progress = not args.quiet
    try:
        if args.cmd == 'predict':
            res = make_submission(args.checkpoint, args.images, args.out, config=args.config, tta=args.tta,
                                  batch_size=args.batch_size, masks_dir=args.masks_dir, folder=args.folder,
                                  overwrite=args.overwrite, reference=args.reference, strict=args.strict,
                                  device=args.device, amp=False if args.no_amp else None, progress=progress)
            print(res.report.format())
            print(res)
        elif args.cmd == 'check':
            report = check_submission(args.zip, args.images, reference=args.reference, strict=args.strict,
                                      progress=progress)
            print(report.format(max_files=args.max_files))
            return 0 if report.ok else 1
        elif args.cmd == 'score':
            print(score_submission(args.zip, args.masks, progress=progress))
    except KeyboardInterrupt:
        print('interrupted: finished masks are kept; run the same command again to continue.', file=sys.stderr)
        return 130
    except SubmissionCheckError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except Exception as e:
        return cli_error(e, (SubmitError, CheckpointError, InferenceError), args.debug)
    return 0


if __name__ == '__main__':
    sys.exit(main())
