"""Measure training, inference and data-loading speed of a config on this machine (GPU or CPU).

    python -m utils.bench [--config NAME] [--size 512] [--batch-size 4] [--iters 3] [--warmup 1]
                          [--workers 0 2] [--amp | --no-amp] [--channels-last] [--cudnn-benchmark]
                          [--flops] [--out bench.json]

Everything runs on a small synthetic set written on the fly (``--n-images`` faces at ``--size`` px):
  * data loader: the config's real train pipeline through MMEngine's real DataLoader, images/s for
    each ``--workers`` count (and pinned memory when a GPU is present);
  * training: the real model of the config (random init, no download), the real data preprocessor,
    loss and optimizer step, seconds per iteration in FP32 and, on a GPU, with AMP; with
    ``--channels-last`` also in the channels-last memory format;
  * inference: images/s of :class:`utils.core.inference.Segmenter` without TTA and with flip TTA;
  * peak memory: ``torch.cuda.max_memory_allocated`` on a GPU, the process's peak RSS on a CPU;
  * ``--flops``: FLOPs of one training iteration (forward + backward), counted by PyTorch.
Results are printed as a table and saved as JSON (``--out``). Batches are fetched before the
training/inference timers start, so those two measure compute only; the loader is measured apart.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from utils.base.labels import REPO_ROOT
from utils.base.layout import image_dir, mask_dir
from utils.core.model import build_segmentor, init_registries
from utils.base.report import cli_error, nonnegative_int, positive_int
from utils.base.layout import KnownError

DEFAULT_CONFIG = 'deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512'
NO_GPU = 'n/a (no GPU)'


class BenchError(KnownError, RuntimeError):
    """The benchmark cannot run as asked; the message says why and what to do."""


# --------------------------------------------------------------------------- device facts
def device_name() -> str:
    """The GPU's name, or the CPU model (from /proc/cpuinfo) with the usable core count."""
    import torch

    if torch.cuda.is_available():
        return f'{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})'
    name = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                name = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return f'{name}, {cores} cores, torch threads {torch.get_num_threads()}'


def peak_memory_mb(device: str) -> float:
    """Peak GPU memory allocated by torch (MiB) on CUDA; otherwise this process's peak RSS (MiB)."""
    import torch

    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2 ** 20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / 2 ** 20 if sys.platform == 'darwin' else rss / 1024


def _sync(device: str) -> None:
    import torch

    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_calls(fn: Callable[[int], Any], iters: int, warmup: int, device: str) -> list[float]:
    """Seconds per call of ``fn(i)`` for ``iters`` timed calls after ``warmup`` untimed ones."""
    for i in range(warmup):
        fn(i)
    _sync(device)
    times = []
    for i in range(iters):
        t = time.perf_counter()
        fn(warmup + i)
        _sync(device)
        times.append(time.perf_counter() - t)
    return times


# --------------------------------------------------------------------------- setup
def bench_config(config: str, data_root: Path, size: int, batch_size: int):
    """The config as a bench run sees it: inputs scaled to ``size``, random init, data at ``data_root``."""
    from utils.core.config import load_config
    from utils.train import resolve_class_weights

    cfg = load_config(config, data_root=data_root, work_dir=data_root / 'work', smoke=dict(size=size, max_iters=10))
    cfg.train_dataloader['batch_size'] = batch_size
    resolve_class_weights(cfg, data_root)
    return cfg


def make_data(root: Path, n_images: int, size: int, progress: bool = True) -> Path:
    """A synthetic set with ``n_images`` train and val faces at ``size`` px (reused when present)."""
    from utils.core.synthetic import make_synthetic_dataset

    if not mask_dir(root, 'val').is_dir():
        make_synthetic_dataset(root, n_images, n_images, 0, size=size, progress=progress)
    return root


