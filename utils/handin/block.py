"""One piece of the report draft, as ``draft`` and ``draft2025`` make it and ``docx_report`` and ``latex`` render it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Block:
    """One piece of the draft. ``kind``: title, meta, heading, para, equation, code, figure, table, todo."""

    kind: str
    text: str = ''
    data: Any = None  # figure: file name stem; table: DataFrame; equation: its LaTeX
    caption: str = ''


#: pictures shown at a fixed share of the text width (the rest: curves)
PICTURES = {'per_class_iou': 0.7, 'predictions': 0.5, 'score': 0.7}


def figure_fraction(name: str, path: Path) -> float:
    """The share of the text width a figure takes: a two-panel curve (stage 1 and the whole run) all of it, a single
    panel 60 %, a picture its own share, so that one stage's curve does not fill half a page."""
    if name in PICTURES:
        return PICTURES[name]
    from PIL import Image

    with Image.open(path) as im:
        return 1.0 if im.width / im.height >= 3 else 0.6
