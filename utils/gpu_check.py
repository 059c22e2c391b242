"""Prove the GPU path in one command: speed and memory per recipe, a T4-sized fit, AMP with a resume, evaluation pace.

    python -m utils.gpu_check [--out outputs/gpu_check] [--t4-gb 15] [--resume-iters 300]
    python -m utils.gpu_check --dry-run          # the same code on the CPU at toy size (CI runs this)

On any CUDA machine, in a few minutes (about 3 on an H200; budget 8 on a T4):

1. **device**: GPU, driver, CUDA, cuDNN, torch and the OpenMMLab versions;
2. **speed**: every recipe (2022: seed R50, improved R50 and R101, UperNet + Swin-B, SegFormer MiT-B3, at batch
   4; 2025-26: BiSeNetV2 slim, Fast-SCNN, LR-ASPP MobileNetV3-small, at their batch 8) at 512x512, random init,
   synthetic faces: iterations/s in FP32, AMP, and AMP + channels_last (cuDNN benchmark
   on), and peak memory allocated and reserved over the timed iterations, after the warm-up (the warm-up's peak
   apart: cuDNN's algorithm search takes trial workspaces as large as the free memory);
3. **T4 fit**: with ``torch.cuda.set_per_process_memory_fraction`` capping this process at ``--t4-gb``
   (a T4 has 15 GB), which recipes train with AMP at batch 4 (all but the R101 option must);
4. **AMP + resume**: ``utils.train`` runs ``--resume-iters`` AMP iterations of the seed recipe (checkpoint in
   the middle), then a second run resumes from that middle checkpoint. Checked: the loss stays finite,
   the GradScaler's scale never collapses, and the resumed LR and momentum equal the uninterrupted
   run's at every iteration (and mmcv's cyclic formula);
5. **evaluation pace**: ``utils.evaluate`` and ``utils.submit`` with flip TTA on the trained checkpoint, as a
   ratio to the bare model forward (1.0 = the GPU never waits for the per-image work);
6. a **projected T4 time** for 20k iterations and for each recipe's own schedule: the measured AMP time times
   this card's advantage over a T4 in FP16 Tensor-Core TFLOP/s and in memory bandwidth (both ratios are printed).

Writes ``gpu_check.json`` and ``gpu_check.md`` into ``--out``. Exit code 0 when every check passed,
1 when one failed, 2 when it could not run (e.g. no GPU without ``--dry-run``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from utils.base.labels import REPO_ROOT
from utils.base.layout import SMOKE_SIZE
from utils.base.report import cli_error
from utils.base.layout import KnownError

#: recipes timed (utils.core.config.RECIPES: the stage-1 configs the notebooks train, both editions)
CHECK_RECIPES = ('seed', 'improved', 'improved-r101', 'swin-b', 'segformer-b3',
                 'bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s')
#: recipes that must train on a T4 (15 GB) with AMP at their batch (ResNet-101 is an option that may not)
T4_MUST_FIT = ('seed', 'improved', 'swin-b', 'segformer-b3', 'bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s')
#: recipes timed at their own batch size (the 2025-26 ones train at 8), not the 2022 recipes' batch 4
OWN_BATCH = ('bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s')
#: (name, AMP, channels_last)
GPU_VARIANTS = (('fp32', False, False), ('amp', True, False), ('amp+channels_last', True, True))
CPU_VARIANTS = (('fp32', False, False), ('fp32+channels_last', False, True))
#: dense FP16 Tensor-Core TFLOP/s and memory bandwidth in GB/s, from NVIDIA's datasheets (first match wins)
CARD_SPECS: tuple[tuple[str, float, float], ...] = (
    ('H200', 989.0, 4800.0), ('H100 PCIe', 756.0, 2000.0), ('H100', 989.0, 3350.0),
    ('A100-SXM4-80GB', 312.0, 2039.0), ('A100', 312.0, 1555.0), ('L40S', 362.0, 864.0), ('L4', 121.0, 300.0),
    ('A10G', 125.0, 600.0), ('A10', 125.0, 600.0), ('V100', 125.0, 900.0), ('T4', 65.0, 320.0),
)
T4 = dict(name='Tesla T4', tflops_fp16=65.0, bandwidth_gbs=320.0, memory_gb=15.0)
TOY = dict(size=SMOKE_SIZE, batch_size=2, iters=1, warmup=1, resume_iters=6, eval_images=4, train_images=8)
FULL = dict(size=512, batch_size=4, iters=10, warmup=3, resume_iters=300, eval_images=64, train_images=32)


class GpuCheckError(KnownError, RuntimeError):
    """The check cannot run here; the message says why and what to do."""


@HOOKS.register_module()
class LossScaleLoggerHook(Hook):
    """Log the AMP GradScaler's scale as ``train/loss_scale`` after every iteration (nothing without AMP)."""

    priority = 'BELOW_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
        if scaler is not None and hasattr(scaler, 'get_scale'):
            runner.message_hub.update_scalar('train/loss_scale', float(scaler.get_scale()))


