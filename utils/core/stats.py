"""Class statistics of a dataset in the course layout: pixel frequency, presence, class weights, pictures.

    python -m utils.core.stats DATA_ROOT [--split train] [--figures FIG_DIR]

Per-image class pixel counts are cached in ``DATA_ROOT/.stats_cache.npz`` (keyed on file name, size and
modification time, so a changed mask is recounted); re-running a notebook is then instant.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from utils.core.config import WEIGHT_METHODS, seed_class_weights
from utils.base.labels import CLASSES, NUM_CLASSES, PALETTE, colorize
from utils.base.layout import DataError, image_dir, list_files, mask_dir, natural_key
from utils.base.parallel import default_workers
from utils.base.report import cli_error
from utils.core.viz import class_legend, overlay

#: Classes that occur in few images of CelebAMask-HQ.
RARE_CLASSES: tuple[str, ...] = ('neck_l', 'ear_r', 'hat', 'eye_g')
CACHE_NAME = '.stats_cache.npz'
_CACHE_VERSION = 1
_N_COLS = NUM_CLASSES + 1  # 19 classes + pixels with values outside 0..18


# --------------------------------------------------------------------------- counting (cached)
def count_mask(path: str | os.PathLike) -> np.ndarray:
    """Pixels per class (19 values) plus pixels outside 0..18 (last value) of one mask (read the one way every mask
    is: :func:`utils.base.imageio.read_label_mask`)."""
    from utils.base.imageio import ImageReadError, read_label_mask

    try:
        hist = np.bincount(read_label_mask(path).ravel(), minlength=256)
    except ImageReadError as e:
        raise DataError(f'{e} Run `python -m utils.data check DATA_ROOT` to list every such file, then fetch the '
                        'dataset again into a new folder.') from None
    return np.concatenate([hist[:NUM_CLASSES], [hist[NUM_CLASSES:].sum()]]).astype(np.int64)


def _warn_out_of_range(root: Path, split: str, names: list[str], counts: np.ndarray) -> None:
    """Warn (like ``utils.data check``) when masks hold values outside 0..18, which the statistics leave out."""
    bad = np.flatnonzero(counts[:, -1])
    if bad.size:
        examples = ', '.join(names[i] for i in bad[:3]) + (', ...' if bad.size > 3 else '')
        warnings.warn(f'{int(counts[bad, -1].sum())} pixels in {bad.size} masks of {mask_dir(root, split)} have values '
                      f'outside 0..18 ({examples}); they are left out of the frequencies and class weights. Run '
                      f'`python -m utils.data check {root}` for what to do.', stacklevel=3)


def _load_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        return data if int(data.get('version', -1)) == _CACHE_VERSION else {}
    except Exception:  # a corrupt cache is simply rebuilt
        return {}


def _save_cache(path: Path, data: dict[str, np.ndarray]) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix='.stats_cache-', suffix='.npz', dir=path.parent)
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, version=np.array(_CACHE_VERSION), **data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        warnings.warn(f'could not write the statistics cache {path} ({e}); the counts were computed without '
                      'caching', stacklevel=3)


def class_pixel_counts(data_root: str | os.PathLike, split: str = 'train', *, cache: bool = True,
                       workers: int | None = None, progress: bool = True):
    """Per-image pixel counts: a DataFrame indexed by mask name, one column per class plus ``other``.

    Cached in ``data_root/.stats_cache.npz``; only masks whose size or modification time changed
    (or that are new) are recounted.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    root = Path(data_root)
    folder = mask_dir(root, split)
    names = list_files(folder, ('.png',))
    if not names:
        raise DataError(f'no masks in {folder}: statistics need {split}/{split}_mask/*.png. Check the dataset '
                        f'with `python -m utils.data check {root}`.')
    stats = [os.stat(folder / n) for n in names]
    sizes = np.array([s.st_size for s in stats], np.int64)
    mtimes = np.array([s.st_mtime_ns for s in stats], np.int64)
    cache_path = root / CACHE_NAME
    data = _load_cache(cache_path) if cache else {}
    known: dict[str, tuple[int, int, np.ndarray]] = {}
    if f'{split}_names' in data:
        for n, sz, mt, row in zip(data[f'{split}_names'].tolist(), data[f'{split}_sizes'],
                                  data[f'{split}_mtimes'], data[f'{split}_counts']):
            known[n] = (int(sz), int(mt), row)
    counts = np.zeros((len(names), _N_COLS), np.int64)
    todo = []
    for i, (n, sz, mt) in enumerate(zip(names, sizes, mtimes)):
        hit = known.get(n)
        if hit is not None and hit[0] == sz and hit[1] == mt and len(hit[2]) == _N_COLS:
            counts[i] = hit[2]
        else:
            todo.append(i)
    if todo:
        paths = [str(folder / names[i]) for i in todo]
        n_workers = default_workers(len(paths), workers)
        bar = tqdm(total=len(paths), desc=f'count {split} masks', unit='mask', disable=not progress)
        if n_workers > 1:
            with ProcessPoolExecutor(n_workers) as pool:
                for i, row in zip(todo, pool.map(count_mask, paths, chunksize=32)):
                    counts[i] = row
                    bar.update()
        else:
            for i, p in zip(todo, paths):
                counts[i] = count_mask(p)
                bar.update()
        bar.close()
    if cache and (todo or len(known) != len(names)):
        data.pop('version', None)
        data.update({f'{split}_names': np.array(names), f'{split}_sizes': sizes, f'{split}_mtimes': mtimes,
                     f'{split}_counts': counts})
        _save_cache(cache_path, data)
    _warn_out_of_range(root, split, names, counts)
    return pd.DataFrame(counts, index=pd.Index(names, name='mask'), columns=[*CLASSES, 'other'])


