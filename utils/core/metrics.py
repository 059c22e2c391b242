"""Segmentation metrics (one definition, MMSeg's formulas), training curves from MMEngine logs, and result tables.

    python -m utils.core.metrics WORK_DIR [WORK_DIR ...] --out DIR     # saves curves.png (+ the tidy CSVs)

* :func:`metrics_from_areas` is the single place where IoU/Acc/Dice/precision/recall and
  aAcc/mIoU/mAcc/mDice are computed from intersections, unions and areas; evaluation, per-image
  scores and the inspector all call it. It matches ``mmseg.evaluation.IoUMetric``: a class with
  zero union gets NaN (not 0) and the means are NaN-means.
* :func:`read_scalars` merges ``<work_dir>/<timestamp>/vis_data/scalars.json`` of one or more work
  dirs (a stage-1 run, an interrupted-then-resumed run, the 20k->30k resume) into tidy frames.
* :func:`plot_curves`, :func:`per_class_table`, :func:`compare_with_seed`, :func:`plot_confusion`
  return figures / pandas Stylers; nothing is shown by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from utils.base.labels import CLASSES, NUM_CLASSES, REPO_ROOT
from utils.base.report import cli_error, number_formats, positive_int
from utils.base.layout import KnownError

ASSETS = REPO_ROOT / 'assets'
SEED_TABLES = {'first': ASSETS / 'seed_first_run.csv', 'best': ASSETS / 'seed_best_run.csv'}
SEED_SUMMARY = ASSETS / 'seed_summary.csv'
SUMMARY_KEYS = ('aAcc', 'mIoU', 'mAcc', 'mDice')
PER_CLASS_KEYS = ('IoU', 'Acc', 'Dice', 'Precision', 'Recall')
VAL_KEYS = ('imgF', 'aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mPrecision', 'mRecall')


class MetricsError(KnownError, RuntimeError):
    """A log or a results file cannot be read; the message names the file and the fix."""


# --------------------------------------------------------------------------- metric definitions
def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES,
                     ignore_index: int = 255) -> np.ndarray:
    """``num_classes`` x ``num_classes`` int64 pixel counts, rows = ground truth, columns = prediction.

    Pixels whose ground truth is ``ignore_index`` are skipped, as MMSeg does. Any other label outside
    ``0..num_classes-1``, in either map, raises ``ValueError`` (it would be a colour or a broken file).
    8-bit label maps (the usual case) are counted with one ``uint16`` bincount, without int64 copies.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction and ground truth differ in size: {pred.size} vs {gt.size} pixels')
    n = num_classes
    if pred.dtype == np.uint8 and gt.dtype == np.uint8 and n <= ignore_index < 256 and n * 256 < 65536:
        if pred.size and int(pred.max()) >= n:
            _raise_out_of_range('prediction', pred[pred >= n], n, ignore_index)
        bad = (gt >= n) & (gt != ignore_index)
        if bad.any():
            _raise_out_of_range('ground truth', gt[bad], n, ignore_index)
        idx = gt.astype(np.uint16) * n + pred  # ignored pixels land at or past n*n and are cut off below
        return np.bincount(idx.ravel(), minlength=n * n)[:n * n].reshape(n, n).astype(np.int64, copy=False)
    pred = pred.astype(np.int64, copy=False).ravel()
    gt = gt.astype(np.int64, copy=False).ravel()
    keep = gt != ignore_index
    pred, gt = pred[keep], gt[keep]
    for name, arr in (('ground truth', gt), ('prediction', pred)):
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            _raise_out_of_range(name, arr[(arr < 0) | (arr >= n)], n, ignore_index)
    counts = np.bincount(gt * n + pred, minlength=n ** 2)
    return counts.reshape(n, n)


def _raise_out_of_range(name: str, bad_values: np.ndarray, num_classes: int, ignore_index: int) -> None:
    bad = sorted(int(v) for v in np.unique(bad_values))
    raise ValueError(f'{name} has labels {bad[:8]} outside 0..{num_classes - 1} '
                     f'(only {ignore_index} = ignore is allowed besides the classes)')