# --------------------------------------------------------------------------- 1. device
def device_facts() -> dict:
    """The GPU (or CPU), driver and package versions, as a flat dict."""
    import torch

    from utils.core import env
    from utils.bench import device_name

    facts = dict(env.environment_table())
    facts['device'] = device_name()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts.update(gpu_name=props.name, gpu_memory_gb=round(props.total_memory / 1e9, 1),
                     compute_capability=f'{props.major}.{props.minor}', multiprocessors=props.multi_processor_count)
        try:
            out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            facts['driver'] = out.splitlines()[0] if out else 'unknown'
        except (OSError, subprocess.SubprocessError):
            facts['driver'] = 'unknown (no nvidia-smi)'
    return facts


def card_spec(name: str) -> tuple[str, float, float] | None:
    """``(matched name, FP16 TFLOP/s, GB/s)`` of a known card, else None."""
    for key, tflops, bw in CARD_SPECS:
        if key.lower() in name.lower():
            return key, tflops, bw
    return None


# --------------------------------------------------------------------------- 2./3. speed and T4 fit
def _schedule_iters(config: str) -> int:
    """The iterations of a config's own schedule (what a real run trains; the projection's length)."""
    from mmengine.config import Config

    from utils.core.config import resolve_config

    return int(Config.fromfile(str(resolve_config(config))).train_cfg.max_iters)


def batch_size(recipe: str, sizes: dict) -> int:
    """The batch a recipe is timed at: its config's own for :data:`OWN_BATCH` at full size, else ``sizes``'."""
    from mmengine.config import Config

    from utils.core.config import RECIPES, resolve_config

    if recipe in OWN_BATCH and sizes['size'] == FULL['size']:
        return int(Config.fromfile(str(resolve_config(RECIPES[recipe][0]))).train_dataloader.batch_size)
    return int(sizes['batch_size'])


def _oom(exc: BaseException) -> bool:
    return 'out of memory' in str(exc).lower()


def measure_speed(recipe: str, root: Path, sizes: dict, device: str, variants) -> dict:
    """s/iter, it/s, img/s and peak memory of each variant for one recipe (``'OOM'`` when it does not fit)."""
    import torch

    from utils import bench
    from utils.core.config import RECIPES

    batch = batch_size(recipe, sizes)
    cfg = bench.bench_config(RECIPES[recipe][0], root, sizes['size'], batch)
    batches = bench.fetch_batches(cfg, min(sizes['iters'] + sizes['warmup'], 4))
    out: dict[str, Any] = {'config': RECIPES[recipe][0], 'schedule_iters': _schedule_iters(RECIPES[recipe][0]),
                           'batch_size': batch}
    for name, amp, cl in variants:
        try:
            r = bench.bench_train(cfg, batches, device, amp, cl, sizes['iters'], sizes['warmup'])
            out[name] = {k: r[k] for k in ('s_per_iter', 'it_per_s', 'images_per_s', 'peak_mem_mb',
                                           'warmup_peak_mem_mb', 'peak_reserved_mb', 'last_loss') if k in r}
        except RuntimeError as exc:
            if not _oom(exc):
                raise
            out[name] = 'OOM'
        if device.startswith('cuda'):
            torch.cuda.empty_cache()
    return out