# --------------------------------------------------------------------------- frequencies and weights
def class_frequencies(data_root: str | os.PathLike, splits: Sequence[str] | None = None, **kw):
    """Per class and split: share of all pixels (``<split> pixels``) and of images containing it
    (``<split> images``)."""
    import pandas as pd

    cols = {}
    for s in splits or labelled_splits(data_root):
        c = class_pixel_counts(data_root, s, **kw)
        cols[f'{s} pixels'] = c[list(CLASSES)].sum(axis=0) / max(int(c.values.sum()), 1)
        cols[f'{s} images'] = (c[list(CLASSES)] > 0).mean(axis=0)
    df = pd.DataFrame(cols)
    df.index.name = 'class'
    return df


def weights_from_counts(counts: np.ndarray, method: str = 'median_freq') -> np.ndarray:
    """Class weights (mean 1) from per-image pixel counts ``(n_images, >=19)``.

    ``median_freq``: median frequency balancing (Eigen & Fergus 2015): freq(c) = pixels of c / pixels of the
    images that contain c; weight = median(freq) / freq(c). ``inv_sqrt``: 1 / sqrt(share of all pixels).
    A class that never occurs gets the largest weight of the others (with a warning).
    """
    counts = np.asarray(counts, dtype=np.float64)
    per_class = counts[:, :NUM_CLASSES]
    pix = per_class.sum(0)
    present = pix > 0
    if not present.any():
        raise DataError('no labelled pixels: cannot compute class weights.')
    w = np.zeros(NUM_CLASSES)
    if method == 'median_freq':
        img_pix = counts.sum(1)
        denom = ((per_class > 0) * img_pix[:, None]).sum(0)
        freq = np.divide(pix, denom, out=np.zeros_like(pix), where=denom > 0)
        w[present] = np.median(freq[present]) / freq[present]
    elif method == 'inv_sqrt':
        share = pix / pix.sum()
        w[present] = 1.0 / np.sqrt(share[present])
    else:
        raise ValueError(f'unknown class-weight method {method!r}; use one of {WEIGHT_METHODS}.')
    if not present.all():
        absent = [CLASSES[i] for i in np.flatnonzero(~present)]
        warnings.warn(f'classes {absent} never occur; gave them the largest weight of the others', stacklevel=2)
        w[~present] = w[present].max()
    return w / w.mean()