def areas_from_confusion(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(intersect, union, pred_area, gt_area)`` per class from a confusion matrix (or a stack of them)."""
    conf = np.asarray(conf, dtype=np.int64)
    intersect = np.diagonal(conf, axis1=-2, axis2=-1).copy()
    gt_area = conf.sum(axis=-1)
    pred_area = conf.sum(axis=-2)
    return intersect, pred_area + gt_area - intersect, pred_area, gt_area


def intersect_and_union(pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES,
                        ignore_index: int = 255) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``(intersect, union, pred_area, gt_area)`` int64 pixel counts of one label map."""
    return areas_from_confusion(confusion_matrix(pred, gt, num_classes, ignore_index))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def metrics_from_areas(intersect: np.ndarray, union: np.ndarray, pred_area: np.ndarray,
                       gt_area: np.ndarray) -> dict[str, Any]:
    """All metrics from per-class pixel counts, as fractions in [0, 1] (NaN where undefined).

    Per class (arrays over the last axis): ``IoU`` = I/U, ``Acc`` = ``Recall`` = I/gt,
    ``Dice`` = 2I/(pred+gt), ``Precision`` = I/pred. Summary: ``aAcc`` = sum I / sum gt and the NaN-means
    ``mIoU``, ``mAcc``, ``mDice`` (MMSeg's definitions). Works on 1-D (one set) or N x C (per image) input.
    """
    intersect, union = np.asarray(intersect), np.asarray(union)
    pred_area, gt_area = np.asarray(pred_area), np.asarray(gt_area)
    out: dict[str, Any] = {
        'IoU': _ratio(intersect, union),
        'Acc': _ratio(intersect, gt_area),
        'Dice': _ratio(2 * intersect, pred_area + gt_area),
        'Precision': _ratio(intersect, pred_area),
    }
    out['Recall'] = out['Acc']
    out['aAcc'] = _ratio(intersect.sum(axis=-1), gt_area.sum(axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # all-NaN rows give NaN, as intended
        for key in ('IoU', 'Acc', 'Dice'):
            out['m' + key] = np.nanmean(out[key], axis=-1)
    return out


#: the leaderboard's guard against a division by zero (2025-26 course): added to every denominator of P, R and F
F_EPS = 1e-7


def fscore_from_areas(intersect: np.ndarray, pred_area: np.ndarray, gt_area: np.ndarray) -> np.ndarray:
    """Per-class F1 of each image as the 2025-26 leaderboard computes it, NaN for a class absent from the ground truth.

    ``intersect`` = TP, ``pred_area`` = TP + FP, ``gt_area`` = TP + FN (N x C or C). P = TP / (TP + FP + 1e-7),
    R = TP / (TP + FN + 1e-7), F = 2PR / (P + R + 1e-7). A class predicted but absent from the image's ground
    truth gets NaN: the leaderboard skips it (its false positives only cost the true class's precision).
    """
    tp = np.asarray(intersect, dtype=np.float64)
    precision = tp / (np.asarray(pred_area, dtype=np.float64) + F_EPS)
    gt = np.asarray(gt_area, dtype=np.float64)
    recall = tp / (gt + F_EPS)
    f = 2 * precision * recall / (precision + recall + F_EPS)
    return np.where(gt > 0, f, np.nan)


def image_fscores(intersect: np.ndarray, pred_area: np.ndarray, gt_area: np.ndarray) -> np.ndarray:
    """The leaderboard's score of each image (N): the mean F over the classes present in its ground truth."""
    f = np.atleast_2d(fscore_from_areas(intersect, pred_area, gt_area))
    present = np.isfinite(f)
    return np.where(present.any(axis=-1), np.nansum(f, axis=-1) / np.maximum(present.sum(axis=-1), 1), np.nan)


def image_fscore(gt: np.ndarray, pred: np.ndarray, num_classes: int = NUM_CLASSES, ignore_index: int = 255) -> float:
    """The 2025-26 leaderboard's F of one image (0-1): F1 per class present in ``gt`` (background included), averaged.

    Pixels whose ground truth is ``ignore_index`` are left out. An image with no labelled pixel scores NaN
    (there is nothing to average); the leaderboard's images always have labels.
    """
    intersect, _, pred_area, gt_area = intersect_and_union(pred, gt, num_classes, ignore_index)
    return float(image_fscores(intersect, pred_area, gt_area)[0])


def summary_percent(metrics: Mapping[str, Any]) -> dict[str, float]:
    """``aAcc``, ``mIoU``, ``mAcc``, ``mDice`` of :func:`metrics_from_areas` in percent (unrounded floats)."""
    return {k: float(np.asarray(metrics[k]) * 100) for k in SUMMARY_KEYS}


def per_class_frame(intersect: np.ndarray, union: np.ndarray, pred_area: np.ndarray, gt_area: np.ndarray,
                    classes: Sequence[str] = CLASSES, images: np.ndarray | None = None):
    """Per-class DataFrame (index ``class``): IoU, Acc, Dice, Precision, Recall in percent, plus pixel counts."""
    import pandas as pd

    m = metrics_from_areas(intersect, union, pred_area, gt_area)
    df = pd.DataFrame({k: m[k] * 100 for k in PER_CLASS_KEYS}, index=pd.Index(list(classes), name='class'))
    df['gt_pixels'] = np.asarray(gt_area, dtype=np.int64)
    df['pred_pixels'] = np.asarray(pred_area, dtype=np.int64)
    if images is not None:
        df['images'] = np.asarray(images, dtype=np.int64)
    return df


# --------------------------------------------------------------------------- MMEngine scalars.json
@dataclass
class Scalars:
    """Training and validation scalars of one or more runs, merged by step."""

    train: Any  # pandas DataFrame: step + lr, momentum, loss, decode.loss_ce, ...
    val: Any  # pandas DataFrame: step + aAcc, mIoU, mAcc, mDice
    resumes: list[tuple[int, str]] = field(default_factory=list)  # (step, label) where a later run took over
    runs: list[Path] = field(default_factory=list)  # the scalars.json files read, in merge order


def find_scalar_files(work_dir: str | os.PathLike) -> list[Path]:
    """``scalars.json`` files of a work dir (one per timestamped run, oldest first); a run folder or the file works too."""
    path = Path(work_dir)
    if path.is_file():
        return [path]
    if (path / 'vis_data' / 'scalars.json').is_file():
        return [path / 'vis_data' / 'scalars.json']
    return sorted(path.glob('*/vis_data/scalars.json'), key=lambda p: (p.parent.parent.name, p.stat().st_mtime))


def _read_lines(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding='utf-8') as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                # the last line of a run killed mid-write is often cut: skip it, say so
                warnings.warn(f'{path}: line {n} is not valid JSON (a run interrupted while writing?); skipped.')
    return rows


def read_scalars(work_dirs: str | os.PathLike | Sequence[str | os.PathLike]) -> Scalars:
    """Merge the ``vis_data/scalars.json`` of ``work_dirs`` (in the order given; runs oldest first) into tidy frames.

    Lines with validation metrics go to ``.val``, lines with a learning rate or loss to ``.train``.
    When runs overlap (an interrupted run resumed from an earlier checkpoint), the later run's values
    replace the earlier ones at the same step; each later run's start is recorded in ``.resumes``.
    """
    import pandas as pd

    if isinstance(work_dirs, (str, os.PathLike)):
        work_dirs = [work_dirs]
    files: list[Path] = []
    stage_of: dict[Path, int] = {}  # which of work_dirs (stage 1, 2, ...) each log belongs to
    for stage, wd in enumerate(work_dirs, 1):
        found = find_scalar_files(wd)
        stage_of.update((f, stage) for f in found)
        if not found:
            raise MetricsError(f'No MMEngine logs in {wd}: expected <work_dir>/<timestamp>/vis_data/scalars.json. '
                               'Pass the work_dir that utils.train wrote (the folder with iter_*.pth), and make '
                               'sure training has logged at least once.')
        files += found
    train_parts, val_parts, resumes = [], [], []
    seen_steps: list[int] = []
    for k, path in enumerate(files):
        rows = _read_lines(path)
        train_rows = [r for r in rows if 'step' in r and not any(key in r for key in VAL_KEYS)]
        val_rows = [r for r in rows if 'step' in r and any(key in r for key in VAL_KEYS)]
        steps = [int(r['step']) for r in train_rows + val_rows]
        if not steps:
            continue
        first = min(steps)
        if seen_steps:
            before = [s for s in seen_steps if s < first]
            new_stage = stage_of[path] != stage_of[files[k - 1]]
            resumes.append((max(before) if before else first, f'stage {stage_of[path]} starts' if new_stage
                            else 'resumed after an interruption'))
        seen_steps += steps
        for rows_, parts in ((train_rows, train_parts), (val_rows, val_parts)):
            if rows_:
                df = pd.DataFrame(rows_)
                df['run'] = k
                parts.append(df)

    def merge(parts: list, drop: tuple[str, ...]):
        if not parts:
            return pd.DataFrame({'step': pd.Series(dtype='int64')})
        df = pd.concat(parts, ignore_index=True)
        df = df.drop(columns=[c for c in drop if c in df.columns])
        df['step'] = df['step'].astype('int64')
        df = df.drop_duplicates('step', keep='last').sort_values('step').reset_index(drop=True)
        return df[['step'] + [c for c in df.columns if c != 'step']]

    if not train_parts and not val_parts:
        raise MetricsError(f'The logs {", ".join(map(str, files))} hold no training or validation lines yet.')
    return Scalars(train=merge(train_parts, ('iter', 'epoch')), val=merge(val_parts, ('iter', 'epoch')),
                   resumes=resumes, runs=files)


def plot_curves(work_dirs: str | os.PathLike | Sequence[str | os.PathLike] | Scalars, *,
                title: str | None = None, smooth: int = 1):
    """Loss, validation imgF/mIoU/mAcc/aAcc(/mDice), LR and momentum over iterations, resume points marked."""
    from matplotlib.figure import Figure

    sc = work_dirs if isinstance(work_dirs, Scalars) else read_scalars(work_dirs)
    fig = Figure(figsize=(13, 8.5), layout='constrained')
    axes = fig.subplots(2, 2)
    tr, va = sc.train, sc.val

    def line(ax, df, col, **kw):
        if col in df.columns and df[col].notna().any():
            y = df[col].rolling(smooth, min_periods=1).mean() if smooth > 1 else df[col]
            ax.plot(df['step'], y, label=col, **kw)
            return True
        return False

    ax = axes[0, 0]
    for col in ('loss', 'decode.loss_ce', 'aux.loss_ce'):
        line(ax, tr, col, lw=1.4 if col == 'loss' else 0.9)
    val_loss = line(ax, va, 'val_loss', marker='o', ms=3, color='tab:red')  # utils.plugins.record: decode-head loss on val
    ax.set_title('training and validation loss' if val_loss else 'training loss')
    _plot_val_metrics(axes[0, 1], va, line)
    line(axes[1, 0], tr, 'lr', color='tab:purple')
    axes[1, 0].set_title('learning rate')
    line(axes[1, 1], tr, 'momentum', color='tab:green')
    axes[1, 1].set_title('momentum')
    for ax in axes.flat:
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        for step, label in sc.resumes:
            ax.axvline(step, color='tab:red', ls='--', lw=1)
            ax.annotate(label, (step, 1), xycoords=('data', 'axes fraction'), rotation=90, va='top',
                        ha='right', fontsize=7, color='tab:red')
        if ax.has_data():
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8, loc='best')
        else:
            ax.text(0.5, 0.5, 'not logged', ha='center', va='center', transform=ax.transAxes, color='grey')
    fig.suptitle(title or 'training curves: ' + ', '.join(str(Path(p).parent.parent.name) for p in sc.runs))
    return fig


def _plot_val_metrics(ax, va, line) -> None:
    """The validation panel: the per-image F (imgF, 0-1) when the run logged it, each other metric in %, the best
    value of the run's main metric (imgF, else mIoU) marked."""
    key = 'imgF' if 'imgF' in va.columns and va['imgF'].notna().any() else 'mIoU'
    if key == 'imgF':  # a 0-1 number beside percentages: the per-image F in % on the same axis, said in the legend
        va = va.assign(**{'imgF x 100': va['imgF'] * 100})
    for col in ('imgF x 100', 'mIoU', 'mAcc', 'aAcc', 'mDice'):
        line(ax, va, col, marker='o', ms=3)
    col = 'imgF x 100' if key == 'imgF' else 'mIoU'
    if col in va.columns and va[col].notna().any():
        best = va.loc[va[col].idxmax()]
        text = f"best imgF {best['imgF']:.4f}" if key == 'imgF' else f"best mIoU {best['mIoU']:.2f}"
        ax.annotate(f"{text}\n@ {int(best['step'])}", (best['step'], best[col]),
                    textcoords='offset points', xytext=(-10, 12), ha='right', fontsize=8,
                    arrowprops=dict(arrowstyle='->', lw=0.6))
    ax.set_title('validation metrics (%)')


# --------------------------------------------------------------------------- tables
def report_miou() -> float:
    """The reference report's best run on val, mIoU in % (``assets/seed_summary.csv``): the bar 04 compares with."""
    import pandas as pd

    return float(pd.read_csv(SEED_SUMMARY).set_index('run').loc['best', 'mIoU'])


def load_seed_tables() -> dict[str, Any]:
    """The seed report's per-class tables (``'first'``, ``'best'``: DataFrames indexed by class) and ``'summary'``."""
    import pandas as pd

    out = {}
    for name, path in SEED_TABLES.items():
        df = pd.read_csv(path).set_index('class')
        if tuple(df.index) != CLASSES:
            raise MetricsError(f'{path} does not list the {NUM_CLASSES} classes in label order; restore it from git.')
        out[name] = df
    out['summary'] = pd.read_csv(SEED_SUMMARY).set_index('run')
    return out


def _per_class_df(result) -> Any:
    return result.per_class if hasattr(result, 'per_class') else result


def _caption(result) -> str:
    s = getattr(result, 'summary', None) or {}
    parts = []
    if s:
        parts.append(' · '.join(f'{k} {s[k]:.2f}' for k in SUMMARY_KEYS if s.get(k) is not None))
        parts.append(f"split {s.get('split')} ({s.get('num_images')} images), TTA {s.get('tta')}")
        if s.get('params'):
            parts.append(f"parameters {s['params']:,}")
        flops = s.get('flops')
        parts.append(f"FLOPs {_fmt_flops(flops)} at {s.get('flops_input', '?')}" if isinstance(flops, (int, float))
                     else f"FLOPs n/a ({s.get('flops_note', 'not counted')})")
    return ' | '.join(parts)


def _fmt_flops(flops: float) -> str:
    for unit, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6)):
        if flops >= scale:
            return f'{flops / scale:.1f} {unit}'
    return f'{flops:.0f}'


