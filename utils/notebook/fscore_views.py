"""04's views of the 2025-26 leaderboard's metric: the mean per-image F per class with and without TTA and the
per-class biases, the spread of the score over the images, and the worst images with their masks."""
from __future__ import annotations

from typing import Any

import numpy as np

from utils.base.labels import colorize


def image_f_table(plain: Any, with_tta: Any = None, with_bias: Any = None):
    """A styled table: the mean per-image F (first row), then each class's mean F over the images where it is
    present, for each evaluation given (plain, TTA, TTA + biases), with the gains of TTA and of the biases."""
    import pandas as pd

    columns = {}
    for label, result in (('plain', plain), (f'TTA {getattr(with_tta, "summary", {}).get("tta")}', with_tta),
                          ('TTA + biases', with_bias)):
        if result is not None:
            columns[label] = pd.concat([pd.Series({'mean per-image F': result.summary['imgF']}),
                                        result.per_class['imgF']])
    table = pd.DataFrame(columns)
    names = list(columns)
    if with_tta is not None:
        table['TTA gain'] = table[names[1]] - table['plain']
    if with_bias is not None:
        table['bias gain'] = table['TTA + biases'] - table[names[-2]]
    gains = [c for c in table.columns if c.endswith('gain')]
    split = plain.summary.get('split')
    return (table.style.format('{:.4f}', na_rep='n/a').format('{:+.4f}', subset=gains, na_rep='n/a')
            .background_gradient(cmap='RdYlGn', subset=names, vmin=0, vmax=1)
            .set_caption(f'The leaderboard\'s metric on the {len(plain.names)} {"holdout" if split == "train" else split}'
                         ' images: mean per-image F, then per class over the images where it is present (0-1)'))


def plot_image_f(result: Any, worst: int = 4, data_root: Any = None):
    """The per-image F over the images (a histogram, the mean marked) and the ``worst`` images: photo, ground truth,
    prediction (the masks in the course palette, each titled with its F)."""
    from matplotlib.figure import Figure
    from PIL import Image

    from utils.evaluate import read_mask
    from utils.core.inference import read_image
    from utils.core.viz import class_legend

    scores = result.image_f()
    names = list(scores.dropna().sort_values().index[:worst])
    fig = Figure(figsize=(10, 3.2 + 2.4 * len(names)))
    grid = fig.add_gridspec(1 + len(names), 3, height_ratios=[1.3] + [1] * len(names))
    ax = fig.add_subplot(grid[0, :])
    ax.hist(scores.dropna(), bins=min(30, max(5, len(scores) // 3)), color='tab:blue')
    ax.axvline(scores.mean(), color='k', linestyle='--')
    ax.set_title(f'Per-image F over {len(scores)} images (mean {scores.mean():.4f}, dashed)')
    ax.set_xlabel('per-image F')
    for row, name in enumerate(names, start=1):
        image, gt_path = result.data_paths(name, data_root)
        pred = result.pred_path(name)
        panels = [read_image(image), colorize(read_mask(gt_path)),
                  colorize(np.array(Image.open(pred))) if pred is not None else None]
        for col, (panel, title) in enumerate(zip(panels, (f'{name[:12]}: F {scores[name]:.3f}', 'ground truth',
                                                          'prediction'))):
            sub = fig.add_subplot(grid[row, col])
            sub.axis('off')
            sub.set_title(title, fontsize=9)
            if panel is not None:
                sub.imshow(panel)
    fig.tight_layout(rect=(0, 0.06 if names else 0, 1, 1))
    if names:
        class_legend(fig, ncol=10)
    return fig