def compute_class_weights(data_root: str | os.PathLike, method: str = 'median_freq',
                          split: str = 'train') -> list[float]:
    """19 class weights (mean 1, label order) derived from the masks of ``split``; see :func:`weights_from_counts`."""
    if method not in WEIGHT_METHODS:
        raise ValueError(f'unknown class-weight method {method!r}; use one of {WEIGHT_METHODS}.')
    counts = class_pixel_counts(data_root, split, progress=False).to_numpy()
    return [round(float(v), 4) for v in weights_from_counts(counts, method)]


def weight_table(data_root: str | os.PathLike, split: str = 'train', styled: bool = False):
    """Per class: pixel and image share, the seed's weights (from the seed config) and the two data-derived ones.

    Returns a DataFrame, or a pandas Styler (percentages, colour bars) when ``styled``.
    """
    import pandas as pd

    counts = class_pixel_counts(data_root, split, progress=False)
    arr = counts.to_numpy()
    df = pd.DataFrame({
        'pixels %': 100 * arr[:, :NUM_CLASSES].sum(0) / max(arr.sum(), 1),
        'images %': 100 * (arr[:, :NUM_CLASSES] > 0).mean(0),
        'seed': seed_class_weights(),
        'median_freq': weights_from_counts(arr, 'median_freq'),
        'inv_sqrt': weights_from_counts(arr, 'inv_sqrt'),
    }, index=pd.Index(CLASSES, name='class'))
    if not styled:
        return df
    return (df.style.format({'pixels %': '{:.3f}', 'images %': '{:.1f}', 'seed': '{:.2f}',
                             'median_freq': '{:.2f}', 'inv_sqrt': '{:.2f}'})
            .bar(subset=['seed', 'median_freq', 'inv_sqrt'], color='#90caf9', vmin=0)
            .set_caption(f'Class weights from {split} ({len(counts)} masks), each normalised to mean 1'))


