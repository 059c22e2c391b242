"""Figure helpers shared by the statistics, submission and inspector pictures: the class legend and overlays."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .labels import CLASSES, NUM_CLASSES, PALETTE, colorize


def class_legend(fig, labels: Iterable[int] = range(NUM_CLASSES), ncol: int = 10) -> None:
    """A legend of class colours (``'4 l_eye'``) along the bottom of ``fig``; leave room with ``tight_layout(rect=...)``."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.asarray(PALETTE[c]) / 255, edgecolor='0.3', label=f'{c} {CLASSES[c]}')
               for c in labels]
    fig.legend(handles=handles, loc='lower center', ncol=min(ncol, max(1, len(handles))), fontsize=8,
               frameon=False)


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The label colours of ``mask`` blended over an RGB ``image`` (uint8, same height and width)."""
    blend = (1 - alpha) * image.astype(np.float32) + alpha * colorize(mask).astype(np.float32)
    return blend.clip(0, 255).astype(np.uint8)
