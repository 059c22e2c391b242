"""Build the course layout from the full CelebAMask-HQ release: combine the per-part masks in label order."""
from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.base.labels import CLASSES
from utils.base.layout import SPLITS, image_dir, mask_dir
from utils.base.parallel import default_workers, progress_map
from utils.data.common import EXPECTED_COUNTS, JUNK_DIRS, DataError, clean_staging, make_staging, positive
from utils.data.unpack import install

#: Per-part mask names of the full CelebAMask-HQ release, in label order (label = index in CLASSES).
PARTS: tuple[str, ...] = CLASSES[1:]


def find_release(src: str | os.PathLike) -> tuple[Path, Path]:
    """``(CelebA-HQ-img, CelebAMask-HQ-mask-anno)`` folders somewhere under ``src``."""
    src = Path(src)
    img = anno = None
    for dirpath, dirnames, _ in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in JUNK_DIRS and not d.startswith('.')]
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


def combine_parts(parts: Mapping[str, str | os.PathLike], size: int | None = None,
                  resized: list[str] | None = None) -> np.ndarray:
    """One label map from per-part binary masks, painted in label order (later parts overwrite earlier ones).

    Any non-zero pixel of a part mask belongs to the part. The map has the size of the part masks
    (512 in the release) unless ``size`` is given (nearest-neighbour resize). A part mask of another
    size than the image's first part mask is resized to it (nearest neighbour) and reported: appended
    to ``resized`` when given, else as a warning naming the files.
    """
    import cv2

    if size is not None and (not isinstance(size, int) or size < 1):
        raise DataError(f'size={size!r}: give a positive number of pixels, e.g. 512.')
    label: np.ndarray | None = None
    first: str | os.PathLike | None = None
    odd: list[str] = []
    for idx, part in enumerate(PARTS, start=1):
        p = parts.get(part)
        if p is None:
            continue
        m = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise DataError(f'cannot read part mask {p}: re-extract CelebAMask-HQ-mask-anno.')
        if label is None:
            label, first = np.zeros(m.shape, np.uint8), p
        elif m.shape != label.shape:
            odd.append(f'{p} ({m.shape[1]}x{m.shape[0]}, not {label.shape[1]}x{label.shape[0]} like {Path(first).name})')
            m = cv2.resize(m, label.shape[::-1], interpolation=cv2.INTER_NEAREST)
        label[m > 0] = idx
    if odd and resized is not None:
        resized += odd
    elif odd:
        warnings.warn(f'resized {len(odd)} part masks of another size: {"; ".join(odd[:3])}', stacklevel=2)
    side = 512 if size is None else size
    if label is None:
        label = np.zeros((side, side), np.uint8)
    if size is not None and label.shape != (size, size):
        label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
    return label


def _convert_one(job: tuple) -> list[str]:
    """Convert one image and its parts; returns the part masks that had to be resized."""
    import cv2

    from utils.core.synthetic import save_mask

    img_path, parts, img_out, mask_out, size = job
    img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f'cannot read image {img_path}: re-extract CelebA-HQ-img.')
    if img.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    cv2.imwrite(str(img_out), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    resized: list[str] = []
    save_mask(combine_parts(parts, size, resized), mask_out)
    return resized


def _index_images(img_dir: Path) -> dict[int, Path]:
    """``{id: path}`` of ``<id>.jpg`` images; two files for one id (``5.jpg`` and ``00005.jpg``) raise DataError."""
    images: dict[int, Path] = {}
    twins: list[str] = []
    for p in sorted(img_dir.iterdir(), key=lambda p: (len(p.name), p.name)):  # 5.jpg before 00005.jpg
        if p.suffix.lower() not in ('.jpg', '.jpeg', '.png') or not p.stem.isdigit():
            continue
        i = int(p.stem)
        if i in images:
            twins.append(f'{images[i].name} and {p.name} (both id {i})')
        else:
            images[i] = p
    if twins:
        raise DataError(f'{img_dir} has two files for one image id: {"; ".join(twins[:5])}'
                        f'{" ..." if len(twins) > 5 else ""}. Nothing was written: keep one file per id and '
                        'convert again.')
    return images


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
            raise DataError(f'{len(missing)} ids of the split are not in CelebA-HQ-img, e.g. {missing[:5]}: use a split '
                            'file made for this release, or remove those ids from it.')
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
        if any(v < 0 for v in vals):
            raise DataError(f'split {split!r}: counts and ratios must not be negative (e.g. 5000,1000,1000 or '
                            '0.7,0.15,0.15).')
        if (all(float(v).is_integer() and v >= 1 for v in vals)
                and not any(isinstance(v, float) and v <= 1 for v in vals)):
            counts = [int(v) for v in vals]
        else:
            if sum(vals) > 1 + 1e-9:
                raise DataError(f'split ratios {vals} sum to more than 1: give ratios that add up to 1 at most, e.g. '
                                '0.7,0.15,0.15.')
            counts = [round(v * n) for v in vals]
    if sum(counts) > n:
        raise DataError(f'the split asks for {sum(counts)} images ({counts}) but only {n} exist: ask for fewer (e.g. '
                        'ratios such as 0.7,0.15,0.15), or pass the full release.')
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
    positive('size', size)
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise DataError(f'workers={workers!r}: give 0 (no extra processes) or a positive number of processes.')
    clean_staging(out.parent, 'convert')
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f'{out} exists and is not empty; nothing was changed. Choose a new --out folder.')
    img_dir, anno_dir = find_release(src)
    images = _index_images(img_dir)
    if not images:
        raise DataError(f'no <id>.jpg images in {img_dir}: unzip CelebAMask-HQ.zip completely and pass its folder.')
    parts = index_parts(anno_dir)
    no_parts = sorted(set(images) - set(parts))
    if no_parts:
        warnings.warn(f'{len(no_parts)} images have no part masks (e.g. {no_parts[:5]}); their masks will be all '
                      'background', stacklevel=2)
    splits = resolve_split(split, list(images), seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging(out, 'convert')
    try:
        ds = staging / 'dataset'
        jobs = []
        for s, ids in splits.items():
            image_dir(ds, s).mkdir(parents=True)
            mask_dir(ds, s).mkdir(parents=True)
            jobs += [(images[i], parts.get(i, {}), image_dir(ds, s) / f'{i}.jpg', mask_dir(ds, s) / f'{i}.png',
                      size) for i in ids]
        resized = [r for rs in progress_map(_convert_one, jobs, default_workers(len(jobs), workers, threshold=100),
                                            f'convert {size}px', progress) for r in rs]
        if resized:
            warnings.warn(f'{len(resized)} part masks differ in size from the other parts of their image and were '
                          f'resized (nearest neighbour) to match: {"; ".join(resized[:3])}'
                          f'{" ..." if len(resized) > 3 else ""}. The release\'s part masks are all 512x512: check '
                          'these files (re-extract CelebAMask-HQ-mask-anno if they are damaged).', stacklevel=2)
        install(ds, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f'converted to {out}: ' + ', '.join(f'{s} {len(v)}' for s, v in splits.items()))
    return out
