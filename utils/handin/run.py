"""Everything the hand-in reads from a run's work_dirs (on Drive or local): records, curves, per-class history,
the evaluations of notebook 04, the submission of 05. Only files are read; nothing is computed again."""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Sequence

from utils.core.checkpoints import best_or_newest
from utils.core.metrics import MetricsError, Scalars, load_seed_tables, read_scalars
from utils.plugins.record import read_per_class, read_record
from utils.handin.rundata import HandinError, RunData

__all__ = ['HandinError', 'RunData', 'collect', 'stage_dirs']


def stage_dirs(work_root: str | os.PathLike, configs: Sequence[str | None]) -> list[Path]:
    """The stage work_dirs of a recipe's configs under ``work_root`` that exist, stage 1 first."""
    return [Path(work_root) / c for c in configs if c and (Path(work_root) / c).is_dir()]


def _stage_end(record: dict, scalars_of_stage: Scalars | None) -> int:
    sessions = record.get('sessions') or []
    if sessions:
        return int(max(s.get('end_iter', 0) for s in sessions))
    if scalars_of_stage is not None and len(scalars_of_stage.train):
        return int(scalars_of_stage.train['step'].max())
    return 0


def _evaluations(work_dir: Path, checkpoint: Path | None) -> dict[str, dict]:
    """04's val evaluations of ``checkpoint`` (else of any checkpoint in ``work_dir``), keyed by TTA (and
    ``' + class biases'`` where the decoding used per-class biases)."""
    import pandas as pd

    from utils.handin.experiments import biased

    found: dict[str, dict] = {}
    folders = sorted((work_dir / 'eval').glob('*_val_*'), key=lambda p: p.stat().st_mtime)
    if checkpoint is not None and any(f.name.startswith(checkpoint.stem + '_val_') for f in folders):
        folders = [f for f in folders if f.name.startswith(checkpoint.stem + '_val_')]
    for folder in folders:
        try:
            summary = json.loads((folder / 'summary.json').read_text())
            per_class = pd.read_csv(folder / 'per_class.csv').set_index('class')
        except (OSError, ValueError, KeyError):
            continue
        key = str(summary.get('tta', folder.name.rsplit('_', 1)[-1])) + (' + class biases' if biased(summary) else '')
        found[key] = {'summary': summary, 'per_class': per_class, 'dir': folder}
    return found


def config_text(work_dir: Path, record: dict) -> str:
    """The resolved config a stage saved beside its checkpoints ('' when there is none)."""
    name = record.get('config_file')
    paths = [work_dir / name] if name else sorted(work_dir.glob('*.py'))
    for path in paths:
        try:
            return path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
    return ''


def run_kind(texts: Sequence[str]) -> tuple[bool, str]:
    """``(smoke, edition)`` of a run from its resolved configs: ``smoke_run = True`` (utils.core.config writes it) and
    the 2025-26 rules' per-image F evaluator or ``edition = '2025'``."""
    smoke = any(re.search(r'^smoke_run\s*=\s*True', t, re.M) for t in texts)
    edition = '2025' if any("ImageFScoreMetric" in t or re.search(r"^edition\s*=\s*'2025'", t, re.M)
                            for t in texts) else '2022'
    return smoke, edition


def collect(work_dirs: Sequence[str | os.PathLike], submission: str | os.PathLike | None = None,
            checkpoint: str | os.PathLike | None = None) -> RunData:
    """Read a run from its stage work_dirs (stage 1 first). Missing pieces are left empty, never an error; only a
    run without any work_dir raises :class:`HandinError`."""
    stages = [Path(w) for w in work_dirs if Path(w).is_dir()]
    if not stages:
        raise HandinError(f'No work_dir of the run in {", ".join(map(str, work_dirs)) or "(none given)"}: '
                          'train it first (02_train_20k), or pass the folders that hold its iter_*.pth.')
    records = [read_record(w) for w in stages]
    scalars, ends = None, []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for wd, rec in zip(stages, records):
            try:
                ends.append(_stage_end(rec, read_scalars([wd])))
            except MetricsError:
                ends.append(_stage_end(rec, None))
        try:
            scalars = read_scalars(stages)
        except MetricsError:
            scalars = None
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is None:
        ckpt = best_or_newest(*reversed(stages))
    evals = _evaluations(ckpt.parent if ckpt else stages[-1], ckpt)
    sub = Path(submission) if submission else None
    texts = [config_text(w, r) for w, r in zip(stages, records)]
    smoke, edition = run_kind(texts)
    return RunData(stages=stages, records=records, scalars=scalars, per_class=read_per_class(stages),
                   stage_ends=ends, evals=evals, checkpoint=ckpt if ckpt and ckpt.is_file() else None,
                   submission=sub if sub and sub.is_file() else None, seed=load_seed_tables(), smoke=smoke,
                   edition=edition, configs=texts)
