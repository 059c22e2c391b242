"""Unpack and recognise a dataset safely: checked zip extraction, finding the split folders, the course layout."""
from __future__ import annotations

import os
import re
import shutil
import stat
import warnings
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from utils.base.layout import IMAGE_SUFFIXES, LAYOUT, image_dir, mask_dir, natural_key
from utils.data.common import JUNK_DIRS, DataError, progress_bar


#: Dataset zips hold JPG/PNG files, which barely compress (about 1:1). A zip whose files would expand more
#: than this in total (by the sizes it declares) is refused as a zip bomb before anything is written...
MAX_TOTAL_RATIO = 20
#: ... unless the total stays below this: a few MB of well-compressed text harm nobody.
RATIO_FLOOR = 32 << 20
#: One entry may expand at most this much, when it unpacks to more than BIG_ENTRY bytes.
MAX_ENTRY_RATIO = 100
BIG_ENTRY = 4 << 20
#: The first bytes of a zip file (a local file header).
ZIP_MAGIC = b'PK\x03\x04'
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_ZIP_FIX = ('Delete it and download it again (or copy it again from Drive), then fetch again; nothing was '
            'extracted.')


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


def zip_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a usable zip (truncated download, not a zip at all), or None when it opens as one."""
    path = Path(path)
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
        if zipfile.is_zipfile(path):
            return None
    except OSError as e:
        return f'it cannot be read ({e.strerror or e})'
    if head == ZIP_MAGIC:
        return (f'it starts like a zip but its end (the central directory) is missing: the download or copy is '
                f'incomplete ({path.stat().st_size} bytes)')
    return 'it is not a zip file'


def _parts(info: zipfile.ZipInfo) -> list[str]:
    return [p for p in info.filename.replace('\\', '/').split('/') if p not in ('', '.')]


def _clashes(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Entries that would land on one path: a name twice, or a file and a folder with one name."""
    files: Counter = Counter()
    dirs: set[str] = set()
    for info in infos:
        parts = _parts(info)
        for i in range(1, len(parts)):
            dirs.add('/'.join(parts[:i]))
        if info.is_dir():
            dirs.add('/'.join(parts))
        else:
            files['/'.join(parts)] += 1
    return ([f"'{k}' ({n} times)" for k, n in files.items() if n > 1]
            + [f"'{k}' (a file and a folder)" for k in files if k in dirs])


def _bomb_problem(zip_path: Path, infos: list[zipfile.ZipInfo]) -> str | None:
    """Why the declared sizes look like a zip bomb (see MAX_TOTAL_RATIO, MAX_ENTRY_RATIO), or None."""
    total = sum(i.file_size for i in infos)
    packed = max(1, min(sum(i.compress_size for i in infos), zip_path.stat().st_size))
    for i in infos:
        if i.file_size > BIG_ENTRY and i.file_size > MAX_ENTRY_RATIO * max(1, i.compress_size):
            return (f'entry {i.filename!r} expands from {i.compress_size} to {i.file_size} bytes, more than '
                    f'{MAX_ENTRY_RATIO}:1')
    if total > RATIO_FLOOR and total > MAX_TOTAL_RATIO * packed:
        return (f'its files expand from {packed / 2**20:.1f} MiB to {total / 2**30:.2f} GiB, more than '
                f'{MAX_TOTAL_RATIO}:1 (JPG and PNG files barely compress)')
    return None