def per_class_table(result, worst: int = 3, caption: str | None = None, image_f: bool = False):
    """Styled per-class table (percent): colour gradient per metric, the ``worst`` classes by IoU highlighted.

    ``result`` is an :class:`utils.evaluate.EvalResult` (its caption shows the summary, parameters and
    FLOPs) or a per-class DataFrame. ``image_f``: first a column ``imgF``, the class's mean per-image F over the
    images where it is present (0-1, the 2025-26 leaderboard's view), and the mean per-image F in the caption.
    """
    import pandas as pd

    df = _per_class_df(result)
    cols = [c for c in PER_CLASS_KEYS if c in df.columns]
    f_cols = ['imgF'] if image_f and 'imgF' in df.columns else []
    worst_idx = df['IoU'].dropna().nsmallest(worst).index if 'IoU' in df.columns else []
    extra = [c for c in ('gt_pixels', 'pred_pixels', 'images') if c in df.columns]
    st = df[f_cols + cols + extra].style.format(number_formats(df[cols + extra]), na_rep='n/a')
    if f_cols:
        st = st.format('{:.4f}', subset=f_cols, na_rep='n/a').background_gradient(cmap='RdYlGn', subset=f_cols,
                                                                                  vmin=0, vmax=1)
        img_f = (getattr(result, 'summary', None) or {}).get('imgF')
        if caption is None and isinstance(img_f, float):
            caption = f'mean per-image F {img_f:.4f} | ' + _caption(result)
    st = st.background_gradient(cmap='RdYlGn', subset=cols, vmin=0, vmax=100)
    st = st.map(lambda v: 'background-color: white; color: #777' if pd.isna(v) else '', subset=cols)  # not black
    st = st.apply(lambda row: ['font-weight: bold; border: 2px solid #c00000' if row.name in worst_idx else ''
                               for _ in row], axis=1, subset=cols)
    return st.set_caption(caption if caption is not None else _caption(result))