def build_loader(cfg, workers: int, pin_memory: bool, seed: int = 0):
    """MMEngine's DataLoader for the config's train set with ``workers`` processes."""
    import copy

    from mmengine.runner import Runner

    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=workers, persistent_workers=False, pin_memory=pin_memory)
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=True)
    return Runner.build_dataloader(loader_cfg, seed=seed)


def build_model_and_optim(cfg, device: str, amp: bool, channels_last: bool):
    """The config's segmentor (random init) and its optimizer wrapper (AMP on CUDA when ``amp``)."""
    import copy

    import torch
    from mmengine.optim import build_optim_wrapper

    model = build_segmentor(cfg, for_training=True).to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp:
        wrapper_cfg['type'] = 'AmpOptimWrapper'
        wrapper_cfg['loss_scale'] = 'dynamic'
    return model, build_optim_wrapper(model, wrapper_cfg)


def train_step(model, optim_wrapper, batch: dict, channels_last: bool) -> float:
    """One optimizer step as MMEngine's ``BaseModel.train_step`` does it, optionally channels-last."""
    import torch

    with optim_wrapper.optim_context(model):
        data = model.data_preprocessor(batch, True)
        if channels_last:
            data['inputs'] = data['inputs'].contiguous(memory_format=torch.channels_last)
        losses = model._run_forward(data, mode='loss')
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return float(loss.detach())


# --------------------------------------------------------------------------- measurements
def bench_loader(cfg, workers: int, pin_memory: bool, batches: int) -> dict:
    """Images/s of the real train DataLoader (first batch, which starts the workers, not timed)."""
    loader = build_loader(cfg, workers, pin_memory)
    it = iter(loader)
    t_first = time.perf_counter()
    next(it)
    first = time.perf_counter() - t_first
    n, t = 0, time.perf_counter()
    for _ in range(batches):
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            b = next(it)
        n += len(b['inputs'])
    dt = time.perf_counter() - t
    del it
    return dict(workers=workers, pin_memory=pin_memory, images=n, seconds=dt, images_per_s=n / dt,
                first_batch_s=first)


def fetch_batches(cfg, n: int) -> list[dict]:
    """``n`` training batches from the real pipeline, fetched up front (no workers)."""
    loader = build_loader(cfg, 0, False)
    out, it = [], iter(loader)
    while len(out) < n:
        try:
            out.append(next(it))
        except StopIteration:
            it = iter(loader)
    return out


def bench_train(cfg, batches: list[dict], device: str, amp: bool, channels_last: bool, iters: int,
                warmup: int) -> dict:
    """Seconds per training iteration (median of ``iters``) and the peak memory of that variant.

    Peak memory (``peak_mem_mb`` allocated, ``peak_reserved_mb`` reserved by the caching allocator) is measured over
    the timed iterations, after the warm-up; ``warmup_peak_mem_mb`` is the warm-up's. With cuDNN benchmark on, the
    first iteration of a new convolution shape tries every algorithm with a trial workspace taken from the allocator,
    as large as the free memory allows: up to 71 GB on an H200, which a steady-state run never needs.
    """
    import torch

    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model, wrapper = build_model_and_optim(cfg, device, amp, channels_last)
    losses: list[float] = []

    def step(i: int) -> None:
        losses.append(train_step(model, wrapper, batches[i % len(batches)], channels_last))

    for i in range(warmup):
        step(i)
    _sync(device)
    warmup_peak = peak_memory_mb(device)
    if cuda:  # the steady state only: cuDNN's benchmark search (its trial workspaces) happened in the warm-up
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    times = time_calls(lambda i: step(warmup + i), iters, 0, device)
    med = statistics.median(times)
    bs = len(batches[0]['inputs'])
    result = dict(s_per_iter=med, it_per_s=1 / med, images_per_s=bs / med, times=times,
                  peak_mem_mb=peak_memory_mb(device), warmup_peak_mem_mb=warmup_peak, last_loss=losses[-1])
    if cuda:
        result['peak_reserved_mb'] = torch.cuda.max_memory_reserved() / 2 ** 20
    model = wrapper = None  # free the memory before the next variant
    return result


