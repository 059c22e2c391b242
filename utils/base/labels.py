"""The 19 CelebAMask-HQ classes, their colours and the left/right pairs, read once from assets/palette.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
_META = json.loads((REPO_ROOT / 'assets' / 'palette.json').read_text())

CLASSES: tuple[str, ...] = tuple(_META['classes'])
PALETTE: tuple[tuple[int, int, int], ...] = tuple(tuple(c) for c in _META['palette'])
NUM_CLASSES = len(CLASSES)
#: (left, right) label pairs that a horizontal flip exchanges.
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(tuple(p) for p in _META['flip_pairs'])


def flip_permutation() -> np.ndarray:
    """Label permutation of a horizontal flip: ``perm[label]`` is the label after flipping."""
    perm = np.arange(NUM_CLASSES)
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


def pil_palette() -> list[int]:
    """Flat 768-entry palette for ``PIL.Image.putpalette`` (unused entries black)."""
    flat = [v for rgb in PALETTE for v in rgb]
    return flat + [0] * (768 - len(flat))


def colorize(mask: np.ndarray) -> np.ndarray:
    """RGB picture of a label map; labels outside 0..18 (e.g. 255 = ignore) are drawn white."""
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[:NUM_CLASSES] = np.asarray(PALETTE, dtype=np.uint8)
    return lut[np.asarray(mask, dtype=np.uint8)]
