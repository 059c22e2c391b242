"""Pictures of a submission: test images with their predicted masks, and the predicted class shares."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.core.inference import InferenceError, read_image
from utils.base.labels import CLASSES, NUM_CLASSES, PALETTE, colorize
from utils.core.viz import class_legend, pictures_bottom
from utils.submit.check import class_counts, open_masks, reference_counts
from utils.submit.common import CORE_CLASSES, SubmitError, list_images, mask_name


def _load_rgb(path: Path) -> np.ndarray | None:
    try:
        return read_image(path)
    except InferenceError:
        return None


def preview_grid(source: Any, images_dir: str | os.PathLike, n: int = 6, *, seed: int | None = 0,
                 alpha: float = 0.5, cols: int = 2, names: Sequence[str] | None = None):
    """Figure of ``n`` random test images: image | prediction overlay, with a palette legend."""
    from matplotlib.figure import Figure

    images = {mask_name(p): p for p in list_images(images_dir)}
    masks = open_masks(source)
    try:
        present = masks.mask_files()
        avail = [m for m in images if m in present]
        if not avail:
            raise SubmitError(f'{masks.path} holds no mask for any image in {images_dir}.')
        if names is not None:
            chosen = [mask_name(x) for x in names]
        else:
            rng = np.random.default_rng(seed)
            chosen = [avail[i] for i in sorted(rng.choice(len(avail), size=min(n, len(avail)), replace=False))]
        rows = -(-len(chosen) // cols)
        height = 3.4 * rows + 0.55  # 0.55 inch for the two-row legend below the pictures
        fig = Figure(figsize=(3.2 * 2 * cols, height))
        axes = fig.subplots(rows, 2 * cols, squeeze=False)
        seen: set[int] = set()
        fig.masks_shown = {}  # mask name -> the classes it holds, for the reading (utils.notebook.narrate.preview)
        for ax in axes.ravel():
            ax.axis('off')
        for k, name in enumerate(chosen):
            ax_img, ax_ov = axes[k // cols, 2 * (k % cols)], axes[k // cols, 2 * (k % cols) + 1]
            mask = masks.array(present[name])
            img = _load_rgb(images[name])
            fig.masks_shown[name] = [int(v) for v in np.unique(mask) if v < NUM_CLASSES]
            seen.update(fig.masks_shown[name])
            colour = colorize(mask).astype(np.float32)
            if img is None or img.shape[:2] != mask.shape:
                ax_img.set_title(f'{images[name].name}: unreadable or other size', fontsize=8)
                overlay = colour
            else:
                ax_img.imshow(img)
                ax_img.set_title(images[name].name, fontsize=9)
                overlay = (1 - alpha) * img.astype(np.float32) + alpha * colour
            ax_ov.imshow(overlay.clip(0, 255).astype(np.uint8))
            ax_ov.set_title(f'{name} ({len(np.unique(mask))} classes)', fontsize=9)
        fig.tight_layout(rect=(0, 0.55 / height, 1, 1), h_pad=1.6)  # titles clear of the pictures above them
        # the legend hangs right below the lowest picture (its own padding apart); the notebook crops the figure's
        # empty bottom away
        class_legend(fig, sorted(seen) or range(NUM_CLASSES), top=pictures_bottom(fig))
        return fig
    finally:
        masks.close()


def class_histogram(source: Any, reference: Any = None, *, log: bool = True, ax=None):
    """Bar chart of the predicted pixel share per class, next to ``reference`` (e.g. the val masks)."""
    from matplotlib.figure import Figure

    pred = class_counts(source).astype(np.float64)
    ref = reference_counts(reference)
    fig = ax.figure if ax is not None else Figure(figsize=(11, 4))
    ax = ax or fig.add_subplot(1, 1, 1)
    x = np.arange(NUM_CLASSES)
    width = 0.4 if ref is not None else 0.8
    share = 100 * pred / max(pred.sum(), 1)
    ax.bar(x - (width / 2 if ref is not None else 0), share, width,
           color=[np.asarray(c) / 255 for c in PALETTE], edgecolor='0.2', label='predictions')
    if ref is not None:
        ax.bar(x + width / 2, 100 * ref / max(ref.sum(), 1), width, color='0.75', edgecolor='0.2',
               label='reference (ground truth)')
    never = [c for c in range(NUM_CLASSES) if pred[c] == 0]
    core = [CLASSES[c] for c in never if c in CORE_CLASSES]  # what the submission check warns about
    rare = [CLASSES[c] for c in never if c not in CORE_CLASSES]  # may simply be absent from these images
    missing = ([f'{", ".join(core)} (every face has them: see the check)'] if core else []) + \
        ([f'rarer classes {", ".join(rare)}'] if rare else [])
    ax.set_xticks(x, CLASSES, rotation=45, ha='right')
    ax.set_ylabel('% of pixels' + (' (log)' if log else ''))
    if log:
        ax.set_yscale('log')
    ax.set_title('Predicted classes' + (f' - never predicted: {", ".join(missing)}' if missing else ''), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