def bench_infer(cfg, model, images: list, device: str, amp: bool, channels_last: bool, tta: str,
                batch_size: int, iters: int, warmup: int) -> dict:
    """Images/s of Segmenter.predict on ``batch_size`` images per call, with ``tta``."""
    import torch

    from utils.core.inference import Segmenter

    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    seg = Segmenter(model, cfg, device=device, amp=amp, channels_last=channels_last)
    batches = [images[i:i + batch_size] for i in range(0, len(images), batch_size)] or [images]
    times = time_calls(lambda i: seg.predict(batches[i % len(batches)], tta=tta), iters, warmup, device)
    med = statistics.median(times)
    return dict(tta=tta, s_per_batch=med, images_per_s=len(batches[0]) / med, times=times,
                peak_mem_mb=peak_memory_mb(device))


def count_train_flops(cfg, batch: dict) -> dict:
    """FLOPs (multiply and add counted apart) of one training iteration on ``batch``, counted on the CPU.

    The forward pass (train mode: decode + auxiliary head + losses) is counted exactly by PyTorch's
    FlopCounterMode; the iteration is taken as 3x the forward (backward ~ 2x forward, the usual rule).
    The counter's own backward figure is not used: it counts a depthwise (grouped) convolution's
    backward as if it were a dense one (about 250x too high for the ASPP head's depthwise convs).
    """
    from torch.utils.flop_counter import FlopCounterMode

    model = build_segmentor(cfg, for_training=True).train()
    data = model.data_preprocessor(batch, True)
    with FlopCounterMode(display=False) as counter:
        model._run_forward(data, mode='loss')
    forward = float(counter.get_total_flops())
    return dict(forward=forward, train_iter=3 * forward, per_image_forward=forward / len(data['inputs']))


# --------------------------------------------------------------------------- run + report
def _time_training(cfg, batches: list, device: str, on_gpu: bool, amp: bool, channels_last: bool, iters: int,
                   warmup: int, say: Callable[[str], None]) -> dict:
    """Step 3 of :func:`run`: s/iter and peak memory of each precision / memory-format variant."""
    variants = [('fp32', False, False)] + ([('fp32+channels_last', False, True)] if channels_last else [])
    if amp and on_gpu:
        variants += [('amp', True, False)] + ([('amp+channels_last', True, True)] if channels_last else [])
    out: dict[str, Any] = {}
    for name, use_amp, cl in variants:
        r = out[name] = bench_train(cfg, batches, device, use_amp, cl, iters, warmup)
        say(f'      {name}: {r["s_per_iter"]:.3f} s/iter ({r["images_per_s"]:.2f} img/s), '
            f'peak {r["peak_mem_mb"]:.0f} MiB')
    if amp and not on_gpu:
        out['amp'] = NO_GPU
    return out


def _time_inference(cfg, root: Path, device: str, on_gpu: bool, amp: bool, channels_last: bool, batch_size: int,
                    iters: int, warmup: int, say: Callable[[str], None]) -> dict:
    """Step 4 of :func:`run`: images/s of Segmenter.predict without and with flip TTA, per precision."""
    from utils.core.inference import read_image

    model = build_segmentor(cfg, for_training=True)
    images = [read_image(p) for p in sorted(image_dir(root, 'val').glob('*.jpg'))[:max(batch_size, 1) * 2]]
    out: dict[str, Any] = {}
    for prec, use_amp in [('fp32', False)] + ([('amp', True)] if amp and on_gpu else []):
        for tta in ('none', 'flip'):
            r = out[f'{prec}/{tta}'] = bench_infer(cfg, model, images, device, use_amp, channels_last, tta,
                                                   batch_size, iters, warmup)
            say(f'      {prec}, tta={tta}: {r["images_per_s"]:.2f} img/s')
    if amp and not on_gpu:
        out['amp'] = NO_GPU
    return out


