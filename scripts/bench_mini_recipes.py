"""The 2025-26 recipes' table for the README: parameters, share of the cap, GMACs at 512x512, CPU s/iter.

    OMP_NUM_THREADS=1 python -m scripts.bench_mini_recipes [--iters 3] [--threads 1] [--out FILE.json]

Parameters: ``sum(p.numel() for p in model.parameters())`` on the whole model (auxiliary heads included, the
course's formula). GMACs: one 512x512 inference forward (no auxiliary heads), counted by MMEngine's counter
(utils.evaluate.count_flops, 1 multiply-add = 1 FLOP). CPU s/iter: training iterations at 512x512 and the recipe's
own batch (8), synthetic faces, random init, FP32, the median of ``--iters`` after one warm-up, on ``--threads``
threads (utils.bench.train_step: the step the GPU check times), as wall time and as the process's CPU time (on a
machine shared with other jobs the wall time grows, the CPU time of one thread much less).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def measure(recipe: str, root: Path, iters: int) -> dict:
    """One recipe's row of the table."""
    import torch

    from utils import bench
    from utils.core.config import RECIPES, load_config
    from utils.base.edition import PARAM_CAP
    from utils.evaluate import count_flops
    from utils.core.model import build_segmentor

    config = RECIPES[recipe][0]
    cfg = load_config(config, work_dir='/tmp/unused')
    model = build_segmentor(cfg)
    params = sum(p.numel() for p in model.parameters())
    macs, note = count_flops(model, (512, 512))
    batch = int(cfg.train_dataloader.batch_size)
    bcfg = bench.bench_config(config, root, 512, batch)
    batches = bench.fetch_batches(bcfg, iters + 1)
    net, wrapper = bench.build_model_and_optim(bcfg, 'cpu', False, False)
    bench.train_step(net, wrapper, batches[0], False)  # warm-up
    wall, cpu = [], []
    for batch_data in batches[1:]:
        t0, c0 = time.perf_counter(), time.process_time()
        bench.train_step(net, wrapper, batch_data, False)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return dict(recipe=recipe, config=config, parameters=params, share_of_cap=params / PARAM_CAP,
                gmacs_512=None if macs is None else macs / 1e9, flops_note=note, iterations=int(cfg.train_cfg.max_iters),
                batch_size=batch, cpu_s_per_iter=statistics.median(wall), cpu_time_s_per_iter=statistics.median(cpu),
                cpu_threads=torch.get_num_threads())


def main(argv: list[str] | None = None) -> int:
    import torch

    from utils.base.edition import RULES
    from utils.core.model import init_registries
    from utils.core.synthetic import make_synthetic_dataset

    p = argparse.ArgumentParser(prog='python -m scripts.bench_mini_recipes', description=__doc__.splitlines()[0])
    p.add_argument('--iters', type=int, default=3, help='timed training iterations per recipe (after 1 warm-up)')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads (default 1)')
    p.add_argument('--recipes', nargs='+', default=list(RULES['2025'].recipes))
    p.add_argument('--out', help='also write the rows as JSON here')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    init_registries()
    rows = []
    with tempfile.TemporaryDirectory(prefix='bench-mini-') as tmp:
        root = make_synthetic_dataset(Path(tmp) / 'data', 16, 2, 0, size=512, progress=False)
        for recipe in a.recipes:
            rows.append(measure(recipe, root, a.iters))
            r = rows[-1]
            print(f"| {recipe} | {r['parameters']:,} | {r['share_of_cap']:.1%} | {r['gmacs_512']:.2f} | "
                  f"{r['iterations']:,} (batch {r['batch_size']}) | {r['cpu_s_per_iter']:.2f} wall, "
                  f"{r['cpu_time_s_per_iter']:.2f} CPU |", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
