"""Per-class decoding biases tuned on the holdout for the 2025-26 leaderboard's per-image F.

    python -m utils.core.bias CHECKPOINT --data-root DIR --split-file WORK_DIR/split.json [--tta flip] [--stride 2]

The per-image F averages over the classes present in each image, so a rare class that is present but never
predicted costs a whole class term, while a false positive of an absent class costs only some precision of the
true class. Plain argmax under-predicts rare classes; a bias vector ``b`` (one number per class) moves the
decision to ``argmax_c(log(p_c + 1e-12) + b_c)``, with ``p`` the softmax averaged over the TTA views. ``b`` is
found by coordinate ascent over a small grid per class on the holdout's cached probabilities and kept in the
checkpoint (``meta['class_bias']``) and beside it (``class_bias.json``); :class:`utils.core.inference.Segmenter`
applies it on every prediction path. All zeros is plain argmax. The holdout F with biases is measured on the same
images they were tuned on, so it is optimistic; the F without them is the honest holdout number.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from utils.core.class_bias import BIAS_FILE, LOG_EPS, BiasError
from utils.base.labels import NUM_CLASSES
from utils.base.layout import write_json_atomic
from utils.core.metrics import image_fscores

GRID = tuple(np.round(np.arange(-2.0, 2.01, 0.25), 2))  # candidate biases per class, in log-probability units


def mean_image_f(labels: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES,
                 ignore_index: int = 255) -> tuple[float, np.ndarray]:
    """Mean per-image F of N label maps against N ground truths (N x H x W), and the N x C per-class F matrix."""
    from utils.core.metrics import fscore_from_areas

    n, c = labels.shape[0], num_classes
    keep = gt != ignore_index
    image = np.broadcast_to(np.arange(n).reshape(n, 1, 1), gt.shape)[keep].astype(np.int64)
    idx = (image * c + gt[keep].astype(np.int64)) * c + labels[keep].astype(np.int64)
    conf = np.bincount(idx, minlength=n * c * c).reshape(n, c, c)
    intersect, gt_area, pred_area = np.diagonal(conf, axis1=1, axis2=2), conf.sum(2), conf.sum(1)
    return float(np.nanmean(image_fscores(intersect, pred_area, gt_area))), \
        fscore_from_areas(intersect, pred_area, gt_area)


def tune_class_bias(logp: np.ndarray, gt: np.ndarray, grid: Sequence[float] = GRID, rounds: int = 2,
                    ignore_index: int = 255) -> tuple[np.ndarray, float, float]:
    """Coordinate ascent on the mean per-image F: ``logp`` N x C x H x W (log-probabilities), ``gt`` N x H x W.

    For one class at a time every grid value is tried with the others fixed (the decision for class ``c`` needs
    only ``logp_c + b_c`` against the best other class, computed once per class); a change is kept only when it
    raises the F. Returns ``(bias, F without, F with)``.
    """
    n, c = logp.shape[:2]
    bias = np.zeros(c, dtype=np.float32)
    base, _ = mean_image_f(logp.argmax(1), gt, c, ignore_index)
    best = base
    for _ in range(rounds):
        changed = False
        for k in range(c):
            others = logp + bias.reshape(1, c, 1, 1)
            others[:, k] = -np.inf
            other_arg, other_max = others.argmax(1), others.max(1)
            for value in grid:
                labels = np.where(logp[:, k] + value > other_max, k, other_arg)
                score, _ = mean_image_f(labels, gt, c, ignore_index)
                if score > best + 1e-9:
                    best, bias[k], changed = score, value, True
        if not changed:
            break
    return bias, base, best


def holdout_logp(segmenter, pairs: Sequence[tuple[Path, Path]], tta: str, stride: int = 2):
    """Log-probabilities (N x C x h x w float32) and ground truths (N x h x w) of ``(image, mask)`` pairs, every
    ``stride``-th pixel in each direction (the F of a quarter of the pixels, enough to rank biases)."""
    from utils.base.imageio import read_image, read_label_mask

    logps, gts = [], []
    for image, mask in pairs:
        prob = segmenter.predict_proba([read_image(image)], tta)[0, :, ::stride, ::stride]
        logps.append(np.log(prob.float().cpu().numpy() + LOG_EPS).astype(np.float32))
        gts.append(read_label_mask(mask)[::stride, ::stride])
    return np.stack(logps), np.stack(gts)


def save_class_bias(checkpoint: str | os.PathLike, bias: Sequence[float], facts: dict) -> Path:
    """Write ``bias`` into ``class_bias.json`` beside the checkpoint, with ``facts`` (the F with and without, the
    holdout size, the grid), and into the checkpoint's ``meta['class_bias']`` (the file replaced whole) when it lies
    in this run's own work_dir: only such a file may be unpickled in full and written back unchanged otherwise."""
    import io

    import torch

    from utils.core.checkpoints import UntrustedCheckpointError, load_recorded
    from utils.base.layout import write_atomic
    from utils.base.trust import record_file, sha256_bytes

    ck = Path(checkpoint)
    try:
        state = load_recorded(ck)  # read once: unpickled in full only when these are the bytes training recorded
    except UntrustedCheckpointError:
        state = None  # another's file: the biases go beside it only
    if state is not None:
        state.setdefault('meta', {})['class_bias'] = [float(b) for b in bias]
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        write_atomic(ck, lambda tmp: Path(tmp).write_bytes(data))
        record_file(ck, sha256_bytes(data))  # these new bytes are this run's own too: resume and evaluation trust them
    out = ck.parent / BIAS_FILE
    write_json_atomic(out, {'checkpoint': ck.name, 'class_bias': [float(b) for b in bias], **facts})
    return out


