"""One way to read every input: :func:`read_image` for photos, :func:`read_label_mask` for label maps.

The data check, training (the dataset swaps MMCV's loaders for these: :mod:`utils.plugins.dataset`), evaluation, inference
and the inspector all read through here, so a file means the same pixels everywhere.

**EXIF orientation is ignored, everywhere.** Images and masks are pixel grids that correspond as stored: a mask PNG
carries no orientation tag, and the leaderboard scores the predicted mask against the stored grid of the test
image. Rotating a photo by its tag (what OpenCV's ``imread`` and MMCV's ``'color'`` flag do) while its mask stays
as stored misaligns every label; rotating a test image would return a rotated mask. So the grid is taken as
stored, and the data check names the images that carry a tag (a phone photo added by hand shows rotated in a
viewer, but its labels still match).
"""
from __future__ import annotations

import os

import numpy as np

from utils.base.layout import KnownError

_ORIENTATION = 0x0112  # EXIF tag: 1 = as stored; 2-8 = mirrored and/or rotated for display
_FIX_IMAGE = 're-extract the dataset (python -m utils.data check finds all such files)'


class ImageReadError(KnownError, ValueError):
    """An image or a mask cannot be read as this project needs it; the message names the file and the fix."""


def _open(path: str | os.PathLike, what: str):
    from PIL import Image, ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, never silently padded
    try:
        img = Image.open(path)
        img.load()
        return img
    except FileNotFoundError:
        raise ImageReadError(f'{what.capitalize()} not found: {path}') from None
    except Image.DecompressionBombError:
        from utils.base.layout import header_size

        try:
            size = 'x'.join(map(str, header_size(path) or ('?', '?')))
        except OSError:
            size = '?x?'
        thing = 'photo' if what == 'image' else what
        raise ImageReadError(f'{what.capitalize()} {path} claims far more pixels than a face {thing} ({size}; Pillow '
                             f'refuses more than {2 * Image.MAX_IMAGE_PIXELS} pixels as a possible decompression '
                             'bomb). Replace it with the real file (the course images are 512x512), or resize it, '
                             'and run again.') from None
    except Exception as exc:  # noqa: BLE001 - truncated, not an image, out of memory: one message naming the file
        raise ImageReadError(f'Cannot read {what} {path} ({type(exc).__name__}: {exc}): the file is truncated or '
                             f'not an image; {_FIX_IMAGE}.') from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """``path`` as an H x W x 3 RGB uint8 array, pixels as stored (EXIF orientation ignored: see the module doc);
    grayscale, palette, 16-bit and alpha images are converted to RGB."""
    img = _open(path, 'image')
    with img:
        if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
            arr = np.asarray(img, dtype=np.float64)
            top = arr.max() if arr.size else 0
            gray = (arr * (255.0 / top) if top > 255 else arr).round().astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=2)
        return np.array(img.convert('RGB'))


def read_bgr(path: str | os.PathLike) -> np.ndarray:
    """:func:`read_image` in MMCV's channel order (what MMSeg's data preprocessor expects of a loader)."""
    return np.ascontiguousarray(read_image(path)[..., ::-1])


def read_label_mask(path: str | os.PathLike) -> np.ndarray:
    """``path`` as an H x W uint8 label map: palette indices or gray values, as stored. A 16-bit or 32-bit grayscale
    PNG whose values fit 0..255 is converted exactly; one with larger values, a colour picture or a float image is
    refused with :class:`ImageReadError` naming the file."""
    img = _open(path, 'mask')
    with img:
        mode = img.mode
        if mode in ('P', 'L'):
            return np.array(img)
        if mode == '1':
            return np.array(img, dtype=np.uint8)
        if mode in ('I;16', 'I;16B', 'I;16L', 'I'):
            arr = np.asarray(img)
            top = int(arr.max()) if arr.size else 0
            if top > 255 or int(arr.min(initial=0)) < 0:
                raise ImageReadError(f'Mask {path} is a {mode} (16/32-bit) image with values up to {top}: labels '
                                     'must be 0..18. Re-export it as an 8-bit palette or grayscale PNG whose values '
                                     'are the labels (python -m utils.data check lists every such file).')
            return arr.astype(np.uint8)
        if mode in ('LA', 'PA'):
            return np.array(img.getchannel(0))
    what = f'an {mode} picture' if mode.startswith('RGB') else f'a {mode} image'
    raise ImageReadError(f'Mask {path} is {what}, not a label map: masks must be single-channel (palette or '
                         'grayscale) PNGs whose values are the labels 0..18 (colour masks: python -m utils.data '
                         'fix-rgb; see `python -m utils.data check`).')


def exif_orientation(img) -> int | None:
    """The EXIF orientation of an open Pillow image when it asks a viewer to rotate or mirror it (2-8), else None."""
    try:
        value = img.getexif().get(_ORIENTATION)
    except Exception:  # noqa: BLE001 - a damaged EXIF block is no orientation
        return None
    return int(value) if isinstance(value, int) and value not in (0, 1) else None
