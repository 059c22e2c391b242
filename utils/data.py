"""Get the CelebAMask-HQ mini dataset onto local disk in the course layout, and verify it.

    python -m utils.data fetch SOURCE --out DIR        # Drive id/URL, zip, folder or 'synthetic'
    python -m utils.data convert SRC --out DIR         # build it from the full CelebAMask-HQ release
    python -m utils.data check DIR [--expect 5000,1000,1000]
    python -m utils.data fix-rgb MASK_DIR --out DIR    # colour (RGB) masks -> palette index masks

Nothing here ever deletes or overwrites a user's file: new data is assembled in a temporary folder
next to the target and moved into place only when complete; ``check`` only reads.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageFile

from .labels import CLASSES, NUM_CLASSES, PALETTE
from .parallel import progress_map
from .layout import LAYOUT, SPLITS, image_dir, mask_dir, natural_key  # noqa: F401  (re-exported)
from .report import FAIL, PASS, WARN, Check, Report, check_files, cli_error  # noqa: F401  (re-exported)

#: Split sizes of the course's CelebAMask-HQ mini dataset.
EXPECTED_COUNTS: dict[str, int] = {'train': 5000, 'val': 1000, 'test': 1000}
#: Synthetic defaults of ``fetch('synthetic')``: small enough for a CPU smoke run.
SYNTHETIC_DEFAULTS = {'size': 64, 'counts': (40, 12, 12)}
SYNTHETIC_FULL = {'size': 512, 'counts': (5000, 1000, 1000)}
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
#: Per-part mask names of the full CelebAMask-HQ release, in label order (label = index in CLASSES).
PARTS: tuple[str, ...] = CLASSES[1:]
_JUNK_DIRS = {'__MACOSX'}


class DataError(Exception):
    """A problem with the user's data or source; the message names the file and the fix."""


# --------------------------------------------------------------------------- small helpers
def _files(folder: Path, suffixes: Iterable[str] | None = None) -> list[str]:
    """Visible file names in ``folder`` (optionally with a suffix in ``suffixes``, case-insensitive), sorted."""
    if not folder.is_dir():
        return []
    suf = tuple(s.lower() for s in suffixes) if suffixes else None
    names = [e.name for e in os.scandir(folder)
             if not e.name.startswith('.') and e.is_file() and (suf is None or e.name.lower().endswith(suf))]
    return sorted(names, key=natural_key)


def _stems(names: Iterable[str]) -> set[str]:
    return {os.path.splitext(n)[0] for n in names}


def _bar(total: int, desc: str, progress: bool, unit: str = 'file', **kw):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, **kw)


def _workers(n_jobs: int, workers: int | None, threshold: int = 200) -> int:
    if workers is not None:
        return max(0, workers)
    return min(os.cpu_count() or 1, 8) if n_jobs >= threshold else 0


def is_dataset(root: str | os.PathLike) -> bool:
    """True when ``root`` holds the course layout with every train/val image paired with a mask (names only)."""
    root = Path(root)
    for split in SPLITS:
        imgs = _files(image_dir(root, split), ('.jpg',))
        if not imgs:
            return False
        if split != 'test' and _stems(imgs) != _stems(_files(mask_dir(root, split), ('.png',))):
            return False
    return True


def dataset_counts(root: str | os.PathLike) -> dict[str, int]:
    """Number of ``.jpg`` images per split."""
    return {s: len(_files(image_dir(root, s), ('.jpg',))) for s in SPLITS}


# --------------------------------------------------------------------------- safe extraction
def _zip_entry_problem(info: zipfile.ZipInfo, dest: Path) -> str | None:
    """Why a zip entry is unsafe to extract into ``dest`` (None when it is safe)."""
    name = info.filename.replace('\\', '/')
    if name.startswith('/') or re.match(r'^[A-Za-z]:', name):
        return 'absolute path'
    parts = [p for p in name.split('/') if p not in ('', '.')]
    if '..' in parts:
        return "'..' component (would write outside the target folder)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return 'symbolic link'
    target = dest.joinpath(*parts).resolve() if parts else dest
    if target != dest and dest not in target.parents:
        return 'path escapes the target folder'
    return None