def compare_with_seed(result, metric: str = 'IoU', caption: str | None = None, styled: bool = True):
    """Ours vs the seed report's first and best runs for ``metric`` (IoU, Acc or Dice), with coloured deltas."""
    import pandas as pd

    seed = load_seed_tables()
    df = _per_class_df(result)
    if metric not in seed['best'].columns:
        raise ValueError(f'metric must be one of {list(seed["best"].columns)}, got {metric!r}')
    table = pd.DataFrame({'ours': df[metric].reindex(CLASSES), 'seed first': seed['first'][metric],
                          'seed best': seed['best'][metric]})
    table['Δ vs best'] = table['ours'] - table['seed best']
    table['Δ vs first'] = table['ours'] - table['seed first']
    mean = table.mean(skipna=True)
    table.loc[f'm{metric}'] = mean
    table.index.name = 'class'
    if not styled:
        return table
    deltas = ['Δ vs best', 'Δ vs first']
    st = table.style.format('{:.2f}', na_rep='n/a').format('{:+.2f}', subset=deltas, na_rep='n/a')
    st = st.map(lambda v: '' if pd.isna(v) else
                ('color: #006100; background-color: #c6efce' if v > 0 else
                 'color: #9c0006; background-color: #ffc7ce' if v < 0 else ''), subset=deltas)
    st = st.apply(lambda row: ['font-weight: bold; border-top: 2px solid black' if row.name == f'm{metric}' else ''
                               for _ in row], axis=1)
    return st.set_caption(caption if caption is not None else
                          f'{metric} (%) vs the seed report (first run: 20k, plain; best: OHEM + class weights, 30k). '
                          + _caption(result))