def run(config: str = DEFAULT_CONFIG, size: int = 512, batch_size: int = 4, iters: int = 3, warmup: int = 1,
        workers: tuple[int, ...] = (0, 2), amp: bool = True, channels_last: bool = False,
        cudnn_benchmark: bool = False, flops: bool = False, n_images: int = 32, loader_batches: int = 4,
        data_root: str | os.PathLike | None = None, device: str | None = None, progress: bool = True) -> dict:
    """Run every measurement and return the results as a JSON-ready dict."""
    import torch

    if size % 8 or size < 32:
        raise BenchError(f'--size {size}: use a multiple of 8 of at least 32 (the model downsamples by 8).')
    if batch_size < 1 or iters < 1 or warmup < 0:
        raise BenchError('--batch-size and --iters must be >= 1 and --warmup >= 0.')
    init_registries()
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    on_gpu = device.startswith('cuda')
    if on_gpu:
        torch.backends.cudnn.benchmark = cudnn_benchmark

    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    tmp = None
    if data_root is None:
        tmp = tempfile.TemporaryDirectory(prefix='bench-')
        data_root = Path(tmp.name) / f'synthetic{size}'
    root = Path(data_root)
    try:
        say(f'[1/5] synthetic data: {n_images} train + {n_images} val faces at {size}px in {root}')
        make_data(root, n_images, size, progress)
        cfg = bench_config(config, root, size, batch_size)
        out: dict[str, Any] = dict(
            config=config, device=device_name(), on_gpu=on_gpu, size=size, batch_size=batch_size, iters=iters, warmup=warmup,
            torch=torch.__version__, python=platform.python_version(),
            load_avg_before=os.getloadavg() if hasattr(os, 'getloadavg') else None,
            cudnn_benchmark=cudnn_benchmark if on_gpu else NO_GPU, loader=[], train={}, infer={})

        say(f'[2/5] data loader: workers {list(workers)}, {loader_batches} batches of {batch_size} each')
        pins = (False, True) if on_gpu else (False,)
        for w in workers:
            for pin in pins:
                r = bench_loader(cfg, w, pin, loader_batches)
                out['loader'].append(r)
                say(f'      workers={w} pin_memory={pin}: {r["images_per_s"]:.1f} img/s')

        batches = fetch_batches(cfg, min(iters + warmup, 4))
        say(f'[3/5] training: {warmup} warm-up + {iters} timed iterations per variant')
        out['train'] = _time_training(cfg, batches, device, on_gpu, amp, channels_last, iters, warmup, say)

        say('[4/5] inference: Segmenter.predict, no TTA and flip TTA')
        out['infer'] = _time_inference(cfg, root, device, on_gpu, amp, channels_last, batch_size, iters, warmup, say)

        if flops:
            say('[5/5] FLOPs of one training iteration (forward + backward), counted on the CPU')
            out['flops'] = count_train_flops(cfg, batches[0])
            say(f'      {out["flops"]["train_iter"] / 1e12:.3f} TFLOP per iteration at batch {batch_size}, {size}px '
                f'(forward {out["flops"]["forward"] / 1e12:.3f} x 3)')
        else:
            say('[5/5] FLOPs: skipped (add --flops)')
        out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out['load_avg_after'] = os.getloadavg() if hasattr(os, 'getloadavg') else None
        return out
    finally:
        if tmp is not None:
            tmp.cleanup()


