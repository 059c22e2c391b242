"""CPU evidence for the left/right-swapping flip: the same short run with and without the label swap.

    python scripts/swapflip_evidence.py [--size 96] [--iters 160] [--n-train 100] [--n-val 24] [--seed 0]
                                        [--class-weight inv_sqrt] [--lr 0.02]
                                        [--write-docs docs/BENCHMARKS.md] [--json OUT]

On synthetic faces (utils.core.synthetic) the left and right eyes, brows and ears look identical and differ
only by their side of the face, as on real faces. Both runs train the improved family's rung 1
(``deeplabv3plus_r50-d8_flipswap_1xb4-20k_celebamask-512x512``: swap flip, poly LR; here with the
recipe's ``inv_sqrt`` class weights so that the small parts are learnt in a short run) in smoke mode
(random init, ``--size`` px, ``--iters`` iterations, same seed); the control run sets
``swap_seg_labels=None`` on the very same RandomFlip, i.e. MMSeg's plain flip. Per-class IoU on the
synthetic val split is printed as markdown (and written between the ``swapflip`` markers of
``--write-docs``).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from utils.bench import device_name  # noqa: E402
from utils.base.labels import CLASSES, FLIP_PAIRS, NUM_CLASSES  # noqa: E402

CONFIG = 'deeplabv3plus_r50-d8_flipswap_1xb4-20k_celebamask-512x512'
LR_CLASSES = [c for pair in FLIP_PAIRS for c in pair]  # 4, 5, 6, 7, 8, 9
MARK_BEGIN, MARK_END = '<!-- swapflip:begin -->', '<!-- swapflip:end -->'


def confusion(pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``num_classes`` x ``num_classes`` confusion matrix (rows: ground truth) of one label map; 255 ignored."""
    valid = gt < num_classes
    idx = gt[valid].astype(np.int64) * num_classes + pred[valid].astype(np.int64)
    return np.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU in % (NaN for a class absent from both prediction and ground truth)."""
    inter = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, 100.0 * inter / union, np.nan)


def _set_flip_swap(cfg, swap: bool) -> None:
    flips = [t for t in cfg.train_dataloader.dataset.pipeline if t.get('type') == 'RandomFlip']
    if len(flips) != 1:
        raise RuntimeError(f'{CONFIG} should have exactly one RandomFlip in its train pipeline, found {len(flips)}.')
    if swap and not flips[0].get('swap_seg_labels'):
        raise RuntimeError(f'{CONFIG} lost its swap_seg_labels: check configs/_base_/datasets/celebamask_flipswap.py')
    if not swap:
        flips[0]['swap_seg_labels'] = None


def train_one(data_root: Path, work_dir: Path, swap: bool, size: int, iters: int, seed: int,
              class_weight: str | None = 'inv_sqrt', lr: float = 0.02):
    """Train ``CONFIG`` in smoke mode with or without the label swap; returns the trained model and config."""
    from mmengine.hooks import Hook

    from utils.train import build_runner, load_config, resolve_class_weights

    cfg = load_config(CONFIG, data_root=data_root, work_dir=work_dir, smoke=dict(size=size, max_iters=iters))
    _set_flip_swap(cfg, swap)
    warmup = max(1, iters // 10)  # apply_smoke keeps the 1k-iteration warm-up; shorten it for a short run
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup),
        dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False, begin=0, end=iters),
    ]
    if class_weight:  # the small l/r parts need weight to be learnt at all in a short run
        for head in (cfg.model.decode_head, cfg.model.auxiliary_head):
            head.loss_decode['class_weight'] = class_weight
    cfg.optim_wrapper.optimizer['lr'] = lr
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.train_cfg.val_interval = iters + 1  # evaluated below, per class; no val loop, no checkpoints
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger['interval'] = max(1, iters // 8)
    cfg.log_level = 'WARNING'
    resolve_class_weights(cfg, data_root)
    runner = build_runner(cfg)

    class Progress(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            i = runner.iter + 1
            if i % max(1, iters // 8) == 0 or i == iters:
                loss = float(outputs['loss']) if outputs and 'loss' in outputs else float('nan')
                print(f'  [{"swap" if swap else "plain"}] iter {i}/{iters}  loss {loss:.3f}', flush=True)

    runner.register_hook(Progress(), priority='LOWEST')
    runner.train()
    return runner.model, cfg


def evaluate(model, cfg, data_root: Path, tta: str) -> np.ndarray:
    """Per-class IoU (%) of ``model`` on the val split, with ``tta`` ('none' or 'flip', L/R-swapping)."""
    from PIL import Image

    from utils.core.inference import Segmenter, read_image

    seg = Segmenter(model, cfg, device='cpu')
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    img_dir, mask_dir = data_root / 'val' / 'val_image', data_root / 'val' / 'val_mask'
    for img_path in sorted(img_dir.glob('*.jpg')):
        gt = np.asarray(Image.open(mask_dir / f'{img_path.stem}.png'))
        pred = seg.predict([read_image(img_path)], tta=tta)[0]
        cm += confusion(pred, gt)
    return iou_from_confusion(cm)


def markdown(results: dict, meta: dict) -> str:
    """The evidence as markdown: per-class IoU of the six left/right classes and mIoU, both runs."""
    lines = [f'Synthetic faces, {meta["size"]}x{meta["size"]} px, {meta["n_train"]} train / {meta["n_val"]} val, '
             f'{meta["iters"]} iterations at batch 4 from random init (peak LR {meta["lr"]}, class weights '
             f'{meta["class_weight"]}), seed {meta["seed"]}, config `{CONFIG}` (rung 1: swap flip, no other '
             f'augmentation) in smoke mode; measured on {meta["device"]} '
             f'({meta["minutes"]:.1f} min for both runs). IoU in %, val split, no TTA unless stated.', '',
             '| class | plain RandomFlip (no swap) | RandomFlip + swap_seg_labels | difference |',
             '|---|---:|---:|---:|']
    plain, swap = results['plain']['none'], results['swap']['none']
    for c in LR_CLASSES:
        lines.append(f'| {c} {CLASSES[c]} | {plain[c]:.2f} | {swap[c]:.2f} | {swap[c] - plain[c]:+.2f} |')
    lr_p, lr_s = np.nanmean(plain[LR_CLASSES]), np.nanmean(swap[LR_CLASSES])
    lines.append(f'| **mean of the 6 l/r classes** | **{lr_p:.2f}** | **{lr_s:.2f}** | **{lr_s - lr_p:+.2f}** |')
    mp, ms = np.nanmean(plain), np.nanmean(swap)
    lines.append(f'| **mIoU (19 classes)** | **{mp:.2f}** | **{ms:.2f}** | **{ms - mp:+.2f}** |')
    fp, fs = np.nanmean(results['plain']['flip']), np.nanmean(results['swap']['flip'])
    lines.append(f'| mIoU with flip TTA (L/R-swapping) | {fp:.2f} | {fs:.2f} | {fs - fp:+.2f} |')
    return '\n'.join(lines)


def write_docs(path: Path, table: str) -> None:
    """Replace the text between the swapflip markers of ``path`` with ``table`` (markers appended if absent)."""
    text = path.read_text() if path.is_file() else ''
    block = f'{MARK_BEGIN}\n{table}\n{MARK_END}'
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip() + '\n\n' + block + '\n'
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', type=int, default=96, help='image size of the synthetic set and the smoke run')
    p.add_argument('--iters', type=int, default=160, help='training iterations per run (batch 4)')
    p.add_argument('--n-train', type=int, default=100, help='synthetic train images')
    p.add_argument('--n-val', type=int, default=24, help='synthetic val images')
    p.add_argument('--seed', type=int, default=0, help='seed of the data and of both runs')
    p.add_argument('--class-weight', default='inv_sqrt', choices=['inv_sqrt', 'median_freq', 'none'],
                   help='data-derived class weights for both runs (default inv_sqrt, as the recommended recipe)')
    p.add_argument('--lr', type=float, default=0.02, help='peak learning rate of both runs (default 0.02)')
    p.add_argument('--data-root', default=None, help='synthetic set folder (default: a temporary one)')
    p.add_argument('--work-dir', default=None, help='work dirs of the two runs (default: temporary)')
    p.add_argument('--write-docs', default=None, metavar='MD', help='write the table into this markdown file')
    p.add_argument('--json', default=None, help='also save the per-class IoUs as JSON here')
    a = p.parse_args(argv)
    if a.iters < 2:
        p.error('--iters must be at least 2')

    import torch

    from utils.core.synthetic import make_synthetic_dataset

    torch.manual_seed(a.seed)
    with tempfile.TemporaryDirectory(prefix='swapflip-') as tmp:
        data_root = Path(a.data_root or Path(tmp) / 'data')
        work = Path(a.work_dir or Path(tmp) / 'work')
        if not (data_root / 'val' / 'val_mask').is_dir():
            print(f'writing {a.n_train}+{a.n_val} synthetic {a.size}px faces to {data_root}', flush=True)
            make_synthetic_dataset(data_root, a.n_train, a.n_val, 0, size=a.size, seed=a.seed, progress=True)
        results: dict[str, dict[str, np.ndarray]] = {}
        t0 = time.perf_counter()
        for name, swap in (('plain', False), ('swap', True)):
            print(f'training {name} flip: {a.iters} iterations at {a.size}px', flush=True)
            t = time.perf_counter()
            model, cfg = train_one(data_root, work / name, swap, a.size, a.iters, a.seed,
                                   None if a.class_weight == 'none' else a.class_weight, a.lr)
            results[name] = {tta: evaluate(model, cfg, data_root, tta) for tta in ('none', 'flip')}
            print(f'  {name}: mIoU {np.nanmean(results[name]["none"]):.2f} '
                  f'({time.perf_counter() - t:.0f} s)', flush=True)
        meta = dict(size=a.size, iters=a.iters, class_weight=a.class_weight, lr=a.lr, n_train=a.n_train,
                    n_val=a.n_val, seed=a.seed, device=device_name(),
                    minutes=(time.perf_counter() - t0) / 60, torch=torch.__version__)
    table = markdown(results, meta)
    print(table)
    if a.write_docs:
        write_docs(Path(a.write_docs), table)
        print(f'table written to {a.write_docs}')
    if a.json:
        out = {k: {t: [None if np.isnan(v) else round(float(v), 3) for v in arr] for t, arr in r.items()}
               for k, r in results.items()}
        Path(a.json).write_text(json.dumps(dict(meta=meta, classes=list(CLASSES), iou=out), indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