def summary_table(result, with_tta=None, styled: bool = True):
    """aAcc/mIoU/mAcc/mDice next to the seed report's two runs, in percent, rounded to 2 decimals.

    ``result`` is compared with the report as the report measured (no TTA); ``with_tta``, a second result of
    the same checkpoint with test-time augmentation, adds its row and the gain. A captioned Styler, or the
    DataFrame when ``styled`` is False.
    """
    import pandas as pd

    seed = load_seed_tables()['summary']
    rows = {f'seed {k}': seed.loc[k, list(SUMMARY_KEYS)] for k in seed.index}

    def summ(r) -> dict:
        return getattr(r, 'summary', r)

    s = summ(result)
    rows[f"ours (TTA {s.get('tta', 'none')})" if with_tta is not None else 'ours'] = \
        pd.Series({k: s.get(k) for k in SUMMARY_KEYS})
    if with_tta is not None:
        t = summ(with_tta)
        rows[f"ours (TTA {t.get('tta')})"] = pd.Series({k: t.get(k) for k in SUMMARY_KEYS})
        rows['TTA gain'] = pd.Series({k: t.get(k) - s.get(k) for k in SUMMARY_KEYS})
    df = pd.DataFrame(rows).T.astype(float).round(2)
    df.index.name = 'run'
    if not styled:
        return df
    split = s.get('split', 'val')
    return (df.style.format('{:.2f}')
            .set_caption(f'{split} scores in % (the report measured without TTA; the seed runs are its tables)'))


