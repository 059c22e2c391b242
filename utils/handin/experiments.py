"""The experimental analysis of the 2025-26 report: every evaluation kept in the work root (each config's
``eval/<checkpoint>_<split>_<tta>/summary.json``, as 04 and ``utils.evaluate`` save them), one row per recipe, config,
checkpoint, TTA and decoding biases, with the parameter count and the holdout scores."""
from __future__ import annotations

import json
import os
from pathlib import Path


def _recipe_of(config: str) -> str:
    from utils.core.config import FINAL_FIT_SUFFIX, RECIPES

    base = config[:-len(FINAL_FIT_SUFFIX)] if config.endswith(FINAL_FIT_SUFFIX) else config
    return next((name for name, configs in RECIPES.items() if base in configs), '-')


def biased(summary: dict) -> bool:
    """Whether the evaluation decoded with per-class biases (a non-zero ``class_bias`` vector)."""
    bias = summary.get('class_bias')
    if isinstance(bias, (list, tuple)):
        return any(abs(float(b)) > 0 for b in bias)
    return bool(bias)


def _parameters(work_dir: Path, summary: dict) -> int | None:
    """The evaluation's count of the model, else the one in the stage's run_record.json (read as JSON)."""
    if isinstance(summary.get('params'), int):
        return summary['params']
    try:
        rec = json.loads((work_dir / 'run_record.json').read_text())
    except (OSError, ValueError):
        return None
    return (rec.get('parameters_all') or rec.get('parameters')) if isinstance(rec, dict) else None


def evaluations(work_root: str | os.PathLike, split: str = 'val') -> list[dict]:
    """One dict per evaluation folder under ``work_root/<config>/eval/`` of ``split``."""
    rows = []
    for summary_path in sorted(Path(work_root).glob(f'*/eval/*_{split}_*/summary.json')):
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(summary, dict):
            continue
        work_dir = summary_path.parent.parent.parent
        rows.append({'recipe': _recipe_of(work_dir.name), 'config': work_dir.name,
                     'checkpoint': Path(str(summary.get('checkpoint', summary_path.parent.name))).name,
                     'parameters': _parameters(work_dir, summary), 'TTA': str(summary.get('tta', '-')),
                     'class biases': 'yes' if biased(summary) else 'no', 'imgF': summary.get('imgF'),
                     'mIoU': summary.get('mIoU'), 'images': summary.get('num_images'),
                     'folder': summary_path.parent})
    return rows


def experiment_table(work_root: str | os.PathLike, metric: str = 'imgF'):
    """The evaluations as a table for the report (best ``metric`` first), or None when there is none. Columns:
    recipe, parameters, TTA, class biases, holdout F (0-1) and mIoU (%); the index names the config."""
    import pandas as pd

    rows = evaluations(work_root)
    if not rows:
        return None
    df = pd.DataFrame(rows)
    df = df.sort_values(metric if df[metric].notna().any() else 'mIoU', ascending=False, na_position='last')
    out = pd.DataFrame({'recipe': df['recipe'], 'parameters': df['parameters'].astype('Int64'), 'TTA': df['TTA'],
                        'biases': df['class biases'],
                        'holdout F': [f'{v:.4f}' if v == v and v is not None else '-' for v in df['imgF']],
                        'mIoU %': df['mIoU'].astype(float)})
    out.index = [f'{c} ({k})' if (df['config'] == c).sum() > 2 else c for c, k in zip(df['config'], df['checkpoint'])]
    out.index.name = 'config'
    return out
