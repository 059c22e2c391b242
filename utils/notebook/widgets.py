"""Per-class IoU inspector for evaluation results: pick a class, see its per-image IoU and browse worst to best.

    inspector('work_dirs/seed/eval')            # in a notebook cell: the widget (or a static figure headless)

The rendering is done by plain functions (:func:`class_options`, :func:`per_image_scores`,
:func:`plot_iou_histogram`, :func:`render_example`, :func:`render_worst`) that return figures and
work without ipywidgets. :func:`inspector` wires them into ipywidgets when a kernel can show them
and otherwise returns the static :func:`render_worst` figure. The widget also carries that figure
as a PNG fallback, so a notebook executed headless (nbclient, papermill) still shows a picture.
Widget descriptions (stable, for UI tests): 'Results', 'Split', 'Class', 'Rank'.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from utils.base.layout import KnownError
from utils.evaluate import SUMMARY_FILE, PER_IMAGE_FILE, EvalResult, EvaluationError, load_result, read_mask
from utils.base.labels import colorize
from utils.base.report import cli_error, positive_int

ERROR_COLOURS = {  # error map legend: RGB
    'correct (class)': (0, 170, 0),
    'missed (class in GT, predicted other)': (220, 30, 30),
    'false alarm (predicted class, GT other)': (30, 100, 255),
    'other error': (170, 170, 170),
    'other correct': (245, 245, 245),
}


class InspectorError(KnownError, ValueError):
    """A class or image name that these results do not have (the message lists the choices)."""


# --------------------------------------------------------------------------- plain functions
def find_result_dirs(parent: str | os.PathLike, max_depth: int = 4) -> list[Path]:
    """Results folders of ``utils.evaluate`` at or below ``parent`` (newest first)."""
    root = Path(parent)
    found = []
    if (root / SUMMARY_FILE).is_file() and (root / PER_IMAGE_FILE).is_file():
        found.append(root)
    if root.is_dir():
        for depth in range(1, max_depth + 1):
            for summary in root.glob('/'.join(['*'] * depth) + '/' + SUMMARY_FILE):
                if (summary.parent / PER_IMAGE_FILE).is_file():
                    found.append(summary.parent)
    return sorted(set(found), key=lambda p: (p / SUMMARY_FILE).stat().st_mtime, reverse=True)


def class_options(result: EvalResult) -> list[tuple[str, int]]:
    """Dropdown options ``(label, class index)``, worst IoU first; classes never seen nor predicted go last."""
    iou = result.per_class['IoU'].to_numpy()
    order = sorted(range(len(iou)), key=lambda i: (np.isnan(iou[i]), iou[i] if not np.isnan(iou[i]) else 0, i))
    return [(f'{result.classes[i]} (IoU {iou[i]:.1f})' if not np.isnan(iou[i]) else
             f'{result.classes[i]} (absent)', int(i)) for i in order]


def _class_index(result: EvalResult, cls: int | str) -> int:
    if isinstance(cls, str):
        if cls not in result.classes:
            raise InspectorError(f'unknown class {cls!r}; choose one of {", ".join(result.classes)}')
        return result.classes.index(cls)
    return int(cls)


def per_image_scores(result: EvalResult, cls: int | str, metric: str = 'IoU'):
    """Per-image ``metric`` (%) of one class, worst first; images where the class is absent from both maps are left out."""
    c = _class_index(result, cls)
    return result.per_image(metric).iloc[:, c].dropna().sort_values(kind='stable')


def _new_figure(size: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout='constrained')


def plot_iou_histogram(result: EvalResult, cls: int | str, current: str | None = None, bins: int = 20, ax=None):
    """Histogram of one class's per-image IoU, the dataset IoU and (optionally) image ``current`` marked."""
    c = _class_index(result, cls)
    scores = per_image_scores(result, c)
    fig = None
    if ax is None:
        fig = _new_figure((5, 3.2))
        ax = fig.subplots()
    name = result.classes[c]
    if len(scores):
        ax.hist(scores.to_numpy(), bins=bins, range=(0, 100), color='tab:blue', alpha=0.8)
        total = result.per_class['IoU'].iloc[c]
        ax.axvline(total, color='black', ls='--', lw=1, label=f'dataset IoU {total:.1f}')
        if current is not None and current in scores.index:
            ax.axvline(scores[current], color='tab:red', lw=2, label=f'image {current}: {scores[current]:.1f}')
        ax.legend(fontsize=8, loc='upper left')
    else:
        ax.text(0.5, 0.5, f'{name} is in no image', ha='center', va='center', transform=ax.transAxes)
    ax.set_xlim(0, 100)
    ax.set_xlabel('per-image IoU (%)')
    ax.set_ylabel('images')
    ax.set_title(f'{name}: IoU per image ({len(scores)} images)', fontsize=10)
    return fig if fig is not None else ax.figure