def t4_fit(recipe: str, root: Path, sizes: dict, cap_gb: float, channels_last: bool) -> dict:
    """Train a few AMP iterations of ``recipe`` with this process capped at ``cap_gb`` of GPU memory."""
    import torch

    from utils import bench
    from utils.core.config import RECIPES

    total = torch.cuda.get_device_properties(0).total_memory
    fraction = min(1.0, cap_gb * 1e9 / total)
    cfg = bench.bench_config(RECIPES[recipe][0], root, sizes['size'], batch_size(recipe, sizes))
    batches = bench.fetch_batches(cfg, 2)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.set_per_process_memory_fraction(fraction, 0)
    try:
        r = bench.bench_train(cfg, batches, 'cuda', True, channels_last, 3, 2)
        res = dict(fits=True, peak_mem_mb=r['peak_mem_mb'], peak_reserved_mb=r['peak_reserved_mb'],
                   warmup_peak_mem_mb=r['warmup_peak_mem_mb'], s_per_iter=r['s_per_iter'])
    except RuntimeError as exc:
        if not _oom(exc):
            raise
        res = dict(fits=False, error=str(exc).splitlines()[0][:200])
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
        torch.cuda.empty_cache()
    res.update(cap_gb=cap_gb, fraction=round(fraction, 4), channels_last=channels_last)
    return res


# --------------------------------------------------------------------------- 4. AMP + resume
def _scalars(log_dir: Path) -> dict[int, dict]:
    """Training scalars of one run by step, as :func:`utils.core.metrics.read_scalars` reads MMEngine's log."""
    from utils.core.metrics import read_scalars

    rows = read_scalars(log_dir).train.to_dict('records')
    return {int(r['step']): {k: v for k, v in r.items() if v == v} for r in rows}  # v == v drops NaN (not logged)