def _check_entries(zip_path: Path, infos: list[zipfile.ZipInfo], real_dest: Path) -> None:
    """Refuse (before anything is written) unsafe, duplicate, encrypted or bomb-like entries."""
    bad = [(i.filename, why) for i in infos if (why := _zip_entry_problem(i, real_dest))]
    if bad:
        listed = '; '.join(f'{n!r} ({w})' for n, w in bad[:5])
        raise DataError(f'unsafe zip {zip_path}: {len(bad)} entr{"y" if len(bad) == 1 else "ies"} would '
                        f'write outside the target folder or create links: {listed}'
                        f'{" ..." if len(bad) > 5 else ""}. Nothing was extracted. Use a zip made '
                        'from the dataset folder itself (e.g. `cd data && zip -r ../celebamask.zip .`).')
    clashes = _clashes(infos)
    if clashes:
        raise DataError(f'{zip_path} has duplicate entries: {", ".join(clashes[:5])}'
                        f'{" ..." if len(clashes) > 5 else ""}. Nothing was extracted. Make the zip again from the '
                        'dataset folder (e.g. `cd data && zip -r ../celebamask.zip .`) or download it again.')
    locked = [i.filename for i in infos if i.flag_bits & 0x1]
    if locked:
        raise DataError(f'{zip_path} is password-protected ({locked[0]}, ...). Nothing was extracted: unzip it '
                        'yourself and fetch the folder.')
    odd = [i.filename for i in infos if i.compress_type not in _METHODS]
    if odd:
        raise DataError(f'{zip_path} uses a compression method Python cannot unpack (e.g. Deflate64, made by some '
                        f'Mac/Windows zip tools) for {odd[0]}. Nothing was extracted: unzip it yourself and fetch the '
                        'folder, or make the zip again with `zip -r`.')
    bomb = _bomb_problem(zip_path, infos)
    if bomb:
        raise DataError(f'{zip_path} looks like a zip bomb: {bomb}. Nothing was extracted. A dataset zip of JPG/PNG '
                        'files is about as large as its contents: download the real dataset zip again.')


def _copy_entry(zip_path: Path, info: zipfile.ZipInfo, src, out) -> None:
    """Copy one entry, stopping with :class:`DataError` if it yields more bytes than it declares."""
    left = info.file_size
    while block := src.read(min(1 << 20, left + 1)):
        if len(block) > left:
            raise DataError(f'{zip_path}: entry {info.filename!r} unpacks to more than the {info.file_size} bytes it '
                            f'declares (a damaged or forged zip). {_ZIP_FIX}')
        out.write(block)
        left -= len(block)