def error_map(gt: np.ndarray, pred: np.ndarray, cls: int) -> np.ndarray:
    """RGB error map for class ``cls``: hits green, misses red, false alarms blue, other errors grey."""
    out = np.empty(gt.shape + (3,), dtype=np.uint8)
    colours = list(ERROR_COLOURS.values())
    g, p = gt == cls, pred == cls
    out[...] = colours[4]
    out[(gt != pred)] = colours[3]
    out[g & p] = colours[0]
    out[g & ~p] = colours[1]
    out[~g & p] = colours[2]
    return out


def highlight(mask: np.ndarray, cls: int, fade: float = 0.75) -> np.ndarray:
    """Colour picture of a label map with every class but ``cls`` faded towards white."""
    rgb = colorize(mask).astype(np.float32)
    faded = rgb * (1 - fade) + 255 * fade
    return np.where((mask == cls)[..., None], rgb, faded).astype(np.uint8)


def _load(path: Path | None, mask: bool):
    from utils.base.imageio import read_image

    if path is None or not Path(path).is_file():
        return None
    try:
        if mask:
            return read_mask(Path(path))
        return read_image(path)  # the one way every input is read (utils.base.imageio)
    except EvaluationError as exc:  # a broken or oversized mask: its panel says so, the inspector goes on
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - an unreadable image, likewise
        return f'cannot read {path}: {type(exc).__name__}: {exc}'


def _placeholder(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha='center', va='center', wrap=True, fontsize=8, transform=ax.transAxes, color='grey')


def _draw_example(axes: Sequence, result: EvalResult, c: int, name: str, data_root=None) -> None:
    img_path, gt_path = result.data_paths(name, data_root)
    image, gt, pred = _load(img_path, False), _load(gt_path, True), _load(result.pred_path(name), True)
    usable = [isinstance(a, np.ndarray) for a in (image, gt, pred)]
    panels = [('image', image, img_path), ('ground truth', highlight(gt, c) if usable[1] else gt, gt_path),
              ('prediction', highlight(pred, c) if usable[2] else pred,
               result.out_dir and result.out_dir / 'pred' / f'{name}.png'),
              ('error map', error_map(gt, pred, c) if usable[1] and usable[2] and gt.shape == pred.shape else None,
               None)]
    for ax, (title, arr, path) in zip(axes, panels):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
        if isinstance(arr, np.ndarray):
            ax.imshow(arr, interpolation='nearest')
        elif isinstance(arr, str):  # why the file could not be read
            _placeholder(ax, arr)
        else:
            _placeholder(ax, f'not found:\n{path}\n(pass data_root=...)' if path else 'needs GT and prediction')