def amp_resume_check(root: Path, work: Path, sizes: dict, amp: bool) -> dict:
    """Run the seed recipe ``resume_iters`` iterations, resume a copy from the middle, compare every iteration."""
    from utils.plugins.schedules import cyclic_cosine
    from utils.train import train
    from utils.core.config import RECIPES

    n = sizes['resume_iters']
    half = n // 2
    config = RECIPES['seed'][0]
    hooks = [dict(type='LossScaleLoggerHook')]
    if sizes['size'] == 512:  # the real pipeline and model, random init, no download
        opts = {'model.pretrained': None, 'train_cfg.val_interval': half, 'default_hooks.checkpoint.interval': half,
                'default_hooks.logger.interval': 1, 'randomness': dict(seed=0), 'log_level': 'WARNING'}
        kw = dict(max_iters=n, cfg_options=opts)
    else:
        kw = dict(smoke=dict(size=sizes['size'], max_iters=n),
                  cfg_options={'default_hooks.logger.interval': 1, 'log_level': 'WARNING'})
    t = time.perf_counter()
    first = train(config, root, work / 'uninterrupted', amp=amp, resume='none', extra_hooks=hooks, **kw)
    t_first = time.perf_counter() - t
    middle = work / 'uninterrupted' / f'iter_{half}.pth'
    second = train(config, root, work / 'resumed', amp=amp, resume=middle, extra_hooks=hooks, **kw)
    a, b = _scalars(first['log_dir']), _scalars(second['log_dir'])
    steps = sorted(set(b) & set(a))
    lr_diff = max((abs(a[s]['lr'] - b[s]['lr']) for s in steps), default=math.nan)
    mom_diff = max((abs(a[s]['momentum'] - b[s]['momentum']) for s in steps), default=math.nan)
    base_lr, base_mom = 0.01, 0.9  # the seed's SGD settings (configs/_base_/schedules/schedule_20k_cyclic.py)
    formula_diff = max(abs(b[s]['lr'] - cyclic_cosine(base_lr, s - 1, n, (10, 1e-4))) / cyclic_cosine(
        base_lr, s - 1, n, (10, 1e-4)) for s in steps) if steps else math.nan
    losses = [a[s]['loss'] for s in sorted(a)] + [b[s]['loss'] for s in steps]
    scales = [r['loss_scale'] for r in list(a.values()) + list(b.values()) if 'loss_scale' in r]
    res = dict(iters=n, resumed_from=half, compared_steps=len(steps), expected_steps=n - half,
               resumed_first_step=min(b) if b else None, lr_max_abs_diff=lr_diff, momentum_max_abs_diff=mom_diff,
               lr_vs_mmcv_formula_max_rel_diff=formula_diff, loss_first=losses[0] if losses else None,
               loss_last=a[max(a)]['loss'] if a else None, loss_all_finite=all(math.isfinite(x) for x in losses),
               amp=amp, seconds_uninterrupted=round(t_first, 1),
               s_per_iter=statistics.median([a[s]['time'] for s in a if 'time' in a[s]] or [math.nan]),
               val_mIoU=first['metrics'].get('mIoU'), momentum_base=base_mom, checkpoint=str(first['checkpoint']),
               config=str(next(Path(first['work_dir']).glob('*.py'))))  # as trained (sizes scaled), our own file
    if scales:
        res.update(scale_min=min(scales), scale_last=scales[-1],
                   scale_decreases=sum(1 for x, y in zip(scales, scales[1:]) if y < x))
    res['ok'] = bool(res['loss_all_finite'] and len(steps) == n - half and lr_diff == 0 and mom_diff == 0
                     and formula_diff < 1e-9 and (not amp or res.get('scale_min', 0) >= 1.0))
    return res


# --------------------------------------------------------------------------- 5. evaluation pace
def eval_pace(checkpoint: Path, config: Path, root: Path, work: Path, device: str, tta: str = 'flip') -> dict:
    """Evaluate and submit throughput with ``tta``, as ratios to the bare model forward of the same views."""
    from utils.evaluate import evaluate
    from utils.core.inference import Segmenter, read_image, tta_views
    from utils.base.layout import image_dir
    from utils.submit.predict import predict_folder

    seg = Segmenter.from_checkpoint(checkpoint, config=config, device=device)
    paths = sorted(image_dir(root, 'val').glob('*.jpg'))
    images = [read_image(p) for p in paths]
    bs = min(8, len(images))
    batches = [images[i:i + bs] for i in range(0, len(images), bs)]

    def forward_all() -> float:
        import torch

        t = time.perf_counter()
        with torch.no_grad():
            for b in batches:
                seg._logits(seg._to_tensor(b, seg.test_size))
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - t

    forward_all()  # warm-up (cuDNN algorithm choice)
    fwd = min(forward_all() for _ in range(2))
    model_s = fwd * tta_views(tta)
    t = time.perf_counter()
    evaluate(checkpoint, root, tta=tta, out_dir=work / 'eval', flops=False, batch_size=bs, progress=False,
             segmenter=seg)
    ev = time.perf_counter() - t
    t = time.perf_counter()
    predict_folder(checkpoint, image_dir(root, 'val'), work / 'masks', tta=tta, batch_size=bs, progress=False,
                   segmenter=seg, overwrite=True)
    sub = time.perf_counter() - t
    n = len(images)
    return dict(images=n, tta=tta, batch_size=bs, forward_images_per_s=n / fwd, model_seconds=model_s,
                evaluate_seconds=ev, evaluate_images_per_s=n / ev, evaluate_ratio=ev / model_s,
                submit_seconds=sub, submit_images_per_s=n / sub, submit_ratio=sub / model_s)


