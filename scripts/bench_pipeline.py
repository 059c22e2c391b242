"""What each transform of a training pipeline costs, and how many images/s the DataLoader delivers per worker count.

    python scripts/bench_pipeline.py [--config NAME] [--images 64] [--repeat 3] [--workers 0 1 2] [--out bench.json]

On synthetic 512 px faces written as real JPG/PNG files (so decoding costs what it costs on the course data),
each transform of the config's train pipeline is timed in turn on the same samples (mean ms per image, since
the mean is what sets throughput: most steps act on only some images), then the real MMEngine DataLoader of
that config is timed with each worker count (images/s after the first batch). Both are done twice: with the
config's pipeline, and with MMSeg's own transforms in place of the ``Fast*`` drop-ins of ``utils.plugins.transforms``
(the "before"; same draws, same output).

The bar is 10 images/s, the rate issue 12 gives for a T4 with AMP. The T4 time projected from the H200
(docs/BENCHMARKS.md, section 3c: 0.74-0.79 s per batch of 4) needs only 5.1-5.4 images/s, so 10 leaves room.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT = 'deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512'
T4_NEEDS = 10.0  # images/s: issue 12's figure for a T4 with AMP (the H200-based projection needs 5.1-5.4)


def with_mmseg_transforms(cfg):
    """A copy of ``cfg`` whose train pipeline uses MMSeg's transforms where the config has a ``Fast*`` drop-in."""
    cfg = copy.deepcopy(cfg)
    pipeline = cfg.train_dataloader.dataset.pipeline
    for step in pipeline:
        if step['type'].startswith('Fast'):
            step['type'] = step['type'].removeprefix('Fast')
    return cfg


def time_transforms(cfgs: list, root: Path, images: int, repeat: int) -> list[list[tuple[str, float]]]:
    """``[(transform, mean ms per image)]`` for each config's train pipeline, applied in order.

    The pipelines take turns on each image, with the same seed, and which goes first alternates from image to
    image, so that neither gains from the other warming caches or the allocator.
    """
    import numpy as np
    from mmseg.registry import TRANSFORMS

    from utils.base.layout import image_dir, list_files, mask_dir

    pipelines = [[(t['type'], TRANSFORMS.build(copy.deepcopy(t))) for t in cfg.train_dataloader.dataset.pipeline]
                 for cfg in cfgs]
    names = list_files(image_dir(root, 'train'), ('.jpg',))[:images]
    times = [[[] for _ in steps] for steps in pipelines]
    rng = np.random.default_rng(0)
    turn = 0
    for _ in range(repeat):
        for name in names:
            seed = int(rng.integers(1 << 31))
            order = list(range(len(pipelines)))
            turn += 1
            for k in order[turn % len(order):] + order[:turn % len(order)]:
                np.random.seed(seed)
                results = dict(img_path=str(image_dir(root, 'train') / name),
                               seg_map_path=str(mask_dir(root, 'train') / name.replace('.jpg', '.png')),
                               reduce_zero_label=False, seg_fields=[])
                for i, (_, step) in enumerate(pipelines[k]):
                    t = time.perf_counter()
                    results = step(results)
                    times[k][i].append((time.perf_counter() - t) * 1000)
    return [[(steps[i][0], statistics.fmean(v)) for i, v in enumerate(per_step)]
            for steps, per_step in zip(pipelines, times)]


def run(config: str = DEFAULT, images: int = 64, repeat: int = 3, workers: tuple[int, ...] = (0, 1, 2),
        batches: int = 16) -> dict:
    import cv2

    from utils.bench import bench_config, bench_loader, device_name
    from utils.core.model import init_registries
    from utils.core.synthetic import make_synthetic_dataset

    init_registries()
    with tempfile.TemporaryDirectory(prefix='bench-pipe-') as tmp:
        root = make_synthetic_dataset(Path(tmp) / 'data', images, 4, 0, size=512, progress=False)
        cfg = bench_config(config, root, 512, 4)
        cv2.setNumThreads(0)  # as MMEngine sets it in each worker (env_cfg.mp_cfg.opencv_num_threads)
        before = with_mmseg_transforms(cfg)
        steps, steps_before = time_transforms([cfg, before], root, images, repeat)
        loader, loader_before = [], []
        for n, w in enumerate(workers):  # the two loaders alternate which runs first, as above
            pair = [(cfg, loader), (before, loader_before)]
            for c, out in (pair if n % 2 == 0 else pair[::-1]):
                out.append(bench_loader(c, w, False, batches))
    return dict(config=config, device=device_name(), images=images, repeat=repeat, transforms_ms=steps,
                total_ms=sum(ms for _, ms in steps), loader=loader, t4_needs_images_per_s=T4_NEEDS,
                mmseg_transforms_ms=steps_before, mmseg_total_ms=sum(ms for _, ms in steps_before),
                mmseg_loader=loader_before)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=DEFAULT, help=f'config name or path (default {DEFAULT})')
    p.add_argument('--images', type=int, default=64, help='synthetic 512 px train images (default 64)')
    p.add_argument('--repeat', type=int, default=3, help='passes over the images for the per-transform times')
    p.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2], help='DataLoader worker counts')
    p.add_argument('--batches', type=int, default=16, help='batches of 4 timed per worker count')
    p.add_argument('--out', help='save the result as JSON here')
    a = p.parse_args(argv)
    r = run(a.config, a.images, a.repeat, tuple(a.workers), a.batches)
    print(f"{r['config']} on {r['device']}: mean ms per 512 px image, transform by transform")
    print(f"  {'transform':<26} {'this config':>11} {'MMSeg own':>10}")
    for (name, ms), (_, ms_before) in zip(r['transforms_ms'], r['mmseg_transforms_ms']):
        print(f'  {name:<26} {ms:8.2f} ms {ms_before:7.2f} ms')
    print(f"  {'all (one core)':<26} {r['total_ms']:8.2f} ms {r['mmseg_total_ms']:7.2f} ms  "
          f"= {1000 / r['total_ms']:.1f} vs {1000 / r['mmseg_total_ms']:.1f} images/s, "
          f"{r['mmseg_total_ms'] / r['total_ms']:.2f}x cheaper")
    for x, y in zip(r['loader'], r['mmseg_loader']):
        print(f"  DataLoader, {x['workers']} workers: {x['images_per_s']:.1f} images/s "
              f"(MMSeg's transforms: {y['images_per_s']:.1f}; a T4 needs about {T4_NEEDS:.0f})")
    if a.out:
        Path(a.out).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
