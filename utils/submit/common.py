"""What the parts of ``utils.submit`` share: the error type, file names, hashing, atomic writes of masks, and
the manifest that says which files this tool wrote (the only files it ever replaces)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from utils.base.labels import CLASSES, NUM_CLASSES, pil_palette
from utils.base.layout import IMAGE_SUFFIXES, TMP_MARK, header_size, natural_key, write_atomic, write_json_atomic  # noqa: F401
from utils.base.layout import KnownError
from utils.base.trust import sha256_file

MANIFEST = 'manifest.json'
#: ``tool`` field of the manifests this package writes.
OWNER = 'utils.submit'
#: Face parts that (nearly) every CelebAMask test face shows; a set of predictions without one is suspect.
CORE_CLASSES = tuple(CLASSES.index(c) for c in ('skin', 'nose', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
                                                 'u_lip', 'l_lip'))
JUNK_NAMES = {'.DS_Store', 'Thumbs.db', 'desktop.ini'}


class SubmitError(KnownError):
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
    """(width, height) of an image from its header (huge images too), or None when it cannot be opened."""
    try:
        with Image.open(path) as im:
            return im.size
    except Image.DecompressionBombError:
        try:
            return header_size(path)
        except OSError:
            return None
    except Exception:  # noqa: BLE001 - any unreadable image has no size; read_image reports why
        return None


def image_fingerprint(path: str | os.PathLike, chunk: int = 1 << 20) -> dict | None:
    """``{'image': name, 'bytes': size, 'blake2b': hex}`` of an image file's bytes, or None when it cannot be read."""
    h = hashlib.blake2b(digest_size=16)
    n = 0
    try:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(chunk), b''):
                h.update(block)
                n += len(block)
    except OSError:
        return None
    return {'image': Path(path).name, 'bytes': n, 'blake2b': h.hexdigest()}


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


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


# --------------------------------------------------------------------------- what this tool wrote (the manifest)
def read_manifest(masks_dir: Path) -> dict | None:
    """The manifest this tool wrote into ``masks_dir``; None when absent, unreadable, another tool's or of an old format."""
    try:
        data = json.loads((Path(masks_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get('tool') != OWNER or not isinstance(data.get('masks'), dict):
        return None
    return data


def free_name(path: Path) -> Path:
    """``path`` when nothing is there, else the first free ``<stem>-2<suffix>``, ``<stem>-3<suffix>``, ..."""
    cand, n = Path(path), 2
    while os.path.lexists(cand):
        cand, n = path.with_name(f'{path.stem}-{n}{path.suffix}'), n + 1
    return cand


def _examples(names: list[str], n: int = 3) -> str:
    return ', '.join(names[:n]) + (', ...' if len(names) > n else '')


def check_masks_location(masks_dir: Path, images_dir: Path) -> None:
    """Refuse a masks folder inside the image folder, or a dataset's ``*_mask`` folder (ground truth)."""
    if is_inside(masks_dir, images_dir):
        raise SubmitError(f'The masks folder {masks_dir} is inside the image folder {images_dir}: its PNGs would be '
                          'taken for test images. Choose a folder outside it (--masks-dir or another --out).')
    name, parent = masks_dir.name, masks_dir.parent
    if name.endswith('_mask') and (name == f'{parent.name}_mask' or (parent / f'{name[:-5]}_image').is_dir()):
        alt = free_name(Path('predicted_masks').absolute())
        raise SubmitError(f'--masks-dir {masks_dir} is the mask folder of a dataset (ground truth next to its '
                          f'{name[:-5]}_image folder): predictions are never written there. Nothing was changed. '
                          f'Choose a new folder outside the dataset, e.g. --masks-dir {alt}.')


def claim_masks_dir(masks_dir: Path) -> dict | None:
    """The manifest of a masks folder this tool made (None for a new or empty folder); refuse any other folder.

    Refused whatever the flags, ``--overwrite`` included: a file, a folder with files but no manifest
    of this tool, or a folder with PNG files that its manifest does not list (never written by this tool).
    """
    masks_dir = Path(masks_dir)
    alt = free_name(masks_dir.with_name(f'{masks_dir.name}-new'))
    fix = (f'Nothing was changed, and those files are never replaced, not even with --overwrite: choose a new '
           f'folder for the predictions, e.g. --masks-dir {alt}.')
    if not os.path.lexists(masks_dir):
        return None
    if masks_dir.is_symlink() or not masks_dir.is_dir():
        raise SubmitError(f'--masks-dir {masks_dir} exists and is not a folder. {fix}')
    entries = sorted((p.name for p in masks_dir.iterdir() if not p.name.startswith('.')), key=natural_key)
    manifest = read_manifest(masks_dir)
    if manifest is None:
        if not entries:
            return None
        pngs = [e for e in entries if e.lower().endswith('.png')]
        what = (f'{len(pngs)} PNG files ({_examples(pngs)})' if pngs else
                f'{len(entries)} files ({_examples(entries)})')
        known = ('its manifest.json is not one of this version of utils.submit (an older format, another tool '
                 'or damaged), so it does not say which of them this tool wrote' if (masks_dir / MANIFEST).exists()
                 else f'no {MANIFEST} of {OWNER} lists them, so this tool did not write them (ground truth, or masks '
                 'from elsewhere)')
        raise SubmitError(f'{masks_dir} already holds {what} but {known}. {fix}')
    foreign = [e for e in entries if e.lower().endswith('.png') and e not in manifest['masks']]
    if foreign:
        raise SubmitError(f'{masks_dir} holds {len(foreign)} PNG files that its {MANIFEST} does not list, so this '
                          f'tool did not write them ({_examples(foreign)}). {fix}')
    return manifest


def zip_key(out_zip: Path) -> str:
    """The absolute path under which a written zip is recorded (folder links resolved, the file itself not)."""
    return str(Path(os.path.realpath(Path(out_zip).absolute().parent)) / Path(out_zip).name)


def check_zip_target(out_zip: Path, manifest: dict | None) -> None:
    """Refuse to replace a file at ``out_zip`` unless it is, byte for byte, the zip this tool last wrote there."""
    out_zip = Path(out_zip)
    if not os.path.lexists(out_zip):
        return
    fix = (f'Nothing was written. Write to a free name, e.g. --out {free_name(out_zip)}, or move {out_zip} away '
           'and run again.')
    if out_zip.is_symlink() or not out_zip.is_file():
        raise SubmitError(f'--out {out_zip} exists and is not a plain file (a folder or a link). {fix}')
    recorded = ((manifest or {}).get('zips') or {}).get(zip_key(out_zip))
    if recorded is None:
        why = 'no manifest.json of this tool records writing it'
    elif recorded != sha256_file(out_zip):
        why = 'it changed after this tool wrote it: its SHA-256 differs from the recorded one'
    else:
        return
    raise SubmitError(f'{out_zip} already exists and is not the zip this tool wrote there last time ({why}), so it '
                      f'is never replaced, whatever the flags. {fix}')


def record_zip(masks_dir: Path, out_zip: Path, sha256: str) -> None:
    """Record in the masks folder's manifest that this tool wrote ``out_zip`` with this SHA-256."""
    manifest = read_manifest(masks_dir)
    if manifest is None:
        raise SubmitError(f'{Path(masks_dir) / MANIFEST} is missing or unreadable, so the zip cannot be recorded; '
                          f'run again with a new --masks-dir.')
    manifest.setdefault('zips', {})[zip_key(out_zip)] = sha256
    write_json_atomic(Path(masks_dir) / MANIFEST, manifest)