# --------------------------------------------------------------------------- 6. projection
def project_t4(result: dict) -> dict:
    """T4 seconds per iteration and hours for 20k iterations, from the AMP speeds and the card's ratios to a T4."""
    spec = card_spec(result['device'].get('gpu_name', ''))
    if spec is None:
        return dict(note='no projection: this card is not in utils.gpu_check.CARD_SPECS (or no GPU)')
    key, tflops, bw = spec
    r_flops, r_bw = tflops / T4['tflops_fp16'], bw / T4['bandwidth_gbs']
    rows = {}
    for recipe, speeds in result['speed'].items():
        for variant in ('amp', 'amp+channels_last'):
            s = speeds.get(variant)
            if isinstance(s, dict):
                lo, hi = sorted((s['s_per_iter'] * r_flops, s['s_per_iter'] * r_bw))
                n = speeds.get('schedule_iters') or 20000
                rows[f'{recipe} {variant}'] = dict(s_per_iter=[lo, hi], hours_20k=[lo * 2e4 / 3600, hi * 2e4 / 3600],
                                                   schedule_iters=n, hours_schedule=[lo * n / 3600, hi * n / 3600])
    return dict(card=key, tflops_fp16=tflops, bandwidth_gbs=bw, ratio_tflops=r_flops, ratio_bandwidth=r_bw,
                t4=T4, rows=rows,
                note=(f'{key} / T4: {r_flops:.1f}x the FP16 Tensor-Core TFLOP/s ({tflops:.0f} vs 65) and '
                      f'{r_bw:.1f}x the memory bandwidth ({bw:.0f} vs 320 GB/s); T4 time = measured time x each '
                      'ratio. A big card runs batch 4 below its peak, so the real T4 time is likely nearer the '
                      'low end. FP32 is not projected: this card runs FP32 convolutions as TF32, a T4 cannot.'))


# --------------------------------------------------------------------------- run + report
def run(out: str | os.PathLike, dry_run: bool = False, t4_gb: float = 15.0, resume_iters: int | None = None,
        recipes: tuple[str, ...] = CHECK_RECIPES, progress: bool = True) -> dict:
    """Every section in order; returns the results dict (also written as JSON and markdown into ``out``)."""
    import torch

    from utils.core.model import init_registries
    from utils.core.synthetic import make_synthetic_dataset

    if not dry_run and not torch.cuda.is_available():
        raise GpuCheckError('No CUDA GPU is visible. In Colab choose Runtime > Change runtime type > T4 GPU; '
                            'elsewhere check `nvidia-smi`. `--dry-run` runs the same code on the CPU at toy size.')
    sizes = dict(TOY if dry_run else FULL)
    if resume_iters:
        sizes['resume_iters'] = resume_iters
    if sizes['resume_iters'] < 2:
        raise GpuCheckError(f'--resume-iters {resume_iters}: give at least 2 (the resume happens in the middle).')
    device = 'cpu' if dry_run else 'cuda'
    on_gpu = device == 'cuda'
    if on_gpu:
        torch.backends.cudnn.benchmark = True  # as the configs train (env_cfg.cudnn_benchmark)
    init_registries()
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        if progress:
            print(f'[{time.perf_counter() - t0:6.1f}s] {msg}', flush=True)

    result: dict[str, Any] = dict(dry_run=dry_run, sizes=sizes, speed={}, t4_fit={})
    result['device'] = device_facts()
    say(f"device: {result['device']['device']}")
    def save() -> None:  # after every section, so a run cut short still leaves what it measured
        result['seconds'] = round(time.perf_counter() - t0, 1)
        (out / 'gpu_check.json').write_text(json.dumps(result, indent=2, default=str))

    with tempfile.TemporaryDirectory(prefix='gpu-check-') as tmp:
        root = make_synthetic_dataset(Path(tmp) / 'data', sizes['train_images'], sizes['eval_images'], 0,
                                      size=sizes['size'], progress=False)
        # correctness first (AMP, resume, evaluation), then the timings
        result['amp_resume'] = ar = amp_resume_check(root, Path(tmp) / 'work', sizes, amp=on_gpu)
        say(f"AMP {ar['iters']} iterations + resume at {ar['resumed_from']}: {'OK' if ar['ok'] else 'FAILED'} "
            f"(lr diff {ar['lr_max_abs_diff']}, momentum diff {ar['momentum_max_abs_diff']}, "
            f"scale min {ar.get('scale_min', 'n/a')})")
        save()
        result['eval_pace'] = ep = eval_pace(Path(ar['checkpoint']), Path(ar['config']), root, Path(tmp) / 'pace',
                                             device)
        say(f"evaluate {ep['evaluate_ratio']:.2f}x and submit {ep['submit_ratio']:.2f}x the bare forward (flip TTA)")
        save()
        for recipe in recipes:
            result['speed'][recipe] = measure_speed(recipe, root, sizes, device, GPU_VARIANTS if on_gpu else CPU_VARIANTS)
            say(f'speed {recipe}: ' + ', '.join(f'{k} {v["s_per_iter"]:.3f} s/iter' if isinstance(v, dict) else f'{k} {v}'
                                                for k, v in result['speed'][recipe].items() if k != 'config'))
            save()
        for recipe in recipes:
            if on_gpu:
                result['t4_fit'][recipe] = t4_fit(recipe, root, sizes, t4_gb, channels_last=True)
                say(f't4 fit {recipe}: {"fits" if result["t4_fit"][recipe]["fits"] else "does NOT fit"} in {t4_gb} GB')
                save()
            else:
                result['t4_fit'][recipe] = dict(fits=None, note='n/a (no GPU)')
    result['projection'] = project_t4(result)
    result['checks'] = dict(
        amp_resume=ar['ok'],
        t4_fit=None if not on_gpu else all(result['t4_fit'][r]['fits'] for r in recipes if r in T4_MUST_FIT))
    result['ok'] = all(v is not False for v in result['checks'].values())
    save()
    (out / 'gpu_check.md').write_text(markdown(result))
    say(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    return result


def _f(x: Any, fmt: str = '{:.3f}') -> str:
    return fmt.format(x) if isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x)) else str(x)