def safe_extract(zip_path: str | os.PathLike, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Extract ``zip_path`` into the new or empty folder ``dest``, after checking every entry first.

    Refuses (extracting nothing) archives with absolute paths, ``..`` components, symbolic links,
    duplicate entries, encryption, zip-bomb ratios (:data:`MAX_TOTAL_RATIO`, :data:`MAX_ENTRY_RATIO`)
    and archives larger than the free disk space. ``__MACOSX`` and ``.DS_Store`` entries are skipped.
    A damaged entry stops the extraction with the zip's path and the fix, and what was extracted is removed.
    """
    zip_path, dest = Path(zip_path), Path(dest).absolute()
    if dest.exists() and any(dest.iterdir()):
        raise DataError(f'{dest} is not empty; extract into a new folder (nothing was changed).')
    why = zip_problem(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(f'{zip_path} is not a readable zip: {why or e}. If it was downloaded, the download is '
                        'incomplete or Google Drive returned a web page instead of the file: delete it and '
                        'fetch again, or download it in a browser.') from None
    with zf:
        infos = zf.infolist()
        real_dest = dest.resolve() if dest.exists() else dest.parent.resolve() / dest.name
        keep = [i for i in infos if not (set(_parts(i)) & JUNK_DIRS) and not i.filename.endswith('.DS_Store')
                and _parts(i)]
        _check_entries(zip_path, keep, real_dest)
        total = sum(i.file_size for i in keep if not i.is_dir())
        existing = next(p for p in (dest, *dest.parents) if p.exists())
        free = shutil.disk_usage(existing).free
        if total > free:
            raise DataError(f'{zip_path} unpacks to {total / 2**30:.1f} GiB but {dest} has only '
                            f'{free / 2**30:.1f} GiB free; free some space or extract elsewhere.')
        created = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        bar = progress_bar(total, f'unzip {zip_path.name}', progress, unit='B', unit_scale=True)
        try:
            for info in keep:
                target = dest.joinpath(*_parts(info))
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zf.open(info) as src, open(target, 'xb') as out:
                        _copy_entry(zip_path, info, src, out)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as e:
                    raise DataError(f'{zip_path} is damaged: entry {info.filename!r} cannot be unpacked '
                                    f'({type(e).__name__}: {e}). {_ZIP_FIX}') from None
                bar.update(info.file_size)
        except BaseException:
            _remove_extracted(dest, keep, created)
            raise
        finally:
            bar.close()
    return dest


def _remove_extracted(dest: Path, infos: list[zipfile.ZipInfo], created: bool) -> None:
    """Remove what an aborted extraction wrote into ``dest`` (new or empty before it started)."""
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for top in {_parts(i)[0] for i in infos}:
        p = dest / top
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            p.unlink()


def nested_zips(root: str | os.PathLike) -> list[str]:
    """Zip files under ``root`` (relative paths) when it holds no image at all: a zip inside the zip."""
    zips: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in JUNK_DIRS and not d.startswith('.')]
        for f in filenames:
            if f.lower().endswith(IMAGE_SUFFIXES) and not f.startswith('.'):
                return []
            if f.lower().endswith('.zip') and not f.startswith('.'):
                zips.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(zips)


# --------------------------------------------------------------------------- finding the dataset
_SPLIT_WORDS = {'train': {'train', 'training', 'trn', 'trainset'},
                'val': {'val', 'valid', 'validation', 'dev', 'valset'},
                'test': {'test', 'testing', 'tst', 'testset'}}
_ROLE_WORDS = {'image': {'image', 'images', 'img', 'imgs', 'jpg', 'jpgs', 'jpeg', 'jpegs', 'photo', 'photos',
                         'pic', 'pics', 'picture', 'pictures', 'input', 'inputs', 'rgb'},
               'mask': {'mask', 'masks', 'label', 'labels', 'lbl', 'lbls', 'anno', 'annos', 'annotation',
                        'annotations', 'seg', 'segs', 'segmentation', 'segmentations', 'gt', 'gts', 'parsing',
                        'target', 'targets', 'labelmap', 'labelmaps'}}


def split_named(name: str) -> str | None:
    """The split a file or folder name says (``train.zip`` -> train, ``dev-public`` -> val), or None."""
    return _match(_SPLIT_WORDS, os.path.splitext(name)[0] if name.lower().endswith('.zip') else name)


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
    root: Path | None = None  # the source folder: a linked file is copied only when it points inside it


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk(root: Path):
    """``os.walk`` that also enters links to folders inside ``root`` (never in a loop), skipping hidden, junk
    and outside-linked folders; yields ``(folder, dirnames, filenames)``."""
    real_root = Path(os.path.realpath(root))
    chains = {os.fspath(root): {real_root}}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        chain = chains.pop(dirpath, {Path(os.path.realpath(dirpath))})
        keep = []
        for d in sorted(dirnames):
            real = Path(os.path.realpath(os.path.join(dirpath, d)))
            if d in JUNK_DIRS or d.startswith('.') or real in chain or not _inside(real, real_root):
                continue
            chains[os.path.join(dirpath, d)] = chain | {real}
            keep.append(d)
        dirnames[:] = keep
        yield Path(dirpath), dirnames, filenames


def source_links(root: str | os.PathLike) -> tuple[list[str], list[str]]:
    """The symbolic links a copy of ``root`` meets, as ``'name -> target'``: ``(inside, outside)`` by where they point."""
    root = Path(root)
    real_root = Path(os.path.realpath(root))
    inside: list[str] = []
    outside: list[str] = []
    for here, _, _ in _walk(root):
        for e in sorted(os.scandir(here), key=lambda e: e.name):
            if e.name.startswith('.') or e.name in JUNK_DIRS or not e.is_symlink():
                continue
            text = f'{os.path.relpath(e.path, root)} -> {os.readlink(e.path)}'
            (inside if _inside(Path(os.path.realpath(e.path)), real_root) else outside).append(text)
    return inside, outside


def check_links(root: str | os.PathLike) -> None:
    """Refuse a source folder with links that point outside it; warn about (and follow) links that stay inside."""
    inside, outside = source_links(root)
    if outside:
        raise DataError(f'{root} holds {len(outside)} symbolic link{"s" if len(outside) > 1 else ""} that point '
                        f'outside it: {"; ".join(outside[:5])}{" ..." if len(outside) > 5 else ""}. Nothing was '
                        'copied: a dataset is copied only from files inside its folder. Put the real files in '
                        'place of those links (or remove the links) and fetch again.')
    if inside:
        warnings.warn(f'{root} holds {len(inside)} symbolic link{"s" if len(inside) > 1 else ""} to files or '
                      f'folders inside it; followed them: {"; ".join(inside[:5])}{" ..." if len(inside) > 5 else ""}',
                      stacklevel=3)


#: The folders a dataset must have: the 2022 layout, and the 2025-26 one (val without masks in 2026).
REQUIRED = ('train_image', 'train_mask', 'val_image', 'val_mask', 'test_image')
REQUIRED_2025 = ('train_image', 'train_mask', 'val_image', 'test_image')


def locate_dataset(root: str | os.PathLike, split_hint: str | None = None,
                   required: tuple[str, ...] = REQUIRED) -> dict[str, _Source]:
    """Find the split folders under ``root`` whatever their wrapper and names.

    Understands an extra top folder, ``__MACOSX``, ``train/images`` + ``train/masks``, ``Train/Image``,
    ``images/train`` + ``labels/train``, and images and masks side by side (``train/0.jpg`` +
    ``train/0.png``); follows links to folders inside ``root``. The folder nearest the files that names a
    split wins (``dev-public/train/images`` is train; ``dev-public/images`` is val, "dev" being the
    leaderboard's name for it); files under no split name belong to ``split_hint`` (the split a zip's own name
    says, e.g. ``train.zip`` holding ``images/`` + ``masks/``). Returns ``{'train_image': ...,
    'train_mask': ..., ..., 'test_image': ...}`` (``test_mask`` when present); raises :class:`DataError`
    naming what it found otherwise (a folder of ``required`` missing, JPG masks, a zip inside the folder, the
    full release...).
    """
    root = Path(root)
    found: dict[str, list[_Source]] = defaultdict(list)
    seen_dirs: list[str] = []
    zips: list[str] = []
    jpg_masks: dict[str, tuple[Path, list[str]]] = {}
    full_release = False
    for here, _, filenames in _walk(root):
        if here.name in ('CelebAMask-HQ-mask-anno', 'CelebA-HQ-img'):
            full_release = True
        zips += [os.path.relpath(here / f, root) for f in filenames if f.lower().endswith('.zip')]
        files = [f for f in filenames if not f.startswith('.') and f.lower().endswith(IMAGE_SUFFIXES)]
        if not files:
            continue
        rel = here.relative_to(root).parts
        seen_dirs.append(f'{"/".join(rel) or "."} ({len(files)} files)')
        split = next((s for p in reversed(rel) if (s := _match(_SPLIT_WORDS, p))), split_hint)
        role = next((r for p in reversed(rel) if (r := _match(_ROLE_WORDS, p))), None)
        if split is None:
            continue
        by_suffix = Counter(os.path.splitext(f)[1].lower() for f in files)
        jpgs = by_suffix['.jpg'] + by_suffix['.jpeg']
        if role == 'image':
            found[f'{split}_image'].append(_Source(here, ('.jpg', '.jpeg', '.png', '.bmp'), len(files), root))
        elif role == 'mask':
            found[f'{split}_mask'].append(_Source(here, ('.png',), by_suffix['.png'], root))
            pngs = {os.path.splitext(f)[0] for f in files if f.lower().endswith('.png')}
            lossy = [f for f in files if f.lower().endswith(('.jpg', '.jpeg')) and os.path.splitext(f)[0] not in pngs]
            if lossy:
                jpg_masks[f'{split}_mask'] = (here, sorted(lossy, key=natural_key))
        elif jpgs:  # images and masks side by side, or images only (test)
            found[f'{split}_image'].append(_Source(here, ('.jpg', '.jpeg'), jpgs, root))
            if by_suffix['.png']:
                found[f'{split}_mask'].append(_Source(here, ('.png',), by_suffix['.png'], root))
    layout: dict[str, _Source] = {}
    for key, cands in found.items():
        cands.sort(key=lambda c: -c.n)
        if len(cands) > 1:
            warnings.warn(f'several candidate folders for {key}: '
                          f'{", ".join(str(c.folder.relative_to(root)) for c in cands)}; '
                          f'used the largest, {cands[0].folder.relative_to(root)}', stacklevel=2)
        layout[key] = cands[0]
    for key, (folder, names) in jpg_masks.items():
        if layout[key].folder == folder:
            raise DataError(f'{len(names)} masks in {folder} are JPG files ({", ".join(names[:3])}'
                            f'{", ..." if len(names) > 3 else ""}): masks must be PNG, because JPEG compression '
                            'changes pixel values and so the labels 0..18. Get the PNG masks of the dataset (or '
                            're-export the masks as PNG from the label arrays) and fetch again.')
    missing = [k for k in required if k not in layout]
    if missing:
        if full_release:
            hint = (' This looks like the full CelebAMask-HQ release (CelebA-HQ-img + CelebAMask-HQ-mask-anno): '
                    'build the course layout with `python -m utils.data convert SRC --out DIR`.')
        elif not seen_dirs and zips:
            hint = (f' It holds no images but {len(zips)} zip file(s): {", ".join(zips[:3])}. Fetch that zip instead '
                    f'(python -m utils.data fetch {root / zips[0]} --out DIR).')
        elif not seen_dirs:
            hint = f' No images at all under {root}: is it the right folder, or is the download/unzip incomplete?'
        else:
            hint = ' Folders with images: ' + ', '.join(seen_dirs[:8]) + ('...' if len(seen_dirs) > 8 else '') + '.'
        raise DataError(f'no {", ".join(missing)} folder found under {root}.{hint} Expected {LAYOUT}; '
                        'folder names such as train/images + train/masks or Train/Image are also understood.')
    return layout


def _source_files(src: _Source) -> list[str]:
    """Visible files of a source folder with its suffixes; links are followed only when they point inside the source."""
    suf = tuple(s.lower() for s in src.suffixes)
    names = []
    for e in os.scandir(src.folder):
        if e.name.startswith('.') or not e.name.lower().endswith(suf) or not e.is_file():
            continue
        if e.is_symlink() and (src.root is None or
                               not _inside(Path(os.path.realpath(e.path)), Path(os.path.realpath(src.root)))):
            raise DataError(f'{e.path} is a symbolic link to {os.readlink(e.path)}, outside the source folder. Nothing '
                            'was written: put the real file in its place and fetch again.')
        names.append(e.name)
    return sorted(names, key=natural_key)


def normalise(layout: Mapping[str, _Source], dest: Path, move: bool, progress: bool = True) -> Path:
    """Copy (or move) the located files into the canonical layout under ``dest`` (.jpeg -> .jpg)."""
    jobs: list[tuple[Path, Path, bool]] = []
    converted = 0
    for key, src in layout.items():
        split, role = key.split('_')
        out_dir = image_dir(dest, split) if role == 'image' else mask_dir(dest, split)
        out_dir.mkdir(parents=True, exist_ok=True)
        targets: dict[str, str] = {}
        for name in _source_files(src):
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