def safe_extract(zip_path: str | os.PathLike, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Extract ``zip_path`` into the new or empty folder ``dest``, after checking every entry first.

    Refuses (extracting nothing) archives with absolute paths, ``..`` components or symbolic links,
    and archives larger than the free disk space. ``__MACOSX`` and ``.DS_Store`` entries are skipped.
    """
    zip_path, dest = Path(zip_path), Path(dest).absolute()
    if dest.exists() and any(dest.iterdir()):
        raise DataError(f'{dest} is not empty; extract into a new folder (nothing was changed).')
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f'{zip_path} is not a readable zip ({e}). If it was downloaded, the download is '
                        'incomplete or Google Drive returned a web page instead of the file: delete it and '
                        'fetch again, or download it in a browser.') from None
    with zf:
        infos = zf.infolist()
        real_dest = dest.resolve() if dest.exists() else dest.parent.resolve() / dest.name
        bad = [(i.filename, why) for i in infos if (why := _zip_entry_problem(i, real_dest))]
        if bad:
            listed = '; '.join(f'{n!r} ({w})' for n, w in bad[:5])
            raise DataError(f'unsafe zip {zip_path}: {len(bad)} entr{"y" if len(bad) == 1 else "ies"} would '
                            f'write outside the target folder or create links: {listed}'
                            f'{" ..." if len(bad) > 5 else ""}. Nothing was extracted. Use a zip made '
                            'from the dataset folder itself (e.g. `cd data && zip -r ../celebamask.zip .`).')
        keep = [i for i in infos if not (set(i.filename.replace('\\', '/').split('/')) & _JUNK_DIRS)
                and not i.filename.endswith('.DS_Store')]
        total = sum(i.file_size for i in keep if not i.is_dir())
        dest.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest).free
        if total > free:
            raise DataError(f'{zip_path} unpacks to {total / 2**30:.1f} GiB but {dest} has only '
                            f'{free / 2**30:.1f} GiB free; free some space or extract elsewhere.')
        bar = _bar(total, f'unzip {zip_path.name}', progress, unit='B', unit_scale=True)
        for info in keep:
            parts = [p for p in info.filename.replace('\\', '/').split('/') if p not in ('', '.')]
            if not parts:
                continue
            target = dest.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, 'xb') as out:
                shutil.copyfileobj(src, out, 1 << 20)
            bar.update(info.file_size)
        bar.close()
    return dest


# --------------------------------------------------------------------------- finding the dataset
_SPLIT_WORDS = {'train': {'train', 'training', 'trn', 'trainset'},
                'val': {'val', 'valid', 'validation', 'dev', 'valset'},
                'test': {'test', 'testing', 'tst', 'testset'}}
_ROLE_WORDS = {'image': {'image', 'images', 'img', 'imgs', 'jpg', 'jpgs', 'jpeg', 'jpegs', 'photo', 'photos',
                         'pic', 'pics', 'picture', 'pictures', 'input', 'inputs', 'rgb'},
               'mask': {'mask', 'masks', 'label', 'labels', 'lbl', 'lbls', 'anno', 'annos', 'annotation',
                        'annotations', 'seg', 'segs', 'segmentation', 'segmentations', 'gt', 'gts', 'parsing',
                        'target', 'targets', 'labelmap', 'labelmaps'}}


def _tokens(name: str) -> set[str]:
    return set(re.split(r'[^a-z0-9]+', name.lower())) - {''}


def _match(words: dict[str, set[str]], name: str) -> str | None:
    hits = [k for k, ws in words.items() if _tokens(name) & ws]
    return hits[0] if len(hits) == 1 else None


@dataclass
class _Source:
    folder: Path
    suffixes: tuple[str, ...]
    n: int


def locate_dataset(root: str | os.PathLike) -> dict[str, _Source]:
    """Find the split folders under ``root`` whatever their wrapper and names.

    Understands an extra top folder, ``__MACOSX``, ``train/images`` + ``train/masks``, ``Train/Image``,
    ``images/train`` + ``labels/train``, and images and masks side by side (``train/0.jpg`` +
    ``train/0.png``). Returns ``{'train_image': ..., 'train_mask': ..., ..., 'test_image': ...}``
    (``test_mask`` when present); raises :class:`DataError` naming what it found otherwise.
    """
    root = Path(root)
    found: dict[str, list[_Source]] = defaultdict(list)
    seen_dirs: list[str] = []
    full_release = False
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _JUNK_DIRS and not d.startswith('.'))
        here = Path(dirpath)
        if here.name in ('CelebAMask-HQ-mask-anno', 'CelebA-HQ-img'):
            full_release = True
        files = [f for f in filenames if not f.startswith('.') and f.lower().endswith(IMAGE_SUFFIXES)]
        if not files:
            continue
        rel = here.relative_to(root).parts
        seen_dirs.append(f'{"/".join(rel) or "."} ({len(files)} files)')
        split = next((s for p in reversed(rel) if (s := _match(_SPLIT_WORDS, p))), None)
        role = next((r for p in reversed(rel) if (r := _match(_ROLE_WORDS, p))), None)
        if split is None:
            continue
        by_suffix = Counter(os.path.splitext(f)[1].lower() for f in files)
        jpgs = by_suffix['.jpg'] + by_suffix['.jpeg']
        if role == 'image':
            found[f'{split}_image'].append(_Source(here, ('.jpg', '.jpeg', '.png', '.bmp'), len(files)))
        elif role == 'mask':
            found[f'{split}_mask'].append(_Source(here, ('.png',), by_suffix['.png']))
        elif jpgs:  # images and masks side by side, or images only (test)
            found[f'{split}_image'].append(_Source(here, ('.jpg', '.jpeg'), jpgs))
            if by_suffix['.png']:
                found[f'{split}_mask'].append(_Source(here, ('.png',), by_suffix['.png']))
    layout: dict[str, _Source] = {}
    for key, cands in found.items():
        cands.sort(key=lambda c: -c.n)
        if len(cands) > 1:
            warnings.warn(f'several candidate folders for {key}: '
                          f'{", ".join(str(c.folder.relative_to(root)) for c in cands)}; '
                          f'used the largest, {cands[0].folder.relative_to(root)}', stacklevel=2)
        layout[key] = cands[0]
    required = ('train_image', 'train_mask', 'val_image', 'val_mask', 'test_image')
    missing = [k for k in required if k not in layout]
    if missing:
        if full_release:
            hint = (' This looks like the full CelebAMask-HQ release (CelebA-HQ-img + CelebAMask-HQ-mask-anno): '
                    'build the course layout with `python -m utils.data convert SRC --out DIR`.')
        elif not seen_dirs:
            hint = f' No images at all under {root}: is it the right folder, or is the download/unzip incomplete?'
        else:
            hint = ' Folders with images: ' + ', '.join(seen_dirs[:8]) + ('...' if len(seen_dirs) > 8 else '') + '.'
        raise DataError(f'no {", ".join(missing)} folder found under {root}.{hint} Expected {LAYOUT}; '
                        'folder names such as train/images + train/masks or Train/Image are also understood.')
    return layout


def _normalise(layout: Mapping[str, _Source], dest: Path, move: bool, progress: bool = True) -> Path:
    """Copy (or move) the located files into the canonical layout under ``dest`` (.jpeg -> .jpg)."""
    jobs: list[tuple[Path, Path, bool]] = []
    converted = 0
    for key, src in layout.items():
        split, role = key.split('_')
        out_dir = image_dir(dest, split) if role == 'image' else mask_dir(dest, split)
        out_dir.mkdir(parents=True, exist_ok=True)
        targets: dict[str, str] = {}
        for name in _files(src.folder, src.suffixes):
            stem, suf = os.path.splitext(name)
            canon = stem + ('.jpg' if role == 'image' else '.png')
            if canon in targets:
                raise DataError(f'{src.folder / targets[canon]} and {src.folder / name} would both become '
                                f'{canon}: two files for one image. Remove the duplicate and fetch again.')
            targets[canon] = name
            reencode = role == 'image' and suf.lower() not in ('.jpg', '.jpeg')
            converted += reencode
            jobs.append((src.folder / name, out_dir / canon, reencode))
    if converted:
        warnings.warn(f'{converted} images were PNG/BMP; re-encoded them as JPG (quality 95) for the course '
                      'layout', stacklevel=2)

    def one(job: tuple[Path, Path, bool]) -> None:
        src, dst, reencode = job
        if reencode:
            with Image.open(src) as im:
                im.convert('RGB').save(dst, quality=95)
        elif move:
            os.replace(src, dst)
        else:
            shutil.copyfile(src, dst)

    bar = _bar(len(jobs), 'move files' if move else 'copy files', progress)
    with ThreadPoolExecutor(16) as pool:  # threads: Drive (FUSE) copies are latency-bound
        for _ in pool.map(one, jobs):
            bar.update()
    bar.close()
    return dest


def _install(ds: Path, out: Path) -> None:
    """Move the complete dataset ``ds`` to ``out`` without overwriting anything."""
    if not out.exists():
        os.replace(ds, out)
        return
    clash = [out / c.name for c in ds.iterdir() if (out / c.name).exists()]
    if clash:
        raise DataError(f'{", ".join(map(str, clash))} already exist(s); nothing was changed. Move them away '
                        'or choose another --out.')
    for child in ds.iterdir():
        os.replace(child, out / child.name)


# --------------------------------------------------------------------------- Google Drive
_DRIVE_ID = re.compile(r'^[A-Za-z0-9_-]{20,}$')


def parse_drive_source(source: str) -> tuple[str, str] | None:
    """``('file'|'folder', id)`` for a Google Drive id or share URL, else None."""
    s = source.strip()
    if re.match(r'https?://', s):
        if not re.search(r'(drive|docs)\.google\.com', s):
            raise DataError(f'{s} is not a Google Drive URL; download it yourself and pass the zip file.')
        m = re.search(r'/folders/([A-Za-z0-9_-]+)', s)
        if m:
            return 'folder', m.group(1)
        m = re.search(r'/d/([A-Za-z0-9_-]+)', s) or re.search(r'[?&]id=([A-Za-z0-9_-]+)', s)
        if not m:
            raise DataError(f'cannot find a file id in {s}; use the share link '
                            '(https://drive.google.com/file/d/ID/view) or the bare ID.')
        return 'file', m.group(1)
    if _DRIVE_ID.match(s) and not Path(s).exists():
        return 'file', s
    return None


def download_drive_file(file_id: str, download_dir: str | os.PathLike, progress: bool = True) -> Path:
    """Download a Drive file once to ``download_dir/celebamask-<id>.zip`` (resumable ``.part`` file, gdown)."""
    download_dir = Path(download_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    target = download_dir / f'celebamask-{file_id}.zip'
    if target.exists():
        if zipfile.is_zipfile(target):
            print(f'using the earlier download {target}')
            return target
        raise DataError(f'{target} exists but is not a zip (an HTML page from Google Drive, e.g. "quota '
                        'exceeded", or a broken download). Delete it and fetch again, or download the file '
                        'in a browser and pass the zip path.')
    import gdown  # lazy: only this path needs it

    try:
        # gdown writes to <target><random>.part and renames it when complete; resume=True continues a .part
        got = gdown.download(url=f'https://drive.google.com/uc?id={file_id}', output=str(target),
                             quiet=not progress, resume=True)
    except Exception as e:  # gdown raises its own error types, requests errors, OSError...
        raise DataError(f'download of Google Drive file {file_id} failed: {type(e).__name__}: {e}. Any partial '
                        f'.part file in {download_dir} is kept: run the same command to resume. If Drive says '
                        'too many users have viewed the file, add it to your Drive ("Add shortcut") and fetch '
                        'from /content/drive/MyDrive/... instead.') from None
    if not got or not target.is_file():
        raise DataError(f'gdown did not produce {target}: check that file {file_id} is shared as '
                        '"Anyone with the link".')
    if not zipfile.is_zipfile(target):
        raise DataError(f'{target} (downloaded from Drive) is not a zip; it is probably an HTML error page. '
                        'Delete it, check the link, and try again.')
    return target


# --------------------------------------------------------------------------- fetch
def fetch(source: str | os.PathLike, out: str | os.PathLike = 'data/celebamask', *, size: int | None = None,
          counts: Sequence[int] | None = None, download_dir: str | os.PathLike | None = None,
          progress: bool = True) -> Path:
    """Put the dataset at ``out`` in the course layout once, and return ``out``.

    ``source``: a Google Drive file id or share URL (downloaded with gdown), a zip file or a folder
    (e.g. on /content/drive, copied to local disk), or ``'synthetic'`` (``size`` px, ``counts`` =
    train/val/test; default 64 px, 40/12/12). Skips all work when ``out`` already holds the dataset.
    """
    out = Path(out).expanduser().absolute()
    if is_dataset(out):
        c = dataset_counts(out)
        print(f'dataset already at {out} (train {c["train"]}, val {c["val"]}, test {c["test"]}); nothing to '
              'fetch. Delete or rename that folder to fetch again.')
        return out
    if out.exists() and not out.is_dir():
        raise DataError(f'--out {out} is a file; choose a folder path.')
    if out.is_dir():
        present = [s for s in SPLITS if (out / s).exists()]
        if present:
            raise DataError(f'{out} already holds {", ".join(present)} but not a complete dataset (run '
                            f'`python -m utils.data check {out}` to see what is wrong). Nothing was changed: '
                            'move or delete that folder, or choose another --out.')
    src = str(source)
    if src != 'synthetic' and (size is not None or counts is not None):
        warnings.warn(f'size/counts apply to the synthetic source only; ignored them for {src}', stacklevel=2)
    drive = parse_drive_source(src) if src != 'synthetic' else None
    path = Path(src).expanduser() if src != 'synthetic' and drive is None else None
    if path is not None and not path.exists():
        raise DataError(f'source {path} does not exist. Pass a Google Drive file id or share URL, a zip or folder '
                        'path (mount Drive first in Colab), or `synthetic`.')
    out.parent.mkdir(parents=True, exist_ok=True)
    # layout of a local folder is read before the staging folder exists (out may lie inside the source)
    layout = locate_dataset(path) if path is not None and path.is_dir() else None
    staging = Path(tempfile.mkdtemp(prefix=f'.{out.name}.fetch-', dir=out.parent))
    try:
        ds = staging / 'dataset'
        if src == 'synthetic':
            from .synthetic import make_synthetic_dataset

            size = size or SYNTHETIC_DEFAULTS['size']
            n_train, n_val, n_test = counts or SYNTHETIC_DEFAULTS['counts']
            make_synthetic_dataset(ds, n_train, n_val, n_test, size=size, progress=progress)
        elif layout is not None:
            _normalise(layout, ds, move=False, progress=progress)
        else:
            if drive is not None and drive[0] == 'folder':
                import gdown

                raw = staging / 'raw'
                try:
                    gdown.download_folder(id=drive[1], output=str(raw), quiet=not progress, resume=True)
                except Exception as e:
                    raise DataError(f'download of Google Drive folder {drive[1]} failed: {type(e).__name__}: '
                                    f'{e}. Share a zip of the dataset instead (gdown lists at most 50 files '
                                    'per folder).') from None
            else:
                if drive is not None:
                    zip_path = download_drive_file(drive[1], download_dir or out.parent, progress)
                elif zipfile.is_zipfile(path):
                    zip_path = path
                else:
                    raise DataError(f'{path} is neither a folder nor a zip file. Unpack other archives yourself '
                                    '(e.g. `tar xf`) and pass the folder.')
                raw = safe_extract(zip_path, staging / 'raw', progress=progress)
            _normalise(locate_dataset(raw), ds, move=True, progress=progress)
        if not is_dataset(ds):
            raise DataError(f'the data from {src} is incomplete: some train/val images have no mask or a split is '
                            f'empty (counts {dataset_counts(ds)}). Check the source; nothing was written to {out}.')
        _install(ds, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # our own temporary folder only
    c = dataset_counts(out)
    print(f'dataset ready at {out}: train {c["train"]}, val {c["val"]}, test {c["test"]} images')
    return out


# --------------------------------------------------------------------------- convert from the full release
def find_release(src: str | os.PathLike) -> tuple[Path, Path]:
    """``(CelebA-HQ-img, CelebAMask-HQ-mask-anno)`` folders somewhere under ``src``."""
    src = Path(src)
    img = anno = None
    for dirpath, dirnames, _ in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in _JUNK_DIRS and not d.startswith('.')]
        for d in dirnames:
            if d == 'CelebA-HQ-img' and img is None:
                img = Path(dirpath) / d
            elif d == 'CelebAMask-HQ-mask-anno' and anno is None:
                anno = Path(dirpath) / d
        if img and anno:
            break
        if len(Path(dirpath).relative_to(src).parts) >= 3:
            dirnames[:] = []
    if img is None or anno is None:
        raise DataError(f'{src} does not contain the full CelebAMask-HQ release: expected folders CelebA-HQ-img '
                        '(<id>.jpg) and CelebAMask-HQ-mask-anno (<k>/<id:05d>_<part>.png). Unzip '
                        'CelebAMask-HQ.zip and pass its folder.')
    return img, anno


def index_parts(anno_dir: str | os.PathLike) -> dict[int, dict[str, Path]]:
    """``{image id: {part name: path}}`` for every ``<id:05d>_<part>.png`` under ``anno_dir``."""
    index: dict[int, dict[str, Path]] = defaultdict(dict)
    unknown: Counter = Counter()
    pat = re.compile(r'^(\d+)_([a-z_]+)\.png$')
    for dirpath, _, filenames in os.walk(anno_dir):
        for f in filenames:
            m = pat.match(f)
            if not m:
                continue
            if m.group(2) in PARTS:
                index[int(m.group(1))][m.group(2)] = Path(dirpath) / f
            else:
                unknown[m.group(2)] += 1
    if unknown:
        warnings.warn(f'ignored part masks with unknown names: {dict(unknown)}', stacklevel=2)
    return dict(index)


def combine_parts(parts: Mapping[str, str | os.PathLike], size: int | None = None) -> np.ndarray:
    """One label map from per-part binary masks, painted in label order (later parts overwrite earlier ones).

    Any non-zero pixel of a part mask belongs to the part. The map has the size of the part masks
    (512 in the release) unless ``size`` is given (nearest-neighbour resize).
    """
    import cv2

    label: np.ndarray | None = None
    for idx, part in enumerate(PARTS, start=1):
        p = parts.get(part)
        if p is None:
            continue
        m = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise DataError(f'cannot read part mask {p}: re-extract CelebAMask-HQ-mask-anno.')
        if label is None:
            label = np.zeros(m.shape, np.uint8)
        elif m.shape != label.shape:
            m = cv2.resize(m, label.shape[::-1], interpolation=cv2.INTER_NEAREST)
        label[m > 0] = idx
    if label is None:
        label = np.zeros((size or 512, size or 512), np.uint8)
    if size and label.shape != (size, size):
        label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
    return label


def _convert_one(job: tuple) -> int:
    import cv2

    from .synthetic import save_mask

    img_path, parts, img_out, mask_out, size = job
    img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f'cannot read image {img_path}: re-extract CelebA-HQ-img.')
    if img.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    cv2.imwrite(str(img_out), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    save_mask(combine_parts(parts, size), mask_out)
    return len(parts)


def _read_split_file(path: Path) -> dict[str, list[int]]:
    """JSON ``{"train": [ids], ...}`` or text lines ``<id> <split>`` (split name or 0/1/2 as in CelebA)."""
    text = path.read_text()
    if path.suffix.lower() == '.json':
        return {k: [int(os.path.splitext(str(i))[0]) for i in v] for k, v in json.loads(text).items()}
    names = {'0': 'train', '1': 'val', '2': 'test', 'train': 'train', 'val': 'val', 'valid': 'val',
             'validation': 'val', 'test': 'test'}
    out: dict[str, list[int]] = defaultdict(list)
    for n, line in enumerate(text.splitlines(), 1):
        fields = re.split(r'[\s,;]+', line.strip())
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        try:
            out[names[fields[1].lower()]].append(int(os.path.splitext(fields[0])[0]))
        except (IndexError, KeyError, ValueError):
            if n == 1:
                continue  # header
            raise DataError(f'{path} line {n}: {line!r} is not "<id> <split>" (split: train/val/test or '
                            '0/1/2).') from None
    return dict(out)


def resolve_split(split: Any, ids: Sequence[int], seed: int = 0) -> dict[str, list[int]]:
    """Ids per split from a mapping, a split file, counts (ints) or ratios (floats) with a seed, or None.

    None mimics the course: 5000/1000/1000 when 7000 images exist, else the same 5:1:1 proportions.
    """
    ids = sorted(int(i) for i in ids)
    if isinstance(split, (str, os.PathLike)):
        split = _read_split_file(Path(split))
    if isinstance(split, Mapping):
        res = {k: sorted(int(i) for i in v) for k, v in split.items()}
        unknown_keys = set(res) - set(SPLITS)
        if unknown_keys:
            raise DataError(f'unknown split names {sorted(unknown_keys)}; use train, val, test.')
        known = set(ids)
        missing = sorted({i for v in res.values() for i in v} - known)
        if missing:
            raise DataError(f'{len(missing)} ids of the split are not in CelebA-HQ-img, e.g. {missing[:5]}.')
        seen: dict[int, str] = {}
        for k, v in res.items():
            for i in v:
                if i in seen:
                    raise DataError(f'image {i} is in both {seen[i]} and {k}; a split must not overlap.')
                seen[i] = k
        return {s: res.get(s, []) for s in SPLITS}
    n = len(ids)
    if split is None:
        total = sum(EXPECTED_COUNTS.values())
        counts = [EXPECTED_COUNTS[s] if n >= total else EXPECTED_COUNTS[s] * n // total for s in SPLITS]
    else:
        vals = list(split)
        if len(vals) != 3:
            raise DataError(f'split {split!r}: give three numbers (train, val, test).')
        if (all(float(v).is_integer() and v >= 1 for v in vals)
                and not any(isinstance(v, float) and v <= 1 for v in vals)):
            counts = [int(v) for v in vals]
        else:
            if sum(vals) > 1 + 1e-9:
                raise DataError(f'split ratios {vals} sum to more than 1.')
            counts = [round(v * n) for v in vals]
    if sum(counts) > n:
        raise DataError(f'the split asks for {sum(counts)} images ({counts}) but only {n} exist.')
    perm = np.random.default_rng(seed).permutation(n)
    out, start = {}, 0
    for s, c in zip(SPLITS, counts):
        out[s] = sorted(ids[i] for i in perm[start:start + c])
        start += c
    return out


def convert(src: str | os.PathLike, out: str | os.PathLike, split: Any = None, *, size: int = 512, seed: int = 0,
            workers: int | None = None, progress: bool = True) -> Path:
    """Build the course layout at ``out`` from the full CelebAMask-HQ release at ``src``; returns ``out``.

    Images are resized to ``size`` (area interpolation), part masks combined into palette label maps
    (``test/test_mask`` too, for local scoring). File names are the CelebA-HQ ids (``<id>.jpg``).
    ``split``: see :func:`resolve_split`.
    """
    out = Path(out).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f'{out} exists and is not empty; nothing was changed. Choose a new --out folder.')
    img_dir, anno_dir = find_release(src)
    images = {int(p.stem): p for p in img_dir.iterdir() if p.suffix.lower() in ('.jpg', '.jpeg', '.png')
              and p.stem.isdigit()}
    if not images:
        raise DataError(f'no <id>.jpg images in {img_dir}.')
    parts = index_parts(anno_dir)
    no_parts = sorted(set(images) - set(parts))
    if no_parts:
        warnings.warn(f'{len(no_parts)} images have no part masks (e.g. {no_parts[:5]}); their masks will be all '
                      'background', stacklevel=2)
    splits = resolve_split(split, list(images), seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{out.name}.convert-', dir=out.parent))
    try:
        ds = staging / 'dataset'
        jobs = []
        for s, ids in splits.items():
            image_dir(ds, s).mkdir(parents=True)
            mask_dir(ds, s).mkdir(parents=True)
            jobs += [(images[i], parts.get(i, {}), image_dir(ds, s) / f'{i}.jpg', mask_dir(ds, s) / f'{i}.png',
                      size) for i in ids]
        progress_map(_convert_one, jobs, _workers(len(jobs), workers, threshold=100), f'convert {size}px', progress)
        _install(ds, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f'converted to {out}: ' + ', '.join(f'{s} {len(v)}' for s, v in splits.items()))
    return out


# --------------------------------------------------------------------------- check
CheckResult = Check  # the dataset checker's former name of a report line


@dataclass
class CheckReport(Report):
    """Result of :func:`check_dataset`: ``.ok``, ``.results``, ``.counts``; ``.to_frame()`` for a table."""

    root: Path
    results: list[Check]
    counts: dict[str, dict[str, int]]
    sizes: dict[str, int]
    seconds: float
    fail_note: ClassVar[str] = ' (nothing was modified)'

    def counts_frame(self):
        """Images / masks per split (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.counts).T

    def _heading(self) -> list[str]:
        return [f'dataset check: {self.root}',
                '  ' + ', '.join(f'{s}: {c.get("images", 0)} images / {c.get("masks", 0)} masks'
                                 for s, c in self.counts.items())]

    def _html_heading(self) -> str:
        return f'{self.root} ({self.seconds:.1f} s)'


def _scan_image(path: str) -> dict:
    """Fully decode one image: size, mode, error, hash of the file bytes."""
    rec: dict[str, Any] = {'path': path}
    try:
        with open(path, 'rb') as f:
            data = f.read()
        rec['hash'] = hashlib.blake2b(data, digest_size=16).hexdigest()
        import io

        with Image.open(io.BytesIO(data)) as im:
            rec['size'], rec['mode'], rec['format'] = im.size, im.mode, im.format
            im.load()
    except Exception as e:  # any decode failure is a finding, not a crash
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def _scan_mask(path: str) -> dict:
    """Decode one mask: size, mode, max value, and the out-of-range values / colours when relevant."""
    rec: dict[str, Any] = {'path': path}
    try:
        with Image.open(path) as m:
            rec['size'], rec['mode'] = m.size, m.mode
            m.load()
            if m.mode in ('P', 'L'):
                a = np.asarray(m)
                top = int(a.max())
                rec['max'] = top
                if top >= NUM_CLASSES:
                    rec['values'] = np.flatnonzero(np.bincount(a.ravel(), minlength=256)).tolist()
            elif m.mode in ('RGB', 'RGBA'):
                a = np.asarray(m.convert('RGB')).reshape(-1, 3).astype(np.int32)
                codes = np.unique((a[:, 0] << 16) | (a[:, 1] << 8) | a[:, 2])
                pal = {(r << 16) | (g << 8) | b for r, g, b in PALETTE}
                rec['n_colours'] = len(codes)
                rec['palette_colours'] = bool(all(int(c) in pal for c in codes))
                grey = bool(np.all(a[:, 0] == a[:, 1]) and np.all(a[:, 1] == a[:, 2]))
                rec['grey_max'] = int(a[:, 0].max()) if grey else None
            else:
                a = np.asarray(m)
                rec['max'] = int(a.max()) if a.size else 0
    except Exception as e:
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def _scan_chunk(jobs: list[tuple[str, str]]) -> list[dict]:
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, not be padded with grey
    try:
        return [_scan_image(p) if kind == 'image' else _scan_mask(p) for kind, p in jobs]
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def _scan_all(jobs: list[tuple[str, str]], workers: int | None, progress: bool) -> list[dict]:
    n_workers = _workers(len(jobs), workers)
    chunk = 64
    chunks = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    bar = _bar(len(jobs), 'check', progress and bool(jobs))
    out: list[dict] = []
    if n_workers > 1:
        with ProcessPoolExecutor(n_workers) as pool:
            for recs in pool.map(_scan_chunk, chunks):
                out += recs
                bar.update(len(recs))
    else:
        for c in chunks:
            out += _scan_chunk(c)
            bar.update(len(c))
    bar.close()
    return out


def _parse_expect(expect: Any) -> dict[str, int] | None:
    if expect is None or expect is False:
        return None
    if isinstance(expect, str):
        if expect.lower() in ('none', 'no', 'off', ''):
            return None
        expect = [int(x) for x in expect.split(',')]
    if isinstance(expect, Mapping):
        return {k: int(v) for k, v in expect.items()}
    vals = list(expect)
    if len(vals) != 3:
        raise DataError(f'--expect {expect}: give three counts, train,val,test (e.g. 5000,1000,1000) or none.')
    return dict(zip(SPLITS, map(int, vals)))


def check_dataset(root: str | os.PathLike, expect: Any = EXPECTED_COUNTS, workers: int | None = None,
                  progress: bool = True) -> CheckReport:
    """Verify the dataset at ``root`` without modifying anything; returns a :class:`CheckReport`.

    Checks folders, counts (against ``expect``, a warning only; None to skip), image/mask pairs,
    duplicate names, full decoding of every image, mask format (single-channel) and values (0..18),
    sizes, and identical images in two splits. Runs in a process pool (``workers``; 0 = inline).
    """
    t0 = time.perf_counter()
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f'{root} does not exist. Fetch the data first: python -m utils.data fetch SOURCE --out {root}')
    if not root.is_dir():
        raise DataError(f'{root} is a file, not the dataset folder; if it is the zip, run '
                        f'`python -m utils.data fetch {root} --out DIR`.')
    expected = _parse_expect(expect)
    results: list[Check] = []

    def rel(p) -> str:
        return os.path.relpath(p, root)

    # -- folders
    folders = [image_dir(root, s) for s in SPLITS] + [mask_dir(root, s) for s in ('train', 'val')]
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        hint = ''
        if not any(root.iterdir()):
            summary = f'{root} is empty'
            hint = f'Fetch the data: python -m utils.data fetch SOURCE --out {root}. '
        else:
            summary = f'{len(missing)} of {len(folders)} folders missing'
            try:
                layout = locate_dataset(root)
                hint = (f'The data seems to be under {os.path.relpath(layout["train_image"].folder.parent, root)}'
                        f' with other folder names: run `python -m utils.data fetch {root} --out NEW_DIR` to '
                        'copy it into the course layout. ')
            except DataError:
                pass
        results.append(Check('folders', FAIL, summary, [rel(f) + '/' for f in missing],
                             hint + f'Expected {LAYOUT}.'))
    else:
        results.append(Check('folders', PASS, 'all split folders present'))

    # -- names, counts, pairs
    listing: dict[tuple[str, str], list[str]] = {}
    dup_files: list[str] = []
    bad_suffix: list[str] = []
    for split in SPLITS:
        for role, folder in (('image', image_dir(root, split)), ('mask', mask_dir(root, split))):
            if not folder.is_dir():
                continue
            names = _files(folder)
            canon = '.jpg' if role == 'image' else '.png'
            usable = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
            by_stem: dict[str, list[str]] = defaultdict(list)
            for n in usable:
                by_stem[os.path.splitext(n)[0]].append(n)
            for group in by_stem.values():
                if len(group) > 1:
                    dup_files.append(' + '.join(rel(folder / g) for g in group))
            bad_suffix += [rel(folder / n) for n in names if not n.endswith(canon)]
            listing[(split, role)] = usable
    counts = {s: {'images': len(listing.get((s, 'image'), [])), 'masks': len(listing.get((s, 'mask'), []))}
              for s in SPLITS}
    if not any(listing.values()):  # nothing to look at: the other checks would only pass vacuously
        if not missing:
            results[0] = Check('folders', FAIL, 'split folders present but hold no images or masks',
                               [rel(f) + '/' for f in folders], 'the unzip or copy did not complete: '
                               'fetch the data again: python -m utils.data fetch SOURCE --out NEW_DIR.')
        return CheckReport(root, results, counts, {}, time.perf_counter() - t0)
    results.append(check_files('duplicate names', dup_files, 'one file per name', '{n} names used by several files',
                               'keep one file per image (e.g. remove 1.JPG when 1.jpg exists).'))
    results.append(check_files('file names', bad_suffix, 'images .jpg, masks .png',
                               '{n} files are not .jpg images / .png masks',
                               'the loader reads only N.jpg images and N.png masks: rename .jpeg/.JPG files, '
                               'remove other files (`fetch` does both in a new copy).'))

    count_txt = ', '.join(f'{s} {counts[s]["images"]}' for s in SPLITS)
    empty = [rel(image_dir(root, s)) + '/' for s in SPLITS if (s, 'image') in listing and counts[s]['images'] == 0]
    if empty:
        results.append(Check('counts', FAIL, f'{count_txt} images: a split is empty', empty,
                             'the copy or unzip did not complete: fetch the dataset again into a new folder.'))
    elif expected and any(counts[s]['images'] != expected.get(s, counts[s]['images']) for s in SPLITS):
        results.append(Check('counts', WARN, f'{count_txt} images; expected '
                             + '/'.join(str(expected.get(s, '?')) for s in SPLITS),
                             [], 'fine for synthetic or subset data (use expect=None / --expect none); '
                             'for the real dataset re-fetch it: a short count means an incomplete '
                             'download or unzip.'))
    else:
        results.append(Check('counts', PASS, f'{count_txt} images'))

    unpaired: list[str] = []
    for split in SPLITS:
        if (split, 'image') not in listing or (split, 'mask') not in listing:
            continue
        imgs = {os.path.splitext(n)[0]: n for n in listing[(split, 'image')]}
        msks = {os.path.splitext(n)[0]: n for n in listing[(split, 'mask')]}
        unpaired += [f'{rel(image_dir(root, split) / imgs[s])}: no mask {split}/{split}_mask/{s}.png'
                     for s in sorted(set(imgs) - set(msks), key=natural_key)]
        unpaired += [f'{rel(mask_dir(root, split) / msks[s])}: no image {split}/{split}_image/{s}.jpg'
                     for s in sorted(set(msks) - set(imgs), key=natural_key)]
    results.append(check_files('pairs', unpaired, 'every image has its mask and vice versa',
                               '{n} images or masks without their partner',
                               'the data is incomplete (interrupted copy or unzip): fetch it again into a new '
                               'folder.'))

    # -- decode everything (parallel)
    jobs = [(role, str((image_dir if role == 'image' else mask_dir)(root, s) / n))
            for (s, role), names in listing.items() for n in names]
    recs = {r['path']: r for r in _scan_all(jobs, workers, progress)}

    img_err, img_mode, mask_err, mask_rgb, mask_bin, mask_range = [], [], [], [], [], []
    size_bad: list[str] = []
    sizes: Counter = Counter()
    hashes: dict[str, list[str]] = defaultdict(list)
    for (split, role), names in listing.items():
        folder = image_dir(root, split) if role == 'image' else mask_dir(root, split)
        for n in names:
            r = recs[str(folder / n)]
            f = rel(folder / n)
            if role == 'image':
                if 'error' in r:
                    img_err.append(f'{f}: {r["error"]}')
                    continue
                sizes['x'.join(map(str, r['size']))] += 1
                hashes[r['hash']].append(f)
                if r['mode'] != 'RGB':
                    img_mode.append(f'{f}: mode {r["mode"]}')
                mpath = str(mask_dir(root, split) / (os.path.splitext(n)[0] + '.png'))
                mr = recs.get(mpath)
                if mr is not None and 'size' in mr and tuple(mr['size']) != tuple(r['size']):
                    size_bad.append(f'{f} is {r["size"][0]}x{r["size"][1]} but its mask is '
                                    f'{mr["size"][0]}x{mr["size"][1]}')
                continue
            if 'error' in r:
                mask_err.append(f'{f}: {r["error"]}')
            elif r['mode'] in ('RGB', 'RGBA'):
                if r.get('grey_max') is not None and r['grey_max'] < NUM_CLASSES:
                    mask_rgb.append(f'{f}: {r["mode"]} grey, values are labels (convert to one channel)')
                else:
                    kind = 'CelebAMask palette colours' if r.get('palette_colours') else f'{r["n_colours"]} colours'
                    mask_rgb.append(f'{f}: {r["mode"]}, {kind}')
            elif r['mode'] not in ('P', 'L'):
                mask_rgb.append(f'{f}: mode {r["mode"]} (not 8-bit)')
            elif r['max'] >= NUM_CLASSES:
                vals = r['values']
                if set(vals) <= {0, 255}:
                    mask_bin.append(f'{f}: values {vals}')
                else:
                    bad = [v for v in vals if v >= NUM_CLASSES]
                    mask_range.append(f'{f}: values {bad[:8]}{" ..." if len(bad) > 8 else ""} > 18')

    results.append(check_files('images decode', img_err,
                               f'{sum(counts[s]["images"] for s in SPLITS)} images decode fully',
                               '{n} images cannot be fully decoded', 'truncated or corrupt files come from an '
                               'interrupted copy, download or unzip: fetch the dataset again into a new folder.'))
    if img_mode:
        results.append(Check('image mode', WARN, f'{len(img_mode)} images are not RGB', img_mode,
                             'they are converted to RGB when loaded; re-save as RGB JPGs to be safe.'))
    fmt_files = mask_err + mask_rgb
    fmt_fix = []
    if mask_rgb:
        fmt_fix.append('masks saved as colours (RGB): convert them with `python -m utils.data fix-rgb MASK_DIR '
                       '--out NEW_DIR`, or re-export them as 8-bit palette PNGs whose indices are the labels '
                       '(utils.synthetic.save_mask)')
    if mask_err:
        fmt_fix.append('unreadable masks come from an interrupted copy or unzip: fetch the dataset again')
    results.append(Check('mask format', FAIL if fmt_files else PASS,
                         (f'{len(mask_rgb)} masks are not single-channel, {len(mask_err)} unreadable'
                          if fmt_files else 'all masks single-channel (palette or grayscale)'),
                         fmt_files, '; '.join(fmt_fix) + ('.' if fmt_fix else '')))
    val_files = mask_bin + mask_range
    val_fix = []
    if mask_bin:
        val_fix.append('0/255 masks are binary (one part per file, like the full release): build label maps '
                       'with `python -m utils.data convert`')
    if mask_range:
        val_fix.append('labels must be 0..18 (class indices, not colours or 255 = ignore): re-export the masks '
                       'from label arrays with values 0..18')
    results.append(Check('mask values', FAIL if val_files else PASS,
                         (f'{len(mask_bin)} binary 0/255 masks, {len(mask_range)} with values > 18'
                          if val_files else 'all values in 0..18'),
                         val_files, '; '.join(val_fix) + ('.' if val_fix else '')))
    size_txt = ', '.join(f'{k} ({v})' for k, v in sizes.most_common(3)) or 'none'
    if size_bad:
        results.append(Check('sizes', FAIL, f'{len(size_bad)} image/mask pairs differ in size', size_bad,
                             'a mask must have the size of its image: re-export or re-fetch those pairs.'))
    elif len(sizes) > 1:
        results.append(Check('sizes', WARN, f'several image sizes: {size_txt}', [],
                             'images are resized by the pipeline; the course data is all 512x512.'))
    else:
        results.append(Check('sizes', PASS, f'images and masks match: {size_txt}'))

    cross, within = [], []
    for files in hashes.values():
        if len(files) > 1:
            split_of = {f.split(os.sep)[0] for f in files}
            (cross if len(split_of) > 1 else within).append(' = '.join(files))
    if cross:
        results.append(Check('split overlap', FAIL, f'{len(cross)} images appear in two splits', cross,
                             'the same image in train and val/test inflates the scores: remove it from one '
                             'split (keep the official split when in doubt).'))
    elif within:
        results.append(Check('split overlap', WARN, f'no overlap between splits; {len(within)} duplicate '
                             'images within a split', within, 'harmless for training, but check the source.'))
    else:
        results.append(Check('split overlap', PASS, 'no image in two splits'))

    return CheckReport(root, results, counts, dict(sizes), time.perf_counter() - t0)


