"""What the parts of ``utils.submit`` share: the error type, file names, hashing, atomic writes of masks."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..labels import CLASSES, NUM_CLASSES, pil_palette
from ..layout import IMAGE_SUFFIXES, natural_key

MANIFEST = 'manifest.json'
#: Face parts that (nearly) every CelebAMask test face shows; a set of predictions without one is suspect.
CORE_CLASSES = tuple(CLASSES.index(c) for c in ('skin', 'nose', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
                                                 'u_lip', 'l_lip'))
JUNK_NAMES = {'.DS_Store', 'Thumbs.db', 'desktop.ini'}
TMP_MARK = '.part-'


class SubmitError(Exception):
    """A problem with the user's input or output paths; the message names the file and the fix."""


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


def checkpoint_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = file_sha256(path)
    return _SHA_CACHE[key]


def human_bytes(n: float) -> str:
    for unit in ('B', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n:.1f} GB'


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f'.{path.name}{TMP_MARK}{os.getpid()}')
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
    tmp = path.with_name(f'.{path.name}{TMP_MARK}{os.getpid()}-{id(labels):x}')
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