# --------------------------------------------------------------------------- rare classes
def rare_class_images(data_root: str | os.PathLike, classes: Iterable[str] = RARE_CLASSES,
                      splits: Sequence[str] | None = None):
    """Images that contain any of ``classes``: one row each (split, mask name), pixels per rare class."""
    import pandas as pd

    classes = list(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise ValueError(f'unknown classes {unknown}; choose from {CLASSES}.')
    frames = []
    for s in splits or labelled_splits(data_root):
        c = class_pixel_counts(data_root, s, progress=False)[classes]
        c = c[(c > 0).any(axis=1)]
        frames.append(c.assign(split=s).reset_index().set_index(['split', 'mask']))
    return pd.concat(frames)


# --------------------------------------------------------------------------- pictures
def labelled_splits(data_root: str | os.PathLike) -> tuple[str, ...]:
    """The splits of ``data_root`` that have masks: train and val (2022), train alone when val has none (2026)."""
    found = tuple(s for s in ('train', 'val') if list_files(mask_dir(data_root, s), ('.png',)))
    return found or ('train',)


def _load_pair(root: Path, split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    stem = os.path.splitext(name)[0]
    pair = []
    for path, mode in ((image_dir(root, split) / f'{stem}.jpg', 'RGB'), (mask_dir(root, split) / f'{stem}.png', None)):
        try:
            with Image.open(path) as im:
                pair.append(np.asarray(im.convert(mode) if mode else im))
        except Exception as e:  # noqa: BLE001 - name the file and the fix
            raise DataError(f'cannot read {path}: {type(e).__name__}: {e}. Run `python -m utils.data check {root}` '
                            'to list every such file, then fetch the dataset again into a new folder.') from None
    return pair[0], pair[1]


def plot_class_frequencies(data_root: str | os.PathLike, splits: Sequence[str] | None = None):
    """Bar charts (log scale) of each class's pixel share and image share, per split, in palette colours."""
    from matplotlib.figure import Figure

    splits = splits or labelled_splits(data_root)
    df = class_frequencies(data_root, splits, progress=False)
    x = np.arange(NUM_CLASSES)
    width = 0.8 / len(splits)
    colours = np.asarray(PALETTE) / 255
    fig = Figure(figsize=(12, 6.5))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, what, label in ((axes[0], 'pixels', 'share of pixels'), (axes[1], 'images', 'share of images')):
        for k, s in enumerate(splits):
            vals = df[f'{s} {what}'].to_numpy()
            ax.bar(x + (k - (len(splits) - 1) / 2) * width, np.where(vals > 0, vals, np.nan), width,
                   color=colours, edgecolor='0.2', linewidth=0.5, hatch=None if k == 0 else '///',
                   alpha=1.0 if k == 0 else 0.6)
        ax.set_yscale('log')
        ax.set_ylabel(f'{label} (log)')
        ax.grid(axis='y', which='major', alpha=0.3)
    from matplotlib.patches import Patch

    axes[0].legend(handles=[Patch(facecolor='0.75', edgecolor='0.2', hatch=None if k == 0 else '///', label=s)
                            for k, s in enumerate(splits)], title='split')
    axes[1].set_xticks(x, [f'{i} {c}' for i, c in enumerate(CLASSES)], rotation=45, ha='right')
    axes[0].set_title('class frequency: pixels (top) and images containing the class (bottom)')
    fig.tight_layout()
    return fig


def plot_class_weights(data_root: str | os.PathLike, split: str = 'train'):
    """Grouped bars: the seed's weights next to median-frequency and inverse-sqrt weights."""
    from matplotlib.figure import Figure

    df = weight_table(data_root, split)
    x = np.arange(NUM_CLASSES)
    fig = Figure(figsize=(12, 3.5))
    ax = fig.subplots()
    for k, col in enumerate(('seed', 'median_freq', 'inv_sqrt')):
        ax.bar(x + (k - 1) * 0.27, df[col], 0.27, label=col)
    ax.set_yscale('log')
    ax.set_xticks(x, list(CLASSES), rotation=45, ha='right')
    ax.set_ylabel('weight (mean 1, log)')
    ax.axhline(1, color='0.4', lw=0.8)
    ax.legend(ncol=3)
    ax.set_title(f'class weights ({split})')
    fig.tight_layout()
    return fig


def overlay_grid(data_root: str | os.PathLike, split: str = 'train', n: int = 6,
                 names: Sequence[str] | None = None, alpha: float = 0.5, seed: int = 0):
    """Image, mask colours and overlay for ``n`` random (or the named) samples, with a palette legend."""
    from matplotlib.figure import Figure

    root = Path(data_root)
    if names is None:
        pool = list_files(mask_dir(root, split), ('.png',))
        if not pool:
            raise DataError(f'no masks in {mask_dir(root, split)}; run `python -m utils.data check {root}`.')
        pick = np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False)
        names = sorted((pool[i] for i in pick), key=natural_key)
    names = list(names)
    fig = Figure(figsize=(2.2 * len(names), 7.4))
    axes = fig.subplots(3, len(names), squeeze=False)
    for j, name in enumerate(names):
        img, mask = _load_pair(root, split, name)
        colour = colorize(mask)
        for i, pic in enumerate((img, colour, overlay(img, mask, alpha))):
            axes[i, j].imshow(pic)
            axes[i, j].axis('off')
        axes[0, j].set_title(f'{split}/{os.path.splitext(name)[0]}', fontsize=9)
    for i, t in enumerate(('image', 'mask', 'overlay')):
        axes[i, 0].text(-0.05, 0.5, t, transform=axes[i, 0].transAxes, rotation=90, ha='right', va='center')
    class_legend(fig)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def rare_class_grid(data_root: str | os.PathLike, classes: Iterable[str] = RARE_CLASSES, split: str = 'train',
                    per_class: int = 6):
    """Thumbnails of images containing each rare class (one row per class), the class highlighted."""
    from matplotlib.figure import Figure

    root = Path(data_root)
    classes = list(classes)
    table = rare_class_images(root, classes, splits=(split,))
    fig = Figure(figsize=(1.9 * per_class, 2.1 * len(classes)))
    axes = fig.subplots(len(classes), per_class, squeeze=False)
    for r, cls in enumerate(classes):
        label = CLASSES.index(cls)
        col = table[cls]
        rows = col[col > 0].sort_values(ascending=False)
        picked = rows.index.get_level_values('mask')[:per_class]
        for c in range(per_class):
            ax = axes[r, c]
            ax.axis('off')
            if c >= len(picked):
                continue
            img, mask = _load_pair(root, split, picked[c])
            sel = (mask == label)[..., None]
            hl = np.asarray(PALETTE[label], np.float32) * 0.6 + 255 * 0.4
            pic = np.where(sel, img * 0.4 + hl * 0.6, img * 0.45)
            ax.imshow(pic.astype(np.uint8))
            ax.set_title(f'{os.path.splitext(picked[c])[0]} ({int(rows.iloc[c])} px)', fontsize=8)
        axes[r, 0].text(-0.08, 0.5, f'{cls}\n{len(rows)} imgs', transform=axes[r, 0].transAxes, ha='right',
                        va='center', fontsize=9)
    fig.suptitle(f'rare classes in {split} (highlighted; largest first)', fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """Print the statistics tables and optionally save the figures; returns the exit code."""
    p = argparse.ArgumentParser(prog='python -m utils.core.stats', description=__doc__.splitlines()[0])
    p.add_argument('root', help='dataset folder in the course layout')
    p.add_argument('--split', default='train', help='split for the class weights (default train)')
    p.add_argument('--figures', default=None, help='folder to save the figures as PNG (default: not saved)')
    p.add_argument('--no-cache', action='store_true', help=f'neither read nor write {CACHE_NAME}')
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    a = p.parse_args(argv)
    try:
        shown: set[str] = set()

        def show(msg, *args, **kw) -> None:  # each warning once: the tables recount the cached masks
            if str(msg) not in shown:
                shown.add(str(msg))
                print(f'warning: {msg}', file=sys.stderr)

        with warnings.catch_warnings():
            warnings.simplefilter('always')
            warnings.showwarning = show
            _report(Path(a.root), a)
    except Exception as e:
        return cli_error(e, debug=a.debug)
    return 0


def _report(root: Path, a: argparse.Namespace) -> None:
    """The CLI's work: tables on stdout, figures into ``a.figures``."""
    import pandas as pd

    if not root.is_dir():
        raise DataError(f'{root} is not a folder; fetch the data first (python -m utils.data fetch).')
    kw = {'cache': not a.no_cache, 'progress': not a.quiet}
    splits = [s for s in ('train', 'val') if list_files(mask_dir(root, s), ('.png',))]
    if not splits:
        raise DataError(f'no masks in {mask_dir(root, "train")} or {mask_dir(root, "val")}; run '
                        f'`python -m utils.data check {root}`.')
    for s in splits:
        class_pixel_counts(root, s, **kw)  # fills the cache with a progress bar
    with pd.option_context('display.width', 120, 'display.max_columns', 20, 'display.precision', 4):
        freq = class_frequencies(root, splits, **kw)
        print('class frequency (share of pixels / share of images containing the class):')
        print(freq.to_string(float_format=lambda v: f'{v:.4f}'))
        print()
        print(f'class weights from {a.split}, each normalised to mean 1:')
        print(weight_table(root, a.split).to_string(float_format=lambda v: f'{v:.3f}'))
        print()
        rare = rare_class_images(root, RARE_CLASSES, splits)
        print(f'images with rare classes ({", ".join(RARE_CLASSES)}): ' + ', '.join(
            f'{c} {int((rare[c] > 0).sum())}' for c in RARE_CLASSES) + f' ({len(rare)} images in all)')
    if a.figures:
        import matplotlib

        matplotlib.use('Agg')
        out = Path(a.figures)
        out.mkdir(parents=True, exist_ok=True)
        figs = {'class_frequency': plot_class_frequencies(root, splits),
                'class_weights': plot_class_weights(root, a.split),
                'overlays': overlay_grid(root, splits[0]),
                'rare_classes': rare_class_grid(root, RARE_CLASSES, splits[0])}
        for name, fig in figs.items():
            fig.savefig(out / f'{name}.png', dpi=110)
        print(f'figures saved to {out}: ' + ', '.join(f'{n}.png' for n in figs))
    else:
        print('(add --figures DIR to save the charts and picture grids)')


if __name__ == '__main__':
    sys.exit(main())
