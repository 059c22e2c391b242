"""Unpack and recognise a dataset safely: checked zip extraction, finding the split folders, the course layout."""
from __future__ import annotations

import os
import re
import shutil
import stat
import warnings
import zipfile
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..layout import IMAGE_SUFFIXES, LAYOUT, image_dir, list_files, mask_dir
from .common import JUNK_DIRS, DataError, progress_bar


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
        keep = [i for i in infos if not (set(i.filename.replace('\\', '/').split('/')) & JUNK_DIRS)
                and not i.filename.endswith('.DS_Store')]
        total = sum(i.file_size for i in keep if not i.is_dir())
        dest.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest).free
        if total > free:
            raise DataError(f'{zip_path} unpacks to {total / 2**30:.1f} GiB but {dest} has only '
                            f'{free / 2**30:.1f} GiB free; free some space or extract elsewhere.')
        bar = progress_bar(total, f'unzip {zip_path.name}', progress, unit='B', unit_scale=True)
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
        dirnames[:] = sorted(d for d in dirnames if d not in JUNK_DIRS and not d.startswith('.'))
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


def normalise(layout: Mapping[str, _Source], dest: Path, move: bool, progress: bool = True) -> Path:
    """Copy (or move) the located files into the canonical layout under ``dest`` (.jpeg -> .jpg)."""
    jobs: list[tuple[Path, Path, bool]] = []
    converted = 0
    for key, src in layout.items():
        split, role = key.split('_')
        out_dir = image_dir(dest, split) if role == 'image' else mask_dir(dest, split)
        out_dir.mkdir(parents=True, exist_ok=True)
        targets: dict[str, str] = {}
        for name in list_files(src.folder, src.suffixes):
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

    bar = progress_bar(len(jobs), 'move files' if move else 'copy files', progress)
    with ThreadPoolExecutor(16) as pool:  # threads: Drive (FUSE) copies are latency-bound
        for _ in pool.map(one, jobs):
            bar.update()
    bar.close()
    return dest


def install(ds: Path, out: Path) -> None:
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
