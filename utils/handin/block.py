"""One piece of the report draft, as ``draft`` and ``draft2025`` make it and ``docx_report`` and ``latex`` render it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Block:
    """One piece of the draft. ``kind``: title, meta, heading, para, equation, code, figure, table, todo."""

    kind: str
    text: str = ''
    data: Any = None  # figure: file name stem; table: DataFrame; equation: its LaTeX
    caption: str = ''