# --------------------------------------------------------------------------- fix-rgb
def fix_rgb_masks(src: str | os.PathLike, out: str | os.PathLike, progress: bool = True) -> Path:
    """Write palette index masks to the new folder ``out`` from colour masks in ``src`` (never in place).

    RGB masks must use exactly the CelebAMask-HQ palette colours; grey RGB masks with values 0..18
    and single-channel masks are re-saved as palette PNGs.
    """
    from .synthetic import save_mask

    src, out = Path(src), Path(out).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f'{out} exists and is not empty; choose a new folder (nothing was changed).')
    if src.resolve() == out.resolve():
        raise DataError('--out must be a new folder, not the mask folder itself.')
    names = _files(src, ('.png',))
    if not names:
        raise DataError(f'no .png masks in {src}.')
    codes = np.array([(r << 16) | (g << 8) | b for r, g, b in PALETTE], np.int64)
    order = np.argsort(codes)
    sorted_codes = codes[order]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{out.name}.fix-', dir=out.parent))
    try:
        bar = _bar(len(names), 'fix-rgb', progress)
        for name in names:
            with Image.open(src / name) as m:
                if m.mode in ('P', 'L'):
                    label = np.asarray(m)
                else:
                    a = np.asarray(m.convert('RGB')).astype(np.int64)
                    if np.all(a[..., 0] == a[..., 1]) and np.all(a[..., 1] == a[..., 2]) and a.max() < NUM_CLASSES:
                        label = a[..., 0]
                    else:
                        c = (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]
                        pos = np.clip(np.searchsorted(sorted_codes, c), 0, len(codes) - 1)
                        hit = sorted_codes[pos] == c
                        if not hit.all():
                            bad = np.unique(c[~hit])[:5]
                            cols = [((int(v) >> 16) & 255, (int(v) >> 8) & 255, int(v) & 255) for v in bad]
                            raise DataError(f'{src / name}: {int((~hit).sum())} pixels have colours that are not '
                                            f'CelebAMask-HQ classes, e.g. {cols} (smoothed or JPEG-compressed '
                                            'edges?). Re-export the masks from the label arrays instead.')
                        label = order[pos]
            if label.max() >= NUM_CLASSES:
                raise DataError(f'{src / name}: values up to {int(label.max())}, not labels 0..18; cannot convert.')
            save_mask(label.astype(np.uint8), staging / name)
            bar.update()
        bar.close()
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f'{len(names)} palette masks written to {out}')
    return out


