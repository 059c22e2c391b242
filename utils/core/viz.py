"""Figure helpers shared by the statistics, submission and inspector pictures: the class legend and overlays."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from utils.base.labels import CLASSES, NUM_CLASSES, PALETTE, colorize


def class_legend(fig, labels: Iterable[int] = range(NUM_CLASSES), ncol: int = 10, top: float | None = None):
    """A legend of class colours (``'4 l_eye'``) along the bottom of ``fig``; leave room with ``tight_layout(rect=...)``.
    ``top``: the legend hangs from this height instead (a fraction of the figure), e.g. just below the pictures."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.asarray(PALETTE[c]) / 255, edgecolor='0.3', label=f'{c} {CLASSES[c]}')
               for c in labels]
    where = dict(loc='lower center') if top is None else dict(loc='upper center', bbox_to_anchor=(0.5, top))
    return fig.legend(handles=handles, ncol=min(ncol, max(1, len(handles))), fontsize=8, frameon=False, **where)


def pictures_bottom(fig) -> float:
    """The lowest edge of the pictures drawn in ``fig`` (a fraction of its height), where they are drawn: a picture
    keeps its aspect, so it fills less than its axes' cell, and the cell's edge is not the picture's."""
    fig.draw_without_rendering()  # applies each picture's aspect to its axes
    return min(ax.get_position().y0 for ax in fig.axes if ax.images)


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The label colours of ``mask`` blended over an RGB ``image`` (uint8, same height and width)."""
    blend = (1 - alpha) * image.astype(np.float32) + alpha * colorize(mask).astype(np.float32)
    return blend.clip(0, 255).astype(np.uint8)