def render_example(result: EvalResult, cls: int | str, name: str, data_root: str | os.PathLike | None = None):
    """Image, ground truth, prediction (class ``cls`` highlighted) and its error map for image ``name``."""
    from matplotlib.patches import Patch

    c = _class_index(result, cls)
    if name not in result.names:
        raise InspectorError(f'image {name!r} is not in these results ({len(result.names)} images)')
    fig = _new_figure((13, 3.9))
    axes = fig.subplots(1, 4)
    _draw_example(axes, result, c, name, data_root)
    i = result.names.index(name)
    inter, union, pred_a, gt_a = (a[i, c] for a in result.areas())
    iou = f'{100 * inter / union:.1f}%' if union else 'n/a (absent)'
    fig.suptitle(f'image {name}: {result.classes[c]} IoU {iou}  (GT {gt_a} px, predicted {pred_a} px, '
                 f'overlap {inter} px)', fontsize=11)
    fig.legend(handles=[Patch(color=np.array(v) / 255, label=k) for k, v in list(ERROR_COLOURS.items())[:4]],
               loc='lower center', ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.06))
    return fig


def worst_class(result: EvalResult) -> int:
    """Index of the class with the lowest IoU (ignoring classes absent from both GT and predictions)."""
    return class_options(result)[0][1]


def render_worst(result: EvalResult, cls: int | str | None = None, n: int = 3,
                 data_root: str | os.PathLike | None = None):
    """Static overview: the ``n`` worst images for class ``cls`` (default: the worst class), one row each."""
    c = worst_class(result) if cls is None else _class_index(result, cls)
    scores = per_image_scores(result, c)
    names = list(scores.index[:n])
    rows = max(1, len(names))
    fig = _new_figure((13, 3.2 * rows + 0.6))
    axes = np.atleast_2d(fig.subplots(rows, 4))
    if not names:
        for ax in axes.flat:
            ax.axis('off')
        _placeholder(axes[0, 0], f'{result.classes[c]} is in no image')
    for r, name in enumerate(names):
        _draw_example(axes[r], result, c, name, data_root)
        axes[r, 0].set_ylabel(f'{name}\nIoU {scores[name]:.1f}', fontsize=9)
    iou = result.per_class['IoU'].iloc[c]
    fig.suptitle(f'worst {len(names)} images for {result.classes[c]} (dataset IoU '
                 f'{"n/a" if np.isnan(iou) else f"{iou:.1f}"}) - '
                 f'{result.summary.get("split")}, TTA {result.summary.get("tta")}; '
                 'green = hit, red = missed, blue = false alarm', fontsize=11)
    return fig


def figure_png(fig, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=dpi)
    return buf.getvalue()


