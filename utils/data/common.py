"""What every part of ``utils.data`` shares: the error type, the expected counts, small file helpers."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..layout import SMOKE_SIZE, SPLITS, DataError, image_dir, list_files, mask_dir

__all__ = ['DataError', 'EXPECTED_COUNTS', 'SYNTHETIC_DEFAULTS', 'SYNTHETIC_FULL', 'JUNK_DIRS', 'stems',
           'progress_bar', 'is_dataset', 'dataset_counts']

#: Split sizes of the course's CelebAMask-HQ mini dataset.
EXPECTED_COUNTS: dict[str, int] = {'train': 5000, 'val': 1000, 'test': 1000}
#: Synthetic defaults of ``fetch('synthetic')``: small enough for a CPU smoke run.
SYNTHETIC_DEFAULTS = {'size': SMOKE_SIZE, 'counts': (40, 12, 12)}
SYNTHETIC_FULL = {'size': 512, 'counts': (5000, 1000, 1000)}
#: Folders that archives made on a Mac carry and that are never data.
JUNK_DIRS = {'__MACOSX'}


def stems(names: Iterable[str]) -> set[str]:
    """File names without their suffix."""
    return {os.path.splitext(n)[0] for n in names}


def progress_bar(total: int, desc: str, progress: bool, unit: str = 'file', **kw):
    """A tqdm bar (notebook-aware), silent when ``progress`` is False."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, **kw)


def is_dataset(root: str | os.PathLike) -> bool:
    """True when ``root`` holds the course layout with every train/val image paired with a mask (names only)."""
    root = Path(root)
    for split in SPLITS:
        imgs = list_files(image_dir(root, split), ('.jpg',))
        if not imgs:
            return False
        if split != 'test' and stems(imgs) != stems(list_files(mask_dir(root, split), ('.png',))):
            return False
    return True


def dataset_counts(root: str | os.PathLike) -> dict[str, int]:
    """Number of ``.jpg`` images per split."""
    return {s: len(list_files(image_dir(root, s), ('.jpg',))) for s in SPLITS}
