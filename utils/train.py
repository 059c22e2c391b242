"""Train a config with MMEngine's Runner: auto-resume that survives disconnects, AMP on GPU, smoke mode.

    python -m utils.train CONFIG --data-root DIR --work-dir DIR [--max-iters N] [--amp]
                          [--resume auto|none|PATH] [--smoke] [--cfg-options k=v ...]
    torchrun --nproc_per_node 2 -m utils.train CONFIG --launcher pytorch ...   # several GPUs

CONFIG is a path or a config name from ``configs/``. ``--resume auto`` (the default) continues
from the newest *readable* ``iter_*.pth`` in the work_dir, skipping a truncated one with a warning.
"""
from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from . import compat
from .labels import CLASSES, NUM_CLASSES, REPO_ROOT
from .layout import LAYOUT_HELP, image_dir, mask_dir

CONFIG_DIR = REPO_ROOT / 'configs'
SMOKE_DEFAULT = dict(size=64, max_iters=40)
_ITER_CKPT = re.compile(r'^iter_(\d+)\.pth$')


class TrainError(RuntimeError):
    """A training run cannot start; the message says why and what to do."""


# --------------------------------------------------------------------------- configs
def available_configs() -> list[str]:
    """Config names in ``configs/`` (without ``.py``), base files excluded."""
    return sorted(p.stem for p in CONFIG_DIR.glob('*.py'))


def resolve_config(config: str | os.PathLike) -> Path:
    """A config path from a path or a bare name in ``configs/``; unknown names list close matches."""
    path = Path(config)
    candidates = [path, CONFIG_DIR / path, CONFIG_DIR / f'{path}.py', CONFIG_DIR / f'{path.name}.py']
    for cand in candidates:
        if cand.is_file() and cand.suffix == '.py':
            return cand.resolve()
    names = available_configs()
    close = difflib.get_close_matches(path.stem, names, n=3, cutoff=0.4)
    hint = f' Did you mean: {", ".join(close)}?' if close else ''
    raise TrainError(f'Unknown config {str(config)!r}.{hint} Available in {CONFIG_DIR}: {", ".join(names)}')


def walk_dicts(obj: Any):
    """Yield every dict nested in ``obj`` (lists and dicts)."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk_dicts(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from walk_dicts(v)


def _dataloaders(cfg) -> list:
    return [cfg.get(k) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader') if cfg.get(k)]


def set_data_root(cfg, data_root: str | os.PathLike) -> None:
    """Point every dataset of ``cfg`` at ``data_root``."""
    cfg.data_root = str(data_root)
    for loader in _dataloaders(cfg):
        for node in walk_dicts(loader.get('dataset')):
            if 'data_root' in node:
                node['data_root'] = str(data_root)


def set_max_iters(cfg, max_iters: int) -> None:
    """Shorten/extend training to ``max_iters``: the loop, the cyclic/poly schedules and the intervals follow."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = int(max_iters)
    for sched in cfg.get('param_scheduler') or []:
        if 'total_iters' in sched and sched['type'] in ('CyclicLR', 'CyclicMomentum', 'CyclicCosineParamScheduler'):
            sched['total_iters'] = int(max_iters)
        if sched.get('end') == old:
            sched['end'] = int(max_iters)
        elif isinstance(sched.get('end'), int) and sched['end'] < old:  # e.g. a warm-up: keep its share
            sched['end'] = max(1, round(sched['end'] * max_iters / old))
        if isinstance(sched.get('begin'), int) and 0 < sched['begin'] < old:
            sched['begin'] = min(round(sched['begin'] * max_iters / old), sched.get('end', max_iters) - 1)
    if cfg.train_cfg.get('val_interval', 0) > max_iters:
        cfg.train_cfg.val_interval = int(max_iters)