# --------------------------------------------------------------------------- CLI
def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r}: expected comma-separated integers, e.g. 5000,1000,1000')


def _split_arg(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r}: expected three numbers, e.g. 5000,1000,1000 or 0.7,0.15,0.15')
    return tuple(int(v) if v.is_integer() and v > 1 else v for v in vals)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m utils.data', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[1:]))
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    sub = p.add_subparsers(dest='cmd', required=True)

    f = sub.add_parser('fetch', help='download/unzip/copy the dataset into the course layout (once)')
    f.add_argument('source', help="Google Drive file id or share URL, a zip or folder path, or 'synthetic'")
    f.add_argument('--out', required=True, help='dataset folder to create, on local disk (e.g. /content/data)')
    f.add_argument('--size', type=int, default=None, help='synthetic only: image size (default 64)')
    f.add_argument('--counts', type=_ints, default=None, help='synthetic only: train,val,test (default 40,12,12)')
    f.add_argument('--full', action='store_true', help='synthetic only: course size, 512 px and 5000,1000,1000')
    f.add_argument('--download-dir', default=None, help='where the Drive zip is kept (default: next to --out)')
    f.add_argument('--quiet', action='store_true', help='no progress bars')

    c = sub.add_parser('convert', help='build the course layout from the full CelebAMask-HQ release')
    c.add_argument('src', help='folder holding CelebA-HQ-img and CelebAMask-HQ-mask-anno')
    c.add_argument('--out', required=True, help='new dataset folder')
    c.add_argument('--split-file', default=None, help='JSON {"train": [ids], ...} or lines "<id> <split>"')
    c.add_argument('--split', type=_split_arg, default=None,
                   help='counts (5000,1000,1000) or ratios (0.7,0.15,0.15); default: course sizes')
    c.add_argument('--seed', type=int, default=0, help='shuffle seed for counts/ratios')
    c.add_argument('--size', type=int, default=512, help='output size in pixels (default 512)')
    c.add_argument('--workers', type=int, default=None, help='processes (default: auto)')
    c.add_argument('--quiet', action='store_true', help='no progress bars')

    k = sub.add_parser('check', help='verify a dataset folder (reads only; exit code 1 on failure)')
    k.add_argument('root', help='dataset folder in the course layout')
    k.add_argument('--expect', default='5000,1000,1000',
                   help="expected train,val,test image counts, a warning only (default 5000,1000,1000; 'none')")
    k.add_argument('--workers', type=int, default=None, help='processes (default: auto; 0 = inline)')
    k.add_argument('--max-files', type=int, default=5, help='files listed per problem')
    k.add_argument('--quiet', action='store_true', help='no progress bar')

    x = sub.add_parser('fix-rgb', help='convert colour (RGB) masks into palette index masks in a new folder')
    x.add_argument('mask_dir', help='folder of RGB masks')
    x.add_argument('--out', required=True, help='new folder for the converted masks')
    x.add_argument('--quiet', action='store_true', help='no progress bar')
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 check failed, 2 error)."""
    args = build_parser().parse_args(argv)
    progress = not args.quiet
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('always')
            warnings.showwarning = lambda msg, *a, **k: print(f'warning: {msg}', file=sys.stderr)
            if args.cmd == 'fetch':
                size, counts = args.size, args.counts
                if args.full:
                    size, counts = size or SYNTHETIC_FULL['size'], counts or SYNTHETIC_FULL['counts']
                if counts is not None and len(counts) != 3:
                    raise DataError(f'--counts {counts}: give train,val,test.')
                fetch(args.source, args.out, size=size, counts=counts, download_dir=args.download_dir,
                      progress=progress)
            elif args.cmd == 'convert':
                convert(args.src, args.out, args.split_file or args.split, size=args.size, seed=args.seed,
                        workers=args.workers, progress=progress)
            elif args.cmd == 'check':
                report = check_dataset(args.root, expect=args.expect, workers=args.workers, progress=progress)
                print(report.format(max_files=args.max_files))
                return 0 if report.ok else 1
            elif args.cmd == 'fix-rgb':
                fix_rgb_masks(args.mask_dir, args.out, progress=progress)
    except KeyboardInterrupt:
        print('interrupted; nothing half-written was left at the target.', file=sys.stderr)
        return 130
    except Exception as e:  # the CLI names the problem instead of dumping a traceback
        return cli_error(e, DataError, args.debug)
    return 0


if __name__ == '__main__':
    sys.exit(main())
