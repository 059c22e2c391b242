"""Check a submission zip (or folder of masks) against the test images the way the leaderboard reads it.

2022 rules: the masks in one folder. 2025-26 rules (:func:`check_leaderboard_zip`): ``masks/<stem>.png`` at the root,
one per input image and nothing else beside them; in the test phase ``solution/{run.py, ckpt.pth,
requirements.txt}``, where ``run.py --help`` must answer and ``ckpt.pth`` must load as tensors only."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from utils.base.labels import CLASSES, FLIP_PAIRS, NUM_CLASSES
from utils.base.report import FAIL, PASS, WARN, Check, Report, check_files
from utils.base.layout import natural_key
from utils.submit.common import CORE_CLASSES, JUNK_NAMES, MANIFEST, SubmitError, image_size, list_images, mask_name


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

    def array(self, name: str) -> np.ndarray:
        """The mask ``name`` as an array; an unreadable or oversized one raises SubmitError naming it and the fix."""
        where = f'{name} in {self.path}' if self.zip is not None else str(self.path / name)
        return read_mask(lambda: io.BytesIO(self.read(name)), where)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def mask_files(self) -> dict[str, str]:
        """``file name -> entry`` for the PNG files at mask depth (inside the one folder of a zip)."""
        depth = 2 if self.zip is not None else 1
        # a 2025-26 test-phase zip holds solution/ beside masks/: its files are code, never masks
        leaderboard = self.zip is not None and any(e.startswith('masks/') for e in self.entries)
        out: dict[str, str] = {}
        for e in self.entries:
            parts = [p for p in e.split('/') if p]
            if leaderboard and parts and parts[0] != 'masks':
                continue
            if not e.endswith('/') and len(parts) == depth and not is_junk(parts):
                out.setdefault(parts[-1], e)
        return out


def read_mask(opener: Any, where: str) -> np.ndarray:
    """A mask PNG as an array (``opener()`` gives its path or a file object); any failure is one SubmitError."""
    fix = ('If it is a prediction, predict it again (05_submit\'s check, or python -m utils.submit check, lists every '
           'unreadable mask); if it is a '
           'ground-truth mask, re-extract the dataset (python -m utils.data check lists every such file).')
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off mask is an error, never silently padded
    try:
        with Image.open(opener()) as im:
            return np.asarray(im)
    except UnidentifiedImageError:
        raise SubmitError(f'Mask {where} is not an image Pillow can read (not a PNG, or cut off near its start). '
                          f'{fix}') from None
    except Image.DecompressionBombError:
        raise SubmitError(f'Mask {where} claims far more pixels than a face mask (over {2 * Image.MAX_IMAGE_PIXELS:,}; '
                          f'Pillow refuses it as a possible decompression bomb). {fix}') from None
    except FileNotFoundError:
        raise SubmitError(f'Mask not found: {where}.') from None
    except Exception as exc:  # noqa: BLE001 - truncated, not a PNG, out of memory: all one message
        raise SubmitError(f'Cannot read mask {where} ({type(exc).__name__}: {exc}). {fix}') from None


def is_junk(parts: Sequence[str]) -> bool:
    """Entries a zip made on a Mac or Windows carries that are never masks."""
    return any(p == '__MACOSX' or p.startswith('._') or p in JUNK_NAMES for p in parts) or parts[-1].startswith('.')


def open_masks(source: Any) -> _Masks:
    """The masks of a zip or folder (a :class:`SubmissionResult` stands for its zip)."""
    return _Masks(getattr(source, 'zip_path', source))


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


class SubmissionCheckError(SubmitError):
    """The freshly built zip failed its check; ``.report`` says why. No zip was written."""

    def __init__(self, message: str, report: SubmissionReport) -> None:
        super().__init__(message)
        self.report = report


def publish_checked_zip(tmp: Path, out_zip: Path, masks_dir: Path, report: Any) -> str:
    """Move a freshly built zip into place only when its check passed; returns its SHA-256. The target is checked
    again (a file may have appeared meanwhile) and the zip recorded in the masks' manifest before the move, so a
    crash in between only makes a later run refuse, never overwrite a file this tool did not write."""
    from utils.base.trust import sha256_file
    from utils.submit.common import check_zip_target, read_manifest, record_zip

    report.source = out_zip
    if not report.ok:
        raise SubmissionCheckError(f'The new zip failed its check, so {out_zip} was not written:\n'
                                   f'{report.format()}', report)
    check_zip_target(out_zip, read_manifest(masks_dir))
    sha = sha256_file(tmp)
    record_zip(masks_dir, out_zip, sha)
    os.replace(tmp, out_zip)
    return sha


def class_counts(source: Any, progress: bool = False) -> np.ndarray:
    """Pixels per class (length 19) over all masks of a zip, a masks folder or a ground-truth folder."""
    from tqdm.auto import tqdm

    masks = open_masks(source)
    try:
        counts = np.zeros(NUM_CLASSES, dtype=np.int64)
        for entry in tqdm(list(masks.mask_files().values()), desc='count classes', unit='mask', disable=not progress):
            arr = masks.array(entry)
            if arr.ndim == 2:
                counts += np.bincount(arr.ravel(), minlength=256)[:NUM_CLASSES]
        return counts
    finally:
        masks.close()


def reference_counts(reference: Any) -> np.ndarray | None:
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
                       'A face parser finds several parts on every face: look at these images in the preview. A '
                       'smoke run (a few CPU iterations) predicts all background; a real run that does used a '
                       'checkpoint from too early in training: check CHECKPOINT, or train longer.', status)]
    share = counts / total if total else np.zeros(NUM_CLASSES)
    issues: list[str] = []
    ref = reference / reference.sum() if reference is not None and reference.sum() > 0 else None
    if total:  # a part every face has, predicted nowhere (the histogram's title names the same ones first)
        issues += [f'{CLASSES[c]}: predicted nowhere' for c in CORE_CLASSES if counts[c] == 0]
        for a, b in FLIP_PAIRS:
            lo, hi = sorted((counts[a], counts[b]))
            if hi > 0.001 * total and lo < 0.25 * hi:
                issues.append(f'{CLASSES[a]}/{CLASSES[b]}: {counts[a]:,} vs {counts[b]:,} pixels (left/right collapse)')
        if ref is not None:
            for c in range(NUM_CLASSES):
                if ref[c] >= 0.001 and share[c] < 0.1 * ref[c] and counts[c] > 0:
                    issues.append(f'{CLASSES[c]}: {100 * share[c]:.3f}% of pixels vs {100 * ref[c]:.3f}% '
                                  'in the reference')
    out.append(check_files('class distribution', issues, 'no class collapsed' + (' (compared with the reference)'
                                                                                if reference is not None else ''),
                           '{n} classes never predicted or collapsed',
                           'Compare the class shares in the chart of predicted classes with the val masks\'. A class '
                           'far below its share means a checkpoint trained too briefly or from another run (check '
                           'CHECKPOINT); 04_evaluate shows its IoU on val. TTA = \'flip\' and \'ms\' swap left and '
                           'right parts when they flip, so they do not cause a left/right collapse.', status))
    return out


def check_submission(source: Any, images_dir: str | os.PathLike, *, reference: Any = None, strict: bool = False,
                     progress: bool = True, edition: str | None = None, phase: str = 'test') -> SubmissionReport:
    """Check a submission zip (or a folder of masks) against the test images; see the module docstring.

    ``reference``: ground-truth masks (e.g. ``val/val_mask``) or 19 class counts, for the collapse check.
    ``strict``: content warnings (single-class masks, collapsed classes) fail the check.
    ``edition='2025'``: the 2025-26 rules instead (:func:`check_leaderboard_zip`; ``phase``
    'dev' for masks only, 'test' for masks and the solution).
    Each check is a small function below that returns its :class:`Check` lines.
    """
    from utils.base.edition import rules

    if rules(edition).edition == '2025':
        return check_leaderboard_zip(source, images_dir, phase=phase, strict=strict, progress=progress)
    t0 = time.perf_counter()
    images = list_images(images_dir)
    expected = {mask_name(p): p for p in images}
    src = Path(getattr(source, 'zip_path', source))
    results: list[Check] = []

    def report(masks: int = 0, counts: np.ndarray | None = None) -> SubmissionReport:
        return SubmissionReport(src, len(images), masks, results,
                                counts if counts is not None else np.zeros(NUM_CLASSES, np.int64),
                                time.perf_counter() - t0)

    try:
        masks = open_masks(src)
    except zipfile.BadZipFile as exc:
        results.append(Check('zip file', FAIL, f'not a zip archive ({exc})', [src.name],
                             'Build the zip again with 05_submit (or python -m utils.submit); download it again if '
                             'it was copied.'))
        return report()
    try:
        files = [e for e in masks.entries if not e.endswith('/')]
        if masks.zip is not None:
            results.append(_check_zip_file(masks, src, files))
            if not files:
                return report()
        layout, present = _check_layout(masks, files)
        results += layout + _check_names(expected, present)
        scan = _MaskScan.run(masks, expected, present, progress)
        results += scan.checks()
        results += _content_checks(scan.counts, scan.single, scan.checked, reference_counts(reference),
                                   FAIL if strict else WARN)
        return report(len(present), scan.counts)
    finally:
        masks.close()


def _check_zip_file(masks: Any, src: Path, files: list[str]) -> Check:
    """The archive holds files, every entry passes its CRC, and no name appears twice."""
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
    return Check('zip file', FAIL if problems else PASS, summary, problems,
                 'Build the zip again with 05_submit (or python -m utils.submit).' if problems else '')


def _check_layout(masks: Any, files: list[str]) -> tuple[list[Check], dict[str, str]]:
    """No junk files, every mask directly inside one folder; returns the checks and ``{mask name: entry}`` of
    the masks in the main folder."""
    junk = [e for e in files if is_junk([p for p in e.split('/') if p])]
    checks = [check_files('no junk files', junk, 'no __MACOSX, .DS_Store or hidden files', '{n} junk files',
                          'Let 05_submit (or python -m utils.submit) zip the masks instead of the Finder or '
                          'Explorer, or delete them with: zip -d ZIP "__MACOSX/*" "*.DS_Store"')]
    real = [e for e in files if e not in junk]
    tops = sorted({e.split('/')[0] for e in real if '/' in e})
    if masks.zip is not None:
        misplaced = [e for e in real if len([p for p in e.split('/') if p]) != 2]
        if len(tops) > 1:
            main = max(tops, key=lambda t: sum(e.startswith(t + '/') for e in real))
            misplaced += [e for e in real if e.split('/')[0] != main and e not in misplaced]
        checks.append(check_files('one folder', sorted(misplaced),
                                  f'all masks in the folder {tops[0]}/' if tops else 'all masks in one folder',
                                  '{n} files are not directly inside one folder (top level, nested or a second '
                                  'folder)', 'Put all masks directly into one folder, e.g. submission/100.png.'))
    else:
        subdirs = [e for e in masks.entries if e.endswith('/')]
        checks.append(check_files('one folder', subdirs, 'no sub-folders', '{n} sub-folders',
                                  'Keep only the masks in the folder.'))
    present = masks.mask_files()
    if masks.zip is not None and len({e.split('/')[0] for e in present.values()}) > 1:
        main = max(tops, key=lambda t: sum(e.startswith(t + '/') for e in present.values()))
        present = {k: v for k, v in present.items() if v.startswith(main + '/')}
    return checks, present


def _check_names(expected: dict[str, Path], present: dict[str, str]) -> list[Check]:
    """One mask per test image, and no file that is not ``<image name>.png`` of a test image."""
    missing = [n for n in expected if n not in present]
    extra = sorted(set(present) - set(expected), key=natural_key)
    stems = {Path(n).stem.lower(): n for n in missing}
    hints = [f'{present[e]} (expected {stems[e.split(".")[0].lower()]})'
             if e.split('.')[0].lower() in stems else present[e] for e in extra]
    return [check_files('all masks present', missing, f'{len(expected)} masks, one per image',
                        '{n} images have no mask', 'Predict them (python -m utils.submit ... resumes and '
                                                   'only predicts what is missing).'),
            check_files('no extra files', hints, 'no file without a test image',
                        '{n} files are not <image name>.png of a test image',
                        'Name each mask like its image with .png: 100.jpg -> 100.png; remove other files.')]


@dataclass
class _MaskScan:
    """Every present mask decoded once: what is wrong with each, and the class counts of the readable ones."""

    not_png: list[str] = field(default_factory=list)
    multi: list[str] = field(default_factory=list)
    wrong_size: list[str] = field(default_factory=list)
    out_of_range: list[str] = field(default_factory=list)
    single: list[str] = field(default_factory=list)
    bad_values: set[int] = field(default_factory=set)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(NUM_CLASSES, dtype=np.int64))
    checked: int = 0

    @classmethod
    def run(cls, masks: Any, expected: dict[str, Path], present: dict[str, str], progress: bool) -> '_MaskScan':
        from tqdm.auto import tqdm

        scan = cls()
        for name in tqdm([n for n in expected if n in present], desc='check masks', unit='mask',
                         disable=not progress):
            scan.add(present[name], masks, expected[name])
        return scan

    def add(self, entry: str, masks: Any, image: Path) -> None:
        try:
            with Image.open(io.BytesIO(masks.read(entry))) as im:
                fmt, mode, size = im.format, im.mode, im.size
                arr = np.asarray(im)
        except Exception as exc:  # noqa: BLE001 - any decode failure is a finding, not a crash
            self.not_png.append(f'{entry} ({type(exc).__name__})')
            return
        self.checked += 1
        if fmt != 'PNG':
            self.not_png.append(f'{entry} ({fmt})')
        if mode not in ('P', 'L') or arr.ndim != 2:
            self.multi.append(f'{entry} (mode {mode}, {"x".join(map(str, arr.shape))})')
            return
        want = image_size(image)
        if want is not None and size != want:
            self.wrong_size.append(f'{entry} ({size[0]}x{size[1]}, image {want[0]}x{want[1]})')
        hist = np.bincount(arr.ravel(), minlength=256)
        high = np.nonzero(hist[NUM_CLASSES:])[0] + NUM_CLASSES
        if high.size:
            self.out_of_range.append(f'{entry} (values {", ".join(map(str, high[:4]))})')
            self.bad_values.update(int(v) for v in high)
        self.counts += hist[:NUM_CLASSES]
        if np.count_nonzero(hist) == 1:
            top = int(np.argmax(hist))
            self.single.append(f'{entry} (all {CLASSES[top] if top < NUM_CLASSES else top})')

    def checks(self) -> list[Check]:
        vals = ', '.join(map(str, sorted(self.bad_values)[:6]))
        return [check_files('PNG files', self.not_png, 'every mask is a readable PNG',
                            '{n} masks are not readable PNGs',
                            'Predict these images again with 05_submit (it writes every mask as PNG).'),
                check_files('single channel', self.multi, 'every mask is 8-bit single channel (mode P or L)',
                            '{n} masks have several channels (the scorer would read H x W x 3)',
                            'Save label indices, not colours: a palette PNG (mode P) or mode L; for colour '
                            'masks use python -m utils.data fix-rgb.'),
                check_files('sizes', self.wrong_size, 'every mask has its image\'s size', '{n} masks differ in size',
                            'Predict at the image\'s size (05_submit resizes each mask back to its image); '
                            'never crop or pad the masks.'),
                check_files('values 0..18', self.out_of_range, f'all labels in 0..{NUM_CLASSES - 1}',
                            '{n} masks hold values outside 0..18' + (f' ({vals})' if vals else ''),
                            'Labels are class indices 0..18: 255 (ignore) or 19+ mean a wrong label map.')]


# --------------------------------------------------------------------------- the 2025-26 rules
PHASES = ('dev', 'test')
SOLUTION = ('run.py', 'ckpt.pth', 'requirements.txt')


def _layout(files: list[str], phase: str) -> tuple[list[Check], dict[str, str]]:
    """Only ``masks/`` (and, test phase, ``solution/``) at the root, masks directly inside it; ``{name: entry}``."""
    allowed = ('masks', 'solution') if phase == 'test' else ('masks',)
    junk = [e for e in files if is_junk([p for p in e.split('/') if p])]
    stray, present = [], {}
    for e in files:
        parts = [p for p in e.split('/') if p]
        if e in junk:
            continue
        if parts[0] not in allowed or len(parts) != 2:
            stray.append(e)
        elif parts[0] == 'masks':
            present.setdefault(parts[1], e)
        elif parts[1] not in SOLUTION:
            stray.append(e)
    where = 'masks/ and solution/' if phase == 'test' else 'masks/ (the dev phase takes no code)'
    return [check_files('no junk files', junk, 'no __MACOSX, .DS_Store or hidden files', '{n} junk files',
                        'Build the zip with python -m utils.submit ... --edition 2025, not the Finder/Explorer.'),
            check_files('root layout', stray, f'only {where} at the root',
                        '{n} entries are not masks/<stem>.png' + (' or solution/{{run.py,ckpt.pth,requirements.txt}}'
                                                                   if phase == 'test' else ''),
                        f'Keep only {where} at the zip\'s root, each file directly inside its folder.')], present


def _run_help(run_py: Path) -> str | None:
    """None when ``python run.py --help`` exits 0 with a usage text, else why not."""
    try:
        done = subprocess.run([sys.executable, '-I', run_py.name, '--help'], cwd=run_py.parent, capture_output=True,
                              text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return 'solution/run.py --help did not answer within 300 s'
    if done.returncode != 0 or 'usage' not in done.stdout.lower():
        tail = ' | '.join((done.stdout + done.stderr).strip().splitlines()[-3:])
        return f'solution/run.py --help exited {done.returncode}: {tail[:300]}'
    return None


def _ckpt_problem(path: Path) -> str | None:
    import torch

    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        return f'solution/ckpt.pth does not load with weights_only=True ({type(exc).__name__}: {str(exc)[:120]})'
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return 'solution/ckpt.pth is not {"state_dict": {name: tensor}}'
    return None


def _requirements_problem(text: str) -> str | None:
    lines = [ln.split('#', 1)[0].strip() for ln in text.splitlines()]
    loose = [ln for ln in lines if ln and '==' not in ln]
    if not any(lines):
        return 'solution/requirements.txt is empty'
    return f'solution/requirements.txt has unpinned lines ({", ".join(loose[:3])})' if loose else None


def _solution_checks(zf: zipfile.ZipFile, names: set[str]) -> list[Check]:
    missing = [f'solution/{n}' for n in SOLUTION if f'solution/{n}' not in names]
    checks = [check_files('solution files', missing, 'solution/ holds run.py, ckpt.pth and requirements.txt',
                          '{n} solution files missing', 'Build the test-phase zip with --solution.')]
    if missing:
        return checks
    with tempfile.TemporaryDirectory(prefix='solution-check-') as tmp:
        for n in SOLUTION:
            (Path(tmp) / n).write_bytes(zf.read(f'solution/{n}'))
        problems = [p for p in (_run_help(Path(tmp) / 'run.py'), _ckpt_problem(Path(tmp) / 'ckpt.pth'),
                                _requirements_problem((Path(tmp) / 'requirements.txt').read_text(errors='replace')))
                    if p]
    checks.append(check_files('solution runs', problems, 'run.py --help answers; ckpt.pth loads as tensors only; '
                              'requirements pinned', '{n} problems with the solution',
                              'Export the solution again (python -m utils.submit CHECKPOINT ... --edition 2025 '
                              '--solution).'))
    return checks


def check_leaderboard_zip(source: Any, images_dir: str | os.PathLike, *, phase: str = 'test', strict: bool = False,
                          progress: bool = True) -> SubmissionReport:
    """Check a 2025-26 zip against the input images: root layout, one mask per image with its stem, single channel
    (mode P or L), the image's size (512 x 512 for the course's images), class ids 0..18; test phase: the solution."""
    if phase not in PHASES:
        raise ValueError(f'phase {phase!r}: one of {PHASES}')
    t0 = time.perf_counter()
    images = list_images(images_dir)
    expected = {mask_name(p): p for p in images}
    src = Path(getattr(source, 'zip_path', source))
    results: list[Check] = []
    counts, n_present = np.zeros(NUM_CLASSES, np.int64), 0
    try:
        masks = open_masks(src)
    except zipfile.BadZipFile as exc:
        results.append(Check('zip file', FAIL, f'not a zip archive ({exc})', [src.name], 'Build the zip again.'))
        masks = None
    if masks is not None and masks.zip is None:
        masks.close()
        results.append(Check('zip file', FAIL, 'a folder, not a zip', [src.name], 'Check the zip itself.'))
        masks = None
    if masks is not None:
        try:
            files = [e for e in masks.entries if not e.endswith('/')]
            results.append(_check_zip_file(masks, src, files))
            layout, present = _layout(files, phase)
            results += layout + _check_names(expected, present)
            scan = _MaskScan.run(masks, expected, present, progress)
            results += scan.checks()
            results += _content_checks(scan.counts, scan.single, scan.checked, None, FAIL if strict else WARN)
            if phase == 'test':
                results += _solution_checks(masks.zip, set(files))
            counts, n_present = scan.counts, len(present)
        finally:
            masks.close()
    return SubmissionReport(src, len(images), n_present, results, counts, time.perf_counter() - t0)