def table(result: dict) -> str:
    """The results as a markdown table (one row per measurement)."""
    rows = [('what', 'setting', 'speed', 'peak memory')]
    for r in result['loader']:
        rows.append(('data loader', f'workers={r["workers"]}, pin_memory={r["pin_memory"]}',
                     f'{r["images_per_s"]:.1f} img/s', '-'))
    for name, r in result['train'].items():
        if isinstance(r, str):
            rows.append(('training', name, r, '-'))
        else:
            rows.append(('training', name, f'{r["s_per_iter"]:.3f} s/iter = {r["it_per_s"]:.3f} it/s '
                         f'({r["images_per_s"]:.2f} img/s)', f'{r["peak_mem_mb"]:.0f} MiB'))
    for name, r in result['infer'].items():
        if isinstance(r, str):
            rows.append(('inference', name, r, '-'))
        else:
            rows.append(('inference', name.replace('/', ', tta='), f'{r["images_per_s"]:.2f} img/s',
                         f'{r["peak_mem_mb"]:.0f} MiB'))
    if 'flops' in result:
        f = result['flops']
        rows.append(('FLOPs', 'one training iteration (3 x forward)', f'{f["train_iter"] / 1e12:.3f} TFLOP', '-'))
        rows.append(('FLOPs', 'forward, per image', f'{f["per_image_forward"] / 1e9:.1f} GFLOP', '-'))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    fmt = lambda r: '| ' + ' | '.join(c.ljust(w) for c, w in zip(r, width)) + ' |'  # noqa: E731
    head = (f'{result["config"]} | {result["size"]}x{result["size"]}, batch {result["batch_size"]} | '
            f'{result["device"]} | torch {result["torch"]} | cudnn_benchmark {result["cudnn_benchmark"]}')
    mem_note = ('peak memory: torch.cuda.max_memory_allocated per measurement' if result.get('on_gpu') else
                'peak memory: the process\'s peak RSS so far (resource.getrusage; it only grows)')
    return '\n'.join([head, fmt(rows[0]), '|' + '|'.join('-' * (w + 2) for w in width) + '|',
                      *map(fmt, rows[1:]), mem_note])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.bench', description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=DEFAULT_CONFIG, help=f'config name or path (default {DEFAULT_CONFIG})')
    p.add_argument('--size', type=int, default=512, help='input size in px (512 = the real config; smaller on CPU)')
    p.add_argument('--batch-size', type=positive_int, default=4, help='images per training/inference batch (default 4)')
    p.add_argument('--iters', type=positive_int, default=3, help='timed iterations per measurement (default 3)')
    p.add_argument('--warmup', type=nonnegative_int, default=1, help='untimed iterations first (default 1)')
    p.add_argument('--workers', type=nonnegative_int, nargs='+', default=[0, 2], help='DataLoader worker counts to compare')
    p.add_argument('--loader-batches', type=positive_int, default=4, help='batches timed per loader setting (default 4)')
    p.add_argument('--n-images', type=positive_int, default=32, help='synthetic images per split (default 32)')
    p.add_argument('--amp', action=argparse.BooleanOptionalAction, default=True,
                   help='also measure mixed precision (CUDA only; default on)')
    p.add_argument('--channels-last', action='store_true', help='also measure the channels-last memory format')
    p.add_argument('--cudnn-benchmark', action='store_true', help='torch.backends.cudnn.benchmark = True (GPU)')
    p.add_argument('--flops', action='store_true', help='count the FLOPs of one training iteration')
    p.add_argument('--threads', type=positive_int, default=None, help='torch CPU threads (default: torch\'s choice)')
    p.add_argument('--data-root', default=None, help='keep the synthetic set here (default: a temporary folder)')
    p.add_argument('--out', default=None, help='save the results as JSON here')
    p.add_argument('--quiet', action='store_true', help='no progress lines')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        result = run(a.config, a.size, a.batch_size, a.iters, a.warmup, tuple(a.workers), a.amp, a.channels_last,
                     a.cudnn_benchmark, a.flops, a.n_images, a.loader_batches, a.data_root, progress=not a.quiet)
    except Exception as exc:  # one message naming the problem; the traceback only with --debug

        return cli_error(exc, debug=a.debug)
    print(table(result))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2, default=str))
        print(f'saved {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
