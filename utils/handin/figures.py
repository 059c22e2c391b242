"""The report's figures from a run, in its layout: each curve with stage 1 on the left and the whole run (the resume
marked) on the right, as the reference report showed 20k and 30k side by side; a per-class IoU bar chart against the
report; a grid of test predictions. Saved as PNG (for the .docx) and PDF (vector, for LaTeX)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from utils.base.labels import CLASSES
from utils.handin.rundata import RunData

FIG_W = 10.0  # inches: the width of the text of an A4 page at 300 dpi is plenty


def _panels(run: RunData, height: float = 2.3):
    """A figure with one panel per view: stage 1, then the whole run with the resume marked (when resumed)."""
    from matplotlib.figure import Figure

    views = [('stage 1', run.stage_ends[0] if run.stage_ends else None)]
    if run.resume_step is not None:
        views.append((f'resumed from {run.resume_step:,} to {run.stage_ends[-1]:,}', None))
    fig = Figure(figsize=(FIG_W if len(views) > 1 else FIG_W * 0.6, height), layout='constrained')
    axes = fig.subplots(1, len(views), squeeze=False)[0]
    return fig, list(zip(axes, views))


def _clip(df, upto: int | None):
    return df if upto is None or 'step' not in df.columns else df[df['step'] <= upto]


def _mark_resume(ax, run: RunData, whole: bool) -> None:
    if whole and run.resume_step is not None:
        ax.axvline(run.resume_step, color='tab:red', ls='--', lw=1)
        ax.annotate('resume', (run.resume_step, 0.03), xycoords=('data', 'axes fraction'), ha='right', va='bottom',
                    fontsize=8, color='tab:red', rotation=90)


def _curve_figure(run: RunData, draw: Callable[[Any, Any, Any], bool], ylabel: str, title: str):
    from matplotlib.ticker import MaxNLocator

    fig, panels = _panels(run)
    tr, va = run.scalars.train, run.scalars.val
    for ax, (label, upto) in panels:
        drew = draw(ax, _clip(tr, upto), _clip(va, upto))
        _mark_resume(ax, run, upto is None)
        ax.set(xlabel='iteration', ylabel=ylabel, title=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if drew:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, 'not logged', ha='center', va='center', transform=ax.transAxes, color='grey')
    fig.suptitle(title, fontsize=11)
    return fig


def loss_figure(run: RunData):
    """Training loss (smoothed) and the validation loss, per iteration."""
    def draw(ax, tr, va) -> bool:
        drew = False
        if 'loss' in tr.columns and tr['loss'].notna().any():
            window = max(1, len(tr) // 50)
            ax.plot(tr['step'], tr['loss'].rolling(window, min_periods=1).mean(), lw=1.2,
                    label='training loss' + (f' (mean of {window})' if window > 1 else ''))
            drew = True
        if 'val_loss' in va.columns and va['val_loss'].notna().any():
            ax.plot(va['step'], va['val_loss'], 'o-', ms=3, color='tab:red', label='val loss (decode head)')
            drew = True
        return drew
    return _curve_figure(run, draw, 'loss', 'Loss: training, and on the val set')


def val_metrics_figure(run: RunData):
    """mIoU, mAcc and aAcc on the val set at each validation."""
    def draw(ax, tr, va) -> bool:
        drew = False
        for col in ('imgF', 'mIoU', 'mAcc', 'aAcc'):
            if col in va.columns and va[col].notna().any():  # the per-image F (0-1) on the same axis, x100
                ax.plot(va['step'], va[col] * (100 if col == 'imgF' else 1), 'o-', ms=3,
                        label='per-image F x100' if col == 'imgF' else col)
                drew = True
        return drew
    return _curve_figure(run, draw, '%', 'mIoU, mAcc and aAcc on the val set')


def schedule_figure(run: RunData):
    """The learning rate and the momentum that training used, as logged at each iteration."""
    def draw(ax, tr, va) -> bool:
        if 'lr' not in tr.columns:
            return False
        ax.plot(tr['step'], tr['lr'], color='tab:blue', label='learning rate')
        if 'momentum' in tr.columns and tr['momentum'].notna().any():
            ax2 = ax.twinx()
            ax2.plot(tr['step'], tr['momentum'], color='tab:orange', label='momentum')
            ax2.set_ylabel('momentum', color='tab:orange')
            ax.plot([], [], color='tab:orange', label='momentum (right axis)')
        return True
    return _curve_figure(run, draw, 'learning rate', 'Learning rate and momentum schedule')


def per_class_iou_figure(run: RunData, edition: str = '2022'):
    """Per-class val IoU of our best validation beside the report's first and best runs (horizontal bars; the
    2022 report is no bar under the 2025-26 rules, so ours stands alone there)."""
    from matplotlib.figure import Figure

    _, best = run.first_and_best()
    series = []
    if best is not None:
        series.append((f'ours, best validation ({best:,} it)', run.per_class_at(best)['IoU'].reindex(CLASSES),
                       'tab:blue'))
    if edition == '2022':
        series += [('report, best run (30k)', run.seed['best']['IoU'], 'tab:green'),
                   ('report, first run (20k)', run.seed['first']['IoU'], '0.7')]
    fig = Figure(figsize=(FIG_W * 0.75, 7.5), layout='constrained')
    ax = fig.subplots()
    y = np.arange(len(CLASSES))
    h = 0.8 / len(series)
    for k, (label, values, colour) in enumerate(series):
        vals = np.asarray(values, dtype=float)
        offset = (k - (len(series) - 1) / 2) * h
        ax.barh(y + offset, np.nan_to_num(vals), height=h, label=label, color=colour)
        if k == 0:  # our values written out; a class absent from val has no IoU (n/a), not 0
            for yy, v in zip(y, vals):
                ax.text(0.5 + (v if np.isfinite(v) else 0), yy + offset, f'{v:.1f}' if np.isfinite(v) else 'n/a',
                        va='center', fontsize=7)
    ax.set_yticks(y, CLASSES)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel('IoU on val (%)')
    ax.grid(axis='x', alpha=0.3)
    ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1.0), ncol=len(series), fontsize=8, frameon=False)
    fig.suptitle('Per-class IoU on val: ours and the reference report' if edition == '2022' else
                 'Per-class IoU on the holdout', fontsize=11)
    return fig


def predictions_figure(run: RunData, test_images: str | Path | None, n: int = 4):
    """``n`` test images beside the submitted predictions over them (None without a submission or the images)."""
    import zipfile

    from matplotlib.figure import Figure
    from PIL import Image

    from utils.core.viz import class_legend, overlay

    if run.submission is None or test_images is None or not Path(test_images).is_dir():
        return None
    images = {p.stem: p for p in sorted(Path(test_images).iterdir()) if p.suffix.lower() in ('.jpg', '.jpeg', '.png')}
    with zipfile.ZipFile(run.submission) as zf:
        masks = {Path(m).stem: m for m in zf.namelist() if m.endswith('.png') and Path(m).stem in images}
        chosen = sorted(masks, key=lambda s: (len(s), s))[:n]
        if not chosen:
            return None
        fig = Figure(figsize=(FIG_W * 0.75, 2.2 * len(chosen) / 2 + 1.0), layout='constrained')
        axes = fig.subplots(-(-len(chosen) // 2), 4, squeeze=False)
        seen: set[int] = set()
        for ax in axes.ravel():
            ax.axis('off')
        for k, name in enumerate(chosen):
            with zf.open(masks[name]) as fh:
                mask = np.asarray(Image.open(fh))
            with Image.open(images[name]) as im:
                rgb = np.asarray(im.convert('RGB'))
            seen.update(int(v) for v in np.unique(mask) if v < len(CLASSES))
            a, b = axes[k // 2, 2 * (k % 2)], axes[k // 2, 2 * (k % 2) + 1]
            a.imshow(rgb)
            a.set_title(images[name].name, fontsize=8)
            b.imshow(overlay(rgb, mask) if rgb.shape[:2] == mask.shape else mask)
            b.set_title('prediction', fontsize=8)
    class_legend(fig, sorted(seen), ncol=5)
    fig.get_layout_engine().set(rect=(0, 0.12, 1, 0.88))
    return fig


def write_figures(run: RunData, folder: Path, test_images: str | Path | None = None,
                  edition: str = '2022') -> dict[str, Path]:
    """Every figure the run allows as ``<name>.png`` (150 dpi) and ``<name>.pdf``; returns name -> PNG path."""
    folder.mkdir(parents=True, exist_ok=True)
    makers = {'per_class_iou': lambda r: per_class_iou_figure(r, edition)}
    if run.scalars is not None:
        makers = {'loss': loss_figure, 'val_metrics': val_metrics_figure, 'schedule': schedule_figure, **makers}
    out = {}
    for name, make in {**makers, 'predictions': lambda r: predictions_figure(r, test_images)}.items():
        fig = make(run)
        if fig is None:
            continue
        fig.savefig(folder / f'{name}.png', dpi=150)
        fig.savefig(folder / f'{name}.pdf')
        out[name] = folder / f'{name}.png'
    return out