# --------------------------------------------------------------------------- the widget
def widgets_available() -> bool:
    """True when ipywidgets imports and an IPython kernel is running (so a widget can be shown)."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, 'kernel', None) is not None


def _result_label(path: Path, parent: Path, result_summary: dict) -> str:
    try:
        rel = str(path.relative_to(parent)) or path.name
    except ValueError:
        rel = str(path)
    if rel == '.':
        rel = path.name
    miou = result_summary.get('mIoU')
    return f"{rel}: {result_summary.get('split')}, TTA {result_summary.get('tta')}, " + \
        (f'mIoU {miou:.2f}' if isinstance(miou, (int, float)) else 'mIoU n/a')


class Inspector:
    """The interactive inspector: ``.widget`` is the ipywidgets box; displaying the object shows it.

    Controls (``description``): ``results`` ('Results'), ``split`` ('Split'), ``class_dropdown``
    ('Class'), ``rank`` ('Rank', 0 = worst image), buttons 'Worst', '◀ worse', 'better ▶', 'Best';
    ``hist_image`` and ``example_image`` hold the rendered PNGs.
    """

    def __init__(self, results_dir: str | os.PathLike, data_root: str | os.PathLike | None = None,
                 split: str | None = None, cls: int | str | None = None, dpi: int = 80) -> None:
        import ipywidgets as W

        self.parent = Path(results_dir)
        self.data_root, self.dpi = data_root, dpi
        self.dirs = find_result_dirs(self.parent)
        if not self.dirs:
            raise EvaluationError(f'No evaluation results under {self.parent}: run utils.evaluate first '
                                  '(`python -m utils.evaluate CHECKPOINT --data-root DIR`), then pass its --out '
                                  'folder or a parent of it.')
        self._summaries = {d: load_result(d).summary for d in self.dirs}
        self._cache: dict[Path, EvalResult] = {}
        splits = sorted({s.get('split', '?') for s in self._summaries.values()})
        self.split = W.Dropdown(options=splits, value=split if split in splits else self._summaries[self.dirs[0]].get(
            'split', splits[0]), description='Split')
        self.results = W.Dropdown(description='Results', layout=W.Layout(width='60%'))
        self.class_dropdown = W.Dropdown(description='Class', layout=W.Layout(width='320px'))
        self.rank = W.IntSlider(value=0, min=0, max=0, description='Rank', continuous_update=False)
        self.buttons = {k: W.Button(description=k, layout=W.Layout(width='90px'))
                        for k in ('Worst', '◀ worse', 'better ▶', 'Best')}
        self.info = W.HTML()
        self.hist_image = W.Image(format='png')
        self.example_image = W.Image(format='png')
        for w, css in ((self.class_dropdown, 'celebamask-class'), (self.results, 'celebamask-results'),
                       (self.split, 'celebamask-split'), (self.rank, 'celebamask-rank'),
                       (self.example_image, 'celebamask-example'), (self.hist_image, 'celebamask-hist')):
            w.add_class(css)
        self._scores = None
        self._busy = False
        self._fill_results()
        self._on_results()
        if cls is not None:
            self.class_dropdown.value = _class_index(self.result, cls)
        self.split.observe(lambda ch: self._fill_results(), names='value')
        self.results.observe(lambda ch: self._on_results(), names='value')
        self.class_dropdown.observe(lambda ch: self._on_class(), names='value')
        self.rank.observe(lambda ch: self._render_example(), names='value')
        steps = {'Worst': lambda: 0, '◀ worse': lambda: self.rank.value - 1, 'better ▶': lambda: self.rank.value + 1,
                 'Best': lambda: self.rank.max}
        for key, btn in self.buttons.items():
            btn.on_click(lambda _b, f=steps[key]: setattr(self.rank, 'value', max(0, min(self.rank.max, f()))))
        self.widget = W.VBox([
            W.HBox([self.split, self.results]),
            W.HBox([self.class_dropdown, self.info]),
            W.HBox([self.hist_image, W.VBox([W.HBox([self.rank, *self.buttons.values()]), self.example_image])]),
        ])
        self.widget.add_class('celebamask-inspector')

    # ---------------------------------------------------------------- state
    @property
    def result(self) -> EvalResult:
        """The results folder chosen in the 'Results' dropdown."""
        path = Path(self.results.value)
        if path not in self._cache:
            self._cache[path] = load_result(path)
        return self._cache[path]

    @property
    def current_image(self) -> str | None:
        """Name of the image shown (rank ``self.rank.value`` among the class's images, worst first)."""
        if self._scores is None or not len(self._scores):
            return None
        return str(self._scores.index[min(self.rank.value, len(self._scores) - 1)])

    def _fill_results(self) -> None:
        opts = [(_result_label(d, self.parent, self._summaries[d]), str(d)) for d in self.dirs
                if self._summaries[d].get('split') == self.split.value]
        keep = self.results.value if self.results.value in [v for _, v in opts] else None
        self.results.options = opts
        if opts:
            self.results.value = keep or opts[0][1]

    def _on_results(self) -> None:
        if not self.results.value:
            return
        previous = self.class_dropdown.value
        self._busy = True
        try:
            opts = class_options(self.result)
            self.class_dropdown.options = opts
            values = [v for _, v in opts]
            self.class_dropdown.value = previous if previous in values else values[0]
        finally:
            self._busy = False
        self._on_class()

    def _on_class(self) -> None:
        if self._busy or self.class_dropdown.value is None:
            return
        c = self.class_dropdown.value
        self._scores = per_image_scores(self.result, c)
        n = len(self._scores)
        self._busy = True
        try:
            self.rank.max = max(0, n - 1)
            self.rank.value = 0
        finally:
            self._busy = False
        self.rank.disabled = n <= 1
        iou = self.result.per_class['IoU'].iloc[c]
        self.info.value = (f'<b>{self.result.classes[c]}</b>: dataset IoU '
                           f'{"n/a" if np.isnan(iou) else f"{iou:.2f}"}%, in {n} of {len(self.result.names)} images '
                           '(rank 0 = worst)')
        self._render_example()

    def _render_example(self) -> None:
        if self._busy:
            return
        c, name = self.class_dropdown.value, self.current_image
        self.hist_image.value = figure_png(plot_iou_histogram(self.result, c, current=name), self.dpi)
        if name is None:
            fig = _new_figure((8, 2))
            _placeholder(fig.subplots(), f'{self.result.classes[c]} appears in no image of this split')
        else:
            fig = render_example(self.result, c, name, self.data_root)
        self.example_image.value = figure_png(fig, self.dpi)

    # ---------------------------------------------------------------- display
    def static_figure(self):
        """The static fallback: worst images for the class chosen (or the worst class)."""
        return render_worst(self.result, self.class_dropdown.value, data_root=self.data_root)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        data = {'text/plain': f'Inspector({self.parent}): {len(self.dirs)} results folder(s)',
                'application/vnd.jupyter.widget-view+json': {
                    'version_major': 2, 'version_minor': 0, 'model_id': self.widget.model_id}}
        try:  # a PNG for frontends that cannot run widgets (headless runs, static renderers)
            data['image/png'] = base64.b64encode(figure_png(self.static_figure())).decode('ascii')
        except Exception:  # pragma: no cover - the widget itself still works
            pass
        return data


def inspector(results_dir: str | os.PathLike, data_root: str | os.PathLike | None = None, split: str | None = None,
              cls: int | str | None = None, static: bool | None = None):
    """The per-class inspector for the results folder(s) at or below ``results_dir``.

    Returns an :class:`Inspector` (shows as the widget) when ipywidgets and a kernel are available,
    else, or with ``static=True``, the static :func:`render_worst` figure of the newest results folder.
    """
    if static is None:
        static = not widgets_available()
    if not static:
        try:
            return Inspector(results_dir, data_root=data_root, split=split, cls=cls)
        except ImportError:  # ipywidgets missing or broken: fall back to the picture
            pass
    dirs = find_result_dirs(results_dir)
    if split is not None:
        dirs = [d for d in dirs if load_result(d).summary.get('split') == split] or dirs
    if not dirs:
        raise EvaluationError(f'No evaluation results under {results_dir}: run utils.evaluate first.')
    return render_worst(load_result(dirs[0]), cls, data_root=data_root)


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.notebook.widgets', description='Save the static inspector figure '
                                '(worst images for a class) of an evaluation results folder.')
    p.add_argument('results_dir', help='results folder of utils.evaluate, or a parent of several')
    p.add_argument('--class', dest='cls', help='class name (default: the worst class)')
    p.add_argument('--data-root', help='dataset root, when it moved since the evaluation')
    p.add_argument('--n', type=positive_int, default=3, help='number of images (default 3)')
    p.add_argument('--out', default='inspector.png', help='output PNG (default inspector.png)')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        dirs = find_result_dirs(a.results_dir)
        if not dirs:
            raise EvaluationError(f'No evaluation results under {a.results_dir}: run utils.evaluate first.')
        result = load_result(dirs[0])
        fig = render_worst(result, a.cls, n=a.n, data_root=a.data_root)
        fig.savefig(a.out, dpi=100)
    except Exception as exc:  # one message naming the file and the fix; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    print(f'saved {a.out} ({dirs[0]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