def tune(checkpoint: str | os.PathLike, data_root: str | os.PathLike, holdout: Sequence[str],
         tta: str | None = None, stride: int = 2, device: str | None = None, save: bool = True) -> dict:
    """Tune the biases of ``checkpoint`` on the ``holdout`` stems of ``train/`` and (``save``) keep them."""
    from utils.core.config import resolve_tta
    from utils.core.inference import Segmenter
    from utils.base.layout import image_dir, mask_dir

    root = Path(data_root)
    pairs = [(image_dir(root, 'train') / f'{s}.jpg', mask_dir(root, 'train') / f'{s}.png') for s in holdout]
    missing = [str(p) for pair in pairs for p in pair if not p.is_file()]
    if not pairs or missing:
        raise BiasError(f'The holdout needs its images and masks under {root}/train: {len(missing)} missing '
                        f'(e.g. {missing[:2]}), {len(pairs)} stems. Pass the split.json of this run.')
    seg = Segmenter.from_checkpoint(checkpoint, device=device)
    seg.class_bias = None  # tune from plain argmax, whatever the checkpoint holds
    tta = resolve_tta(tta, seg.cfg)
    logp, gt = holdout_logp(seg, pairs, tta, stride)
    bias, before, after = tune_class_bias(logp, gt)
    facts = {'holdout_images': len(pairs), 'tta': tta, 'stride': stride, 'grid': list(map(float, GRID)),
             'imgF_without': round(before, 4), 'imgF_with': round(after, 4),
             'note': 'measured on the images the biases were tuned on (optimistic)'}
    if save:
        facts['file'] = str(save_class_bias(checkpoint, bias, facts))
    return {'class_bias': [float(b) for b in bias], **facts}


def main(argv: list[str] | None = None) -> int:
    from utils.base.report import cli_error

    p = argparse.ArgumentParser(prog='python -m utils.core.bias', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('checkpoint', help='the trained checkpoint (e.g. WORK_DIR/best_imgF_iter_N.pth)')
    p.add_argument('--data-root', required=True, help='dataset root (the canonical layout, train/ holds the holdout)')
    p.add_argument('--split-file', required=True, help="the run's split.json (its 'holdout' stems)")
    p.add_argument('--tta', default=None, help="TTA of the cached probabilities (default: the config's, 'flip')")
    p.add_argument('--stride', type=int, default=2, help='score every N-th pixel per direction (default 2)')
    p.add_argument('--device', help="'cuda' or 'cpu' (default: cuda when available)")
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        try:
            holdout = json.loads(Path(a.split_file).read_text())['holdout']
        except (OSError, ValueError, KeyError) as exc:
            raise BiasError(f'{a.split_file}: not a split.json with a holdout list ({exc}).') from None
        out = tune(a.checkpoint, a.data_root, holdout, a.tta, a.stride, a.device)
    except Exception as exc:  # noqa: BLE001 - one message naming the file and the fix
        return cli_error(exc, debug=a.debug)
    print(f"holdout imgF {out['imgF_without']:.4f} without biases, {out['imgF_with']:.4f} with them "
          f"({out['holdout_images']} images, TTA {out['tta']}; tuned on the same images)\n"
          f"class_bias = {[round(b, 2) for b in out['class_bias']]}\nkept in {a.checkpoint} (meta) and {out['file']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