def markdown(r: dict) -> str:
    """The results as markdown tables (what docs/BENCHMARKS.md quotes)."""
    d = r['device']
    lines = [f"## utils.gpu_check on {d.get('gpu_name', d['device'])}" + (' (dry run, CPU, toy size)' if r['dry_run'] else ''),
             '', f"driver {d.get('driver', '-')}, CUDA {d.get('CUDA (torch)', '-')}, cuDNN {d.get('cuDNN', '-')}, "
             f"torch {d.get('torch')}, mmsegmentation {d.get('mmsegmentation')}, mmengine {d.get('mmengine')}, "
             f"Python {d.get('python')}; {r['sizes']['size']}x{r['sizes']['size']}, batch {r['sizes']['batch_size']} "
             '(the 2025-26 recipes at their own), '
             f"median of {r['sizes']['iters']} iterations after {r['sizes']['warmup']} warm-up; total {r['seconds']} s.", '',
             '| recipe | variant | s/iter | it/s | img/s | peak allocated | peak reserved | warm-up peak allocated |',
             '|---|---|---:|---:|---:|---:|---:|---:|']
    for recipe, speeds in r['speed'].items():
        for name, s in speeds.items():
            if name in ('config', 'schedule_iters', 'batch_size'):
                continue
            if isinstance(s, dict):
                lines.append(f"| {recipe} | {name} | {s['s_per_iter']:.3f} | {s['it_per_s']:.2f} | {s['images_per_s']:.1f} | "
                             f"{s['peak_mem_mb']:,.0f} MiB | {_f(s.get('peak_reserved_mb'), '{:,.0f}')} MiB | "
                             f"{_f(s.get('warmup_peak_mem_mb'), '{:,.0f}')} MiB |")
            else:
                lines.append(f'| {recipe} | {name} | {s} | | | | | |')
    lines += ['', '| recipe | fits a T4-sized cap with AMP at its batch (4; 8 for 2025-26) | peak allocated | peak reserved |',
              '|---|---|---:|---:|']
    for recipe, f in r['t4_fit'].items():
        if f.get('fits') is None:
            lines.append(f"| {recipe} | {f.get('note')} | | |")
        else:
            lines.append(f"| {recipe} | {'yes' if f['fits'] else 'no'} ({f['cap_gb']} GB) | "
                         f"{_f(f.get('peak_mem_mb'), '{:,.0f}')} MiB | {_f(f.get('peak_reserved_mb'), '{:,.0f}')} MiB |")
    a = r['amp_resume']
    lines += ['', f"**AMP + resume** ({'AMP' if a['amp'] else 'FP32, no GPU'}): {a['iters']} iterations of the seed recipe, "
              f"resumed from iteration {a['resumed_from']}: {'PASSED' if a['ok'] else 'FAILED'}. "
              f"Loss {_f(a['loss_first'])} -> {_f(a['loss_last'])}, all finite: {a['loss_all_finite']}; "
              f"grad scale min {_f(a.get('scale_min', 'n/a'), '{:g}')}, last {_f(a.get('scale_last', 'n/a'), '{:g}')}, "
              f"{a.get('scale_decreases', 'n/a')} decreases; resumed vs uninterrupted over {a['compared_steps']} "
              f"iterations: LR max diff {a['lr_max_abs_diff']}, momentum max diff {a['momentum_max_abs_diff']}; "
              f"LR vs mmcv's cyclic formula max relative diff {_f(a['lr_vs_mmcv_formula_max_rel_diff'], '{:.1e}')}; "
              f"{_f(a['s_per_iter'])} s/iter in the real runner.", '']
    e = r['eval_pace']
    lines += [f"**Evaluation pace** ({e['images']} images, flip TTA, batch {e['batch_size']}): bare forward "
              f"{e['forward_images_per_s']:.1f} img/s per view; evaluate {e['evaluate_images_per_s']:.1f} img/s = "
              f"{e['evaluate_ratio']:.2f}x the model time, submit {e['submit_images_per_s']:.1f} img/s = "
              f"{e['submit_ratio']:.2f}x.", '']
    p = r['projection']
    if 'rows' in p:
        lines += ['| projected on a T4 (AMP) | s/iter | 20k iterations | its schedule |', '|---|---:|---:|---:|']
        for k, v in p['rows'].items():
            lines.append(f"| {k} | {v['s_per_iter'][0]:.2f}-{v['s_per_iter'][1]:.2f} | "
                         f"{v['hours_20k'][0]:.1f}-{v['hours_20k'][1]:.1f} h | {v['schedule_iters']:,} its: "
                         f"{v['hours_schedule'][0]:.1f}-{v['hours_schedule'][1]:.1f} h |")
    lines += ['', p['note'], '']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.gpu_check', description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--out', default=str(REPO_ROOT / 'outputs' / 'gpu_check'), help='folder for gpu_check.json/.md')
    p.add_argument('--dry-run', action='store_true', help='CPU, toy size: proves the code path (CI)')
    p.add_argument('--t4-gb', type=float, default=15.0, help='memory cap of the T4 fit check in GB (default 15)')
    p.add_argument('--resume-iters', type=int, default=None, help='AMP iterations of the resume check (default 300)')
    p.add_argument('--recipes', nargs='+', choices=CHECK_RECIPES, default=list(CHECK_RECIPES), help='recipes to time')
    p.add_argument('--quiet', action='store_true', help='no progress lines')
    p.add_argument('--debug', action='store_true', help='full tracebacks')
    a = p.parse_args(argv)
    if a.t4_gb <= 0:
        p.error(f'--t4-gb {a.t4_gb}: give a positive number of GB')
    try:
        result = run(a.out, a.dry_run, a.t4_gb, a.resume_iters, tuple(a.recipes), progress=not a.quiet)
    except Exception as exc:  # one message; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    print(markdown(result))
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