def apply_smoke(cfg, size: int = 64, max_iters: int = 40) -> None:
    """Turn any config into a CPU smoke run: inputs scaled from 512 to ``size``, short schedule, no download."""
    factor = size / 512

    def scaled(value):
        if isinstance(value, (list, tuple)):
            return type(value)(max(1, round(v * factor)) if isinstance(v, (int, float)) else v for v in value)
        return max(1, round(value * factor))

    for loader in _dataloaders(cfg):
        loader['num_workers'] = 0
        loader['persistent_workers'] = False
        loader['pin_memory'] = False
        for node in walk_dicts(loader.get('dataset')):
            if node.get('type') in ('Resize', 'RandomResize', 'RandomCrop', 'RandomChoiceResize'):
                for key in ('scale', 'crop_size', 'scales'):
                    if key in node and node[key] is not None:
                        node[key] = ([scaled(s) for s in node[key]] if key == 'scales' else scaled(node[key]))
    for node in walk_dicts(cfg.get('model')):
        if node.get('type') == 'SegDataPreProcessor' and node.get('size'):
            node['size'] = (size, size)
        if node.get('type') == 'OHEMPixelSampler' and node.get('min_kept'):
            node['min_kept'] = max(1, int(node['min_kept'] * factor ** 2))
        if node.get('mode') == 'slide':
            node['crop_size'] = scaled(node['crop_size'])
            node['stride'] = scaled(node['stride'])
    if cfg.get('data_preprocessor', {}).get('size'):
        cfg.data_preprocessor['size'] = (size, size)
    cfg.model['pretrained'] = None
    for node in walk_dicts(cfg.model):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
    set_max_iters(cfg, max_iters)
    cfg.train_cfg.val_interval = max(1, max_iters // 2)
    hooks = cfg.default_hooks
    hooks.checkpoint['interval'] = cfg.train_cfg.val_interval
    hooks.logger['interval'] = max(1, min(hooks.logger.get('interval', 50), max_iters // 8))
    cfg.env_cfg['cudnn_benchmark'] = False
    cfg.setdefault('randomness', dict(seed=0))  # smoke runs are reproducible


def check_num_classes(cfg) -> None:
    """Every head and class-weight list of ``cfg`` must agree with the dataset's 19 classes."""
    problems = []
    for name in ('decode_head', 'auxiliary_head'):
        heads = cfg.model.get(name)
        for head in heads if isinstance(heads, list) else [heads] if heads else []:
            if head.get('num_classes') not in (None, NUM_CLASSES):
                problems.append(f'model.{name}.num_classes = {head["num_classes"]}')
            for node in walk_dicts(head.get('loss_decode')):
                weight = node.get('class_weight')
                if isinstance(weight, str) and weight not in DATA_WEIGHT_METHODS:
                    problems.append(f'model.{name} class_weight {weight!r} is not one of {DATA_WEIGHT_METHODS}')
                if isinstance(weight, (list, tuple)) and len(weight) != NUM_CLASSES:
                    problems.append(f'model.{name} class_weight has {len(weight)} entries')
    if problems:
        raise TrainError(f'Class-count mismatch: CelebAMask has {NUM_CLASSES} classes ({", ".join(CLASSES[:4])}, ...) '
                         f'but {"; ".join(problems)}. Set them to {NUM_CLASSES} in the config or with '
                         '--cfg-options.')


DATA_WEIGHT_METHODS = ('median_freq', 'inv_sqrt')


def resolve_class_weights(cfg, data_root: str | os.PathLike) -> None:
    """Replace ``class_weight='median_freq'|'inv_sqrt'`` in any loss by weights computed from the train masks."""
    for node in walk_dicts(cfg.model):
        method = node.get('class_weight')
        if isinstance(method, str) and method in DATA_WEIGHT_METHODS:
            from .stats import compute_class_weights

            node['class_weight'] = [round(float(w), 4) for w in compute_class_weights(data_root, method=method)]


def check_data_root(data_root: str | os.PathLike, splits: tuple[str, ...] = ('train', 'val')) -> Path:
    """Fail early, with the expected layout, if ``data_root`` lacks a needed split."""
    root = Path(data_root)
    if not root.is_dir():
        raise TrainError(f'Data root not found: {root}. Fetch the dataset first (`python -m utils.data fetch '
                         f'SOURCE --out {root}`) or make synthetic data (`python -m utils.synthetic --out {root}`).')
    for split in splits:
        for folder in (image_dir(root, split), mask_dir(root, split)):
            if not folder.is_dir():
                raise TrainError(f'Missing split folder {folder} under {root}; {LAYOUT_HELP}')
    return root


def load_config(config: str | os.PathLike, *, data_root: str | os.PathLike | None = None,
                work_dir: str | os.PathLike | None = None, max_iters: int | None = None, amp: bool = False,
                smoke: bool | dict | None = None, cfg_options: dict | None = None, launcher: str = 'none',
                channels_last: bool | None = None):
    """Load ``config`` by file path and apply this project's options; returns an mmengine ``Config``.

    ``channels_last=None`` trains in the channels-last memory format exactly when a CUDA GPU is present:
    on the H200 it made AMP training 1.22x (seed) to 1.33x (improved R50) faster (docs/BENCHMARKS.md).
    """
    from mmengine.config import Config

    from . import env

    path = resolve_config(config)
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    smoke_opts = cfg.pop('smoke', None)
    if smoke is True:
        smoke_opts = {**SMOKE_DEFAULT, **(smoke_opts or {})}
    elif isinstance(smoke, dict):
        smoke_opts = {**SMOKE_DEFAULT, **(smoke_opts or {}), **smoke}
    elif smoke is False:
        smoke_opts = None
    if smoke_opts:
        apply_smoke(cfg, int(smoke_opts['size']), int(smoke_opts['max_iters']))
    if max_iters:
        set_max_iters(cfg, max_iters)
    if data_root is not None:
        set_data_root(cfg, data_root)
    cfg.work_dir = str(work_dir or env.default_work_dir(path))
    check_num_classes(cfg)
    if amp:
        import torch

        if torch.cuda.is_available():
            cfg.optim_wrapper['type'] = 'AmpOptimWrapper'
            cfg.optim_wrapper['loss_scale'] = 'dynamic'
        else:
            warnings.warn('AMP needs a CUDA GPU and none is available: training in FP32 instead.')
    cfg.launcher = launcher
    if channels_last is None:
        import torch

        channels_last = torch.cuda.is_available()
    cfg.channels_last = bool(channels_last)
    if launcher != 'none':
        import torch

        if not torch.cuda.is_available():  # CPU processes (tests, CPU clusters): gloo, DDP without devices
            cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
            cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False, find_unused_parameters=False)
    cfg.config_path = str(path)
    return cfg


# --------------------------------------------------------------------------- checkpoints
def list_checkpoints(work_dir: str | os.PathLike) -> list[Path]:
    """``iter_*.pth`` files in ``work_dir``, newest (highest iteration) first."""
    folder = Path(work_dir)
    found = [(int(m.group(1)), p) for p in folder.glob('iter_*.pth') if (m := _ITER_CKPT.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def find_resume_checkpoint(*work_dirs: str | os.PathLike) -> Path | None:
    """Newest readable ``iter_*.pth`` in the first work_dir that has one; unreadable ones are skipped with a warning."""
    for work_dir in work_dirs:
        if work_dir is None:
            continue
        for ckpt in list_checkpoints(work_dir):
            try:
                compat.check_checkpoint_file(ckpt)
            except compat.CheckpointError as exc:
                warnings.warn(f'Skipping unreadable checkpoint: {exc}')
                continue
            return ckpt
    return None


def _runner_class():
    from mmengine.runner import Runner

    class ParsingRunner(Runner):
        """MMEngine Runner whose resume unpickles in full only checkpoints from this project's own work_dirs."""

        def build_model(self, model):
            model = super().build_model(model)
            if self.cfg.get('channels_last'):  # before DDP wraps it; convolutions then run channels-last
                import torch

                model = model.to(memory_format=torch.channels_last)
            return model

        def resume(self, filename, resume_optimizer=True, resume_param_scheduler=True, map_location='default'):
            if not compat.is_trusted_checkpoint(filename):
                raise compat.UnsafeCheckpointError(
                    f'Will not resume from {filename}: it is not in a work_dir written by this project '
                    f'(no {compat.WORKDIR_MARKER} file next to it), and resuming needs full unpickling, which '
                    'can run code. To start from its weights only, pass --cfg-options load_from=PATH instead.')
            self.logger.info(f'Resuming from trusted checkpoint {filename} (this project\'s own work_dir).')
            with compat.trusted_resume():
                super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)

    return ParsingRunner


def build_runner(cfg):
    """An MMEngine runner for ``cfg`` (as returned by :func:`load_config`)."""
    import mmseg  # noqa: F401  (registers MMSeg's modules)
    from mmengine.registry import init_default_scope

    compat.install_checkpoint_policy()
    if str(REPO_ROOT) not in sys.path:  # custom_imports = utils.*
        sys.path.insert(0, str(REPO_ROOT))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return _runner_class().from_cfg(cfg)


def train(config: str | os.PathLike, data_root: str | os.PathLike | None = None,
          work_dir: str | os.PathLike | None = None, *, max_iters: int | None = None, amp: bool = False,
          resume: str | os.PathLike | None = 'auto', smoke: bool | dict | None = None,
          cfg_options: dict | None = None, launcher: str = 'none', extra_hooks: list[dict] | None = None,
          channels_last: bool | None = None) -> dict:
    """Train ``config``; returns ``{'work_dir', 'checkpoint', 'best', 'metrics', 'resumed_from', 'log_dir'}``.

    ``resume``: ``'auto'`` (newest readable checkpoint in ``work_dir``), ``'none'``/``None``, a
    checkpoint file, or another work_dir (its newest readable checkpoint; used to go 20k -> 30k).
    ``extra_hooks``: MMEngine hook configs added to the run (e.g. ``utils.workflow.LiveCurveHook``).
    """
    cfg = load_config(config, data_root=data_root, work_dir=work_dir, max_iters=max_iters, amp=amp,
                      smoke=smoke, cfg_options=cfg_options, launcher=launcher, channels_last=channels_last)
    root = Path(cfg.train_dataloader.dataset.data_root)
    is_smoke = cfg.model.get('pretrained') is None and cfg.train_cfg.max_iters <= 1000
    if not root.is_dir() and is_smoke:
        from .synthetic import make_synthetic_dataset

        logging.getLogger(__name__).warning('No data at %s: writing a synthetic dataset there.', root)
        make_synthetic_dataset(root, size=int(cfg.model.data_preprocessor['size'][0]))
    check_data_root(root)
    resolve_class_weights(cfg, root)
    resumed_from = _resolve_resume(resume, cfg.work_dir)
    if resumed_from is not None:
        cfg.resume, cfg.load_from = True, str(resumed_from)
    if extra_hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + list(extra_hooks)
    compat.mark_work_dir(cfg.work_dir)
    _init_cpu_distributed(cfg)
    runner = build_runner(cfg)
    if resumed_from is not None and compat.is_trusted_checkpoint(resumed_from):
        start = _checkpoint_iter(resumed_from)
        if start is not None and start >= cfg.train_cfg.max_iters:
            runner.logger.info(f'{resumed_from} is already at iteration {start} >= max_iters '
                               f'{cfg.train_cfg.max_iters}: nothing to train.')
    runner.train()
    best = sorted(Path(cfg.work_dir).glob('best_*.pth'), key=os.path.getmtime)
    last = list_checkpoints(cfg.work_dir)
    return dict(work_dir=Path(cfg.work_dir), checkpoint=last[0] if last else None,
                best=best[-1] if best else None, metrics=_last_val_metrics(runner),
                resumed_from=resumed_from, log_dir=Path(runner.log_dir))


def _init_cpu_distributed(cfg) -> None:
    """MMEngine's pytorch launcher assumes CUDA; on CPU start the gloo process group here (torchrun's env vars)."""
    import torch
    import torch.distributed as dist

    if cfg.launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def _checkpoint_iter(path: Path) -> int | None:
    m = _ITER_CKPT.match(Path(path).name)
    return int(m.group(1)) if m else None


def _resolve_resume(resume, work_dir) -> Path | None:
    if resume in (None, False, 'none', ''):
        return None
    if resume in ('auto', True):
        return find_resume_checkpoint(work_dir)
    path = Path(resume)
    if path.is_dir():
        found = find_resume_checkpoint(path)
        if found is None:
            raise TrainError(f'--resume {path}: no readable iter_*.pth checkpoint in that folder.')
        return found
    compat.check_checkpoint_file(path)
    return path


def _last_val_metrics(runner) -> dict:
    scalars = runner.message_hub.log_scalars
    return {k.split('/', 1)[1]: float(v.current()) for k, v in scalars.items()
            if k.startswith('val/') and k.split('/', 1)[1] in ('aAcc', 'mIoU', 'mAcc', 'mDice')}


# --------------------------------------------------------------------------- command line
def _parse_cfg_options(items: list[str] | None) -> dict:
    from mmengine.config import DictAction

    ns = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='o')(None, ns, items or [])
    return ns.o


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.train', description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('config', help='config path or name in configs/')
    p.add_argument('--data-root', help='dataset root in the course layout (default: the config\'s)')
    p.add_argument('--work-dir', help='where checkpoints and logs go (default: work_dirs/<config>, on Drive in Colab)')
    p.add_argument('--max-iters', type=int, help='override the number of iterations (the LR cycle follows)')
    p.add_argument('--amp', action='store_true', help='mixed precision (GPU only; FP32 with a warning on CPU)')
    p.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None,
                   help='channels-last memory format (default: on with a CUDA GPU, where it measured faster)')
    p.add_argument('--resume', default='auto', help="'auto' (default), 'none', a checkpoint or a work_dir")
    p.add_argument('--smoke', action='store_true', help='tiny CPU run: 64px inputs, 40 iterations, no download')
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE', help='override config keys (MMEngine syntax)')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                   help="job launcher; use 'pytorch' under torchrun")
    p.add_argument('--local-rank', '--local_rank', type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.launcher != 'none':
        os.environ.setdefault('LOCAL_RANK', str(a.local_rank))
    try:
        result = train(a.config, a.data_root, a.work_dir, max_iters=a.max_iters, amp=a.amp, resume=a.resume,
                       smoke=True if a.smoke else None, cfg_options=_parse_cfg_options(a.cfg_options),
                       launcher=a.launcher, channels_last=a.channels_last)
    except (TrainError, compat.CheckpointError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f"work_dir: {result['work_dir']}\nlast checkpoint: {result['checkpoint']}\n"
          f"best checkpoint: {result['best']}\nval metrics: {result['metrics']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