def plot_confusion(result, normalize: bool = True, classes: Sequence[str] = CLASSES, min_show: float = 0.005):
    """Confusion-matrix heat map, rows = ground truth normalised per row (recall), class names on both axes."""
    from matplotlib.figure import Figure

    conf = np.asarray(getattr(result, 'confusion', result), dtype=np.float64)
    n = conf.shape[0]
    if conf.shape != (n, n) or len(classes) != n:
        raise ValueError(f'confusion matrix of shape {conf.shape} does not match {len(classes)} classes')
    mat = _ratio(conf, conf.sum(axis=1, keepdims=True)) if normalize else conf
    fig = Figure(figsize=(9.5, 8), layout='constrained')
    ax = fig.subplots()
    im = ax.imshow(np.nan_to_num(mat), cmap='Blues', vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(n), classes, rotation=60, ha='right', fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel('predicted')
    ax.set_ylabel('ground truth')
    for i in range(n):
        for j in range(n):
            v = mat[i, j]
            if np.isfinite(v) and (v >= min_show if normalize else v > 0):
                ax.text(j, i, f'{v * 100:.0f}' if normalize else f'{int(v)}', ha='center', va='center',
                        fontsize=6, color='white' if (v > 0.5 if normalize else False) else 'black')
    fig.colorbar(im, ax=ax, shrink=0.8, label='fraction of the ground-truth row' if normalize else 'pixels')
    ax.set_title('confusion matrix' + (' (row-normalised, %)' if normalize else ' (pixels)'))
    return fig


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.core.metrics', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                   help='work dirs in training order (stage 1, then the resumed stage 2)')
    p.add_argument('--out', required=True, help='folder for curves.png, train_scalars.csv and val_scalars.csv')
    p.add_argument('--smooth', type=positive_int, default=1, help='rolling-mean window for the curves (default 1: none)')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        sc = read_scalars(a.work_dirs)
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        plot_curves(sc, smooth=a.smooth).savefig(out / 'curves.png', dpi=120)
        sc.train.to_csv(out / 'train_scalars.csv', index=False)
        sc.val.to_csv(out / 'val_scalars.csv', index=False)
    except Exception as exc:  # one message naming the file and the fix; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    last = sc.val.iloc[-1].to_dict() if len(sc.val) else {}
    print(f'{len(sc.runs)} run(s), {len(sc.train)} training and {len(sc.val)} validation points, '
          f'resumes at {[s for s, _ in sc.resumes]}; last val: '
          + ', '.join(f'{k} {last[k]:.2f}' for k in SUMMARY_KEYS if k in last))
    print(f'saved {out / "curves.png"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
