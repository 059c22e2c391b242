"""Turn colour (RGB) masks into palette index masks, into a new folder (never in place)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from utils.base.labels import NUM_CLASSES, PALETTE
from utils.base.layout import list_files
from utils.core.synthetic import save_mask
from utils.data.common import DataError, clean_staging, make_staging, progress_bar


def _open_mask(path: Path) -> Image.Image:
    """The mask at ``path``, fully decoded (a truncated file fails here, not half-way)."""
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        m = Image.open(path)
        try:
            m.load()
        except BaseException:
            m.close()
            raise
        return m
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def fix_rgb_masks(src: str | os.PathLike, out: str | os.PathLike, progress: bool = True) -> Path:
    """Write palette index masks to the new folder ``out`` from colour masks in ``src`` (never in place).

    RGB masks must use exactly the CelebAMask-HQ palette colours; grey RGB masks with values 0..18
    and single-channel masks are re-saved as palette PNGs.
    """
    src, out = Path(src), Path(out).expanduser().absolute()
    clean_staging(out.parent, 'fix')
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f'{out} exists and is not empty; choose a new folder (nothing was changed).')
    if src.resolve() == out.resolve():
        raise DataError(f'--out {out} is the mask folder itself: give a new folder, e.g. {out}_fixed (masks are never '
                        'converted in place).')
    names = list_files(src, ('.png',))
    if not names:
        raise DataError(f'no .png masks in {src}: pass the folder that holds the colour masks (e.g. '
                        'train/train_mask).')
    codes = np.array([(r << 16) | (g << 8) | b for r, g, b in PALETTE], np.int64)
    order = np.argsort(codes)
    sorted_codes = codes[order]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging(out, 'fix')
    done = staging / 'masks'
    done.mkdir()
    try:
        bar = progress_bar(len(names), 'fix-rgb', progress)
        for name in names:
            try:
                m = _open_mask(src / name)
            except Exception as e:  # noqa: BLE001 - any decode failure: name the file and the fix
                raise DataError(f'cannot read {src / name}: {type(e).__name__}: {e}. The file is truncated or not a '
                                'PNG: copy it again from the source (or re-export it), then run fix-rgb again; '
                                f'nothing was written to {out}.') from None
            with m:
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
                raise DataError(f'{src / name}: values up to {int(label.max())}, not labels 0..18 or palette colours, so '
                                'it cannot be converted: re-export it from the label arrays (values 0..18); nothing '
                                f'was written to {out}.')
            save_mask(label.astype(np.uint8), done / name)
            bar.update()
        bar.close()
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(done, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f'{len(names)} palette masks written to {out}')
    return out
