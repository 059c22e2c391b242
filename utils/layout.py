"""The course's dataset layout (the canonical one here), shared by every module that reads or writes data.

    train/train_image/N.jpg  train/train_mask/N.png   val/val_image  val/val_mask   test/test_image
"""
from __future__ import annotations

import os
import re
from pathlib import Path

SPLITS = ('train', 'val', 'test')
LAYOUT = ('train/train_image + train/train_mask, val/val_image + val/val_mask, test/test_image '
          '(images N.jpg, masks N.png: 8-bit palette PNGs whose indices are the labels 0..18)')
LAYOUT_HELP = f'expected the course layout: {LAYOUT}. Run `python -m utils.data check DATA_ROOT` for a full report.'


def image_dir(root: str | os.PathLike, split: str) -> Path:
    """``root/<split>/<split>_image``."""
    return Path(root) / split / f'{split}_image'


def mask_dir(root: str | os.PathLike, split: str) -> Path:
    """``root/<split>/<split>_mask``."""
    return Path(root) / split / f'{split}_mask'


def natural_key(name: str | os.PathLike) -> tuple:
    """Sort key that puts 2.jpg before 10.jpg."""
    return tuple((0, int(t), '') if t.isdigit() else (1, 0, t) for t in re.split(r'(\d+)', Path(name).name))
