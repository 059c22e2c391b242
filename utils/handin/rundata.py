"""A run as the hand-in sees it (one or two stages): a plain container, filled by :func:`utils.handin.run.collect`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.base.layout import KnownError


class HandinError(KnownError):
    """The hand-in cannot be built at all (no work_dir, a MATRIC that cannot name a file); the message says what
    to do. A missing item of the hand-in is no error: the check table lists it."""


@dataclass
class RunData:
    """One run (one or two stages), as its work_dirs keep it."""

    stages: list[Path]
    records: list[dict]
    scalars: Any  # utils.core.metrics.Scalars, or None when nothing was logged
    per_class: Any  # DataFrame: step, class, IoU, Acc, Dice, ... (every validation of every stage)
    stage_ends: list[int]  # the last iteration each stage logged (stage 1's is the resume point)
    evals: dict[str, dict] = field(default_factory=dict)  # tta -> {'summary', 'per_class', 'dir'}
    checkpoint: Path | None = None
    submission: Path | None = None
    seed: dict = field(default_factory=dict)
    smoke: bool = False  # a smoke run (synthetic data, tiny schedule): its hand-in says SMOKE
    edition: str = '2022'  # the course edition the run was trained for
    configs: list[str] = field(default_factory=list)  # each stage's resolved config, as text ('' where none)

    @property
    def record(self) -> dict:
        """The last stage's record (machine and sessions of the stage that made the submitted model); {} if none."""
        return next((r for r in reversed(self.records) if r), {})

    @property
    def resume_step(self) -> int | None:
        return self.stage_ends[0] if len(self.stages) > 1 and self.stage_ends else None

    def val_steps(self) -> list[int]:
        return sorted(self.per_class['step'].unique().tolist()) if len(self.per_class) else []

    def per_class_at(self, step: int):
        """Per-class IoU / Acc / Dice (DataFrame indexed by class) at validation ``step``."""
        df = self.per_class[self.per_class['step'] == step]
        return df.set_index('class')[['IoU', 'Acc', 'Dice']]

    def first_and_best(self) -> tuple[int | None, int | None]:
        """(the validation at the end of stage 1, the best one), as iterations: the best is the submitted
        checkpoint's validation when it has one (``best_mIoU_iter_N.pth``), else the one with the highest mIoU."""
        steps = self.val_steps()
        if not steps:
            return None, None
        stage1 = [s for s in steps if s <= self.stage_ends[0]] if self.stage_ends else steps
        first = stage1[-1] if stage1 else steps[0]
        submitted = re.search(r'iter_(\d+)', self.checkpoint.name) if self.checkpoint else None
        if submitted and int(submitted.group(1)) in steps:  # the submitted checkpoint's own validation
            return first, int(submitted.group(1))
        miou = self.per_class.groupby('step')['IoU'].mean()
        return first, int(miou.idxmax())

    def total_wall_s(self) -> float:
        return sum(s.get('wall_s') or 0 for r in self.records for s in r.get('sessions', []))
