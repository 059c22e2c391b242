"""Train a config with MMEngine's Runner: auto-resume that survives disconnects, AMP on GPU, smoke mode.

    python -m utils.train CONFIG --data-root DIR --work-dir DIR [--max-iters N] [--amp]
                          [--resume auto|none|PATH] [--smoke] [--cfg-options k=v ...] [--debug]
                          [--edition 2022|2025] [--split split.json]
    torchrun --nproc_per_node 2 -m utils.train CONFIG --launcher pytorch ...   # several GPUs

CONFIG is a path or a config name from ``configs/`` (see ``utils.core.config``). ``--resume auto`` (the
default) continues from the newest intact ``iter_*.pth`` in the work_dir, skipping a truncated or
damaged one with a warning (``utils.core.checkpoints``). Laid out like MMSeg's ``tools/train.py``.
A 2025-26 config (``edition = '2025'``) trains on the training pairs less a holdout that it validates on
(``split.json`` in the work_dir, made once and kept for the whole run, resumes included); ``--final-fit`` trains
on every pair.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
from pathlib import Path

from utils.core import checkpoints
from utils.base import trust
from utils.core.config import FINAL_FIT_SUFFIX, SPLIT_FILE, ConfigError, check_data_root, load_config, train_data_root
from utils.base.edition import DEFAULT_EDITION, EDITIONS
from utils.core.env import KnownHarmless, default_work_dir, pretrained_cache
from utils.base.labels import REPO_ROOT
from utils.core.pretrained import check_course_rules, prepare_pretrained
from utils.base.report import cli_error
from utils.core.rules import check_edition_rules, effective_edition


class TrainError(ConfigError):
    """A training run cannot start; the message says why and what to do."""


def _runner_class():
    from mmengine.runner import Runner

    class ParsingRunner(Runner):
        """MMEngine Runner whose resume unpickles in full only checkpoints from this project's own work_dirs."""

        def build_logger(self, log_level='INFO', log_file=None, **kwargs):
            logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
            if self.cfg.get('quiet_console'):  # the config dump and per-iteration lines go to the log file only
                logger.addFilter(KnownHarmless())
                for handler in logger.handlers:
                    if type(handler) is logging.StreamHandler:
                        handler.setLevel(logging.WARNING)
            return logger

        def build_model(self, model):
            model = super().build_model(model)
            if self.cfg.get('channels_last'):  # before DDP wraps it; convolutions then run channels-last
                import torch

                model = model.to(memory_format=torch.channels_last)
            return model

        def resume(self, filename, resume_optimizer=True, resume_param_scheduler=True, map_location='default'):
            real = Path(filename).resolve()
            if not checkpoints.is_trusted_checkpoint(real):  # the loader checks the bytes it loads once more
                raise checkpoints.UntrustedCheckpointError(
                    checkpoints.not_recorded_message(filename, checkpoints.sha256_file(real)))
            self.logger.info(f'Resuming from trusted checkpoint {filename} (this project\'s own work_dir).')
            quiet = contextlib.redirect_stdout(io.StringIO()) if self.cfg.get('quiet_console') else \
                contextlib.nullcontext()  # MMEngine prints (not logs) 'Loads checkpoint by ... backend' on resume
            with checkpoints.trusted_resume(), quiet:
                super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
            if Path(filename).resolve().parent != Path(self.work_dir).resolve():
                # A new stage (20k -> 30k) in its own work_dir: its best checkpoint and its kept list start afresh.
                # Carried over, MMEngine's CheckpointHook would delete stage 1's best_*.pth the first time stage 2
                # beat it, and stage 2 would keep no best of its own when it never did.
                hub = self.message_hub
                for key in [k for k in hub.runtime_info if k.startswith(('best_ckpt', 'best_score'))
                            or k == 'keep_ckpt_ids']:
                    hub.pop_info(key)

        def save_checkpoint(self, out_dir, filename, *args, **kwargs):
            super().save_checkpoint(out_dir, filename, *args, **kwargs)
            if self.rank == 0:  # what training wrote is what resume may unpickle in full: its bytes are recorded
                checkpoints.record_file(Path(out_dir) / filename)

        def dump_config(self):
            super().dump_config()
            if self.rank == 0:
                name = Path(self.cfg.filename).name if self.cfg.filename is not None else f'{self.timestamp}.py'
                checkpoints.record_file(Path(self.work_dir) / name)

        def call_hook(self, fn_name, **kwargs):
            super().call_hook(fn_name, **kwargs)
            lock = getattr(self, '_train_lock', None)
            if lock and fn_name == 'after_train_iter' and time.time() - getattr(self, '_lock_seen', 0) > 60:
                self._lock_seen = time.time()  # another machine judges the lock stale by its time
                trust.refresh_lock(Path(lock))

    return ParsingRunner


def resolve_class_weights(cfg, data_root: str | os.PathLike) -> None:
    """Replace ``class_weight='median_freq'|'inv_sqrt'`` in any loss of ``cfg`` by weights computed from the train masks
    (here, where training builds its model; utils.bench, which times training steps, calls it too)."""
    from utils.core.config import WEIGHT_METHODS, walk_dicts
    from utils.core.stats import compute_class_weights

    for node in walk_dicts(cfg.model):
        method = node.get('class_weight')
        if isinstance(method, str) and method in WEIGHT_METHODS:
            node['class_weight'] = compute_class_weights(data_root, method=method)


def build_runner(cfg):
    """An MMEngine runner for ``cfg`` (as returned by :func:`load_config`)."""
    import mmseg  # noqa: F401  (registers MMSeg's modules)
    from mmengine.registry import init_default_scope

    checkpoints.install_checkpoint_policy()
    if str(REPO_ROOT) not in sys.path:  # custom_imports = utils.*
        sys.path.insert(0, str(REPO_ROOT))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    from utils.plugins import checkpoint_hook  # noqa: F401  (registers SafeCheckpointHook)

    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is not None and hook.get('type') == 'CheckpointHook':  # a failed save of a new best keeps the old one
        hook['type'] = 'SafeCheckpointHook'
    return _runner_class().from_cfg(cfg)


def train(config: str | os.PathLike, data_root: str | os.PathLike | None = None,
          work_dir: str | os.PathLike | None = None, *, max_iters: int | None = None, amp: bool = False,
          resume: str | os.PathLike | None = 'auto', smoke: bool | dict | None = None,
          cfg_options: dict | None = None, launcher: str = 'none', extra_hooks: list[dict] | None = None,
          channels_last: bool | None = None, quiet: bool = False, final_fit: bool = False,
          edition: str | None = None, split: dict | None = None) -> dict:
    """Train ``config``; returns ``{'work_dir', 'checkpoint', 'best', 'metrics', 'resumed_from', 'log_dir'}``.

    ``resume``: ``'auto'`` (newest readable checkpoint in ``work_dir``), ``'none'``/``None``, a
    checkpoint file, another work_dir (its newest readable checkpoint; used to go 20k -> 30k), or a sequence of
    work_dirs (the newest readable checkpoint of the first that has one: each checkpoint is verified once).
    ``extra_hooks``: MMEngine hook configs added to the run (e.g. ``utils.plugins.live.ProgressBarHook``).
    ``final_fit``: train on train + val (the default work_dir gets ``_trainval``); its val scores are not honest.
    ``quiet``: MMEngine's config dump and log lines go to the log file only (the notebooks show a progress bar).
    A 2025-26 config (top-level ``edition = '2025'``): see :func:`apply_holdout`; ``final_fit`` then trains on
    every training pair (the val set has no masks to add), and the holdout, seen in training, is validated once.
    ``edition``: the course rules to enforce ('2022' default; a config saying ``edition = '2025'`` is always held
    to the 2025-26 rules, checked before anything is written: utils.core.rules.check_edition_rules).
    ``split``: a holdout split (``split.json``'s dict) to use instead of the run's own (:func:`apply_holdout`).
    """
    if work_dir is None:
        work_dir = default_work_dir(config)
        work_dir = Path(str(work_dir) + FINAL_FIT_SUFFIX) if final_fit else work_dir
    holdout = config_edition(config, cfg_options) == '2025'
    cfg = load_config(config, data_root=data_root, work_dir=work_dir, max_iters=max_iters, amp=amp, smoke=smoke,
                      cfg_options=cfg_options, launcher=launcher, channels_last=channels_last,
                      final_fit=final_fit and not holdout)
    edition = effective_edition(cfg, edition)
    if edition == '2022':
        check_course_rules(cfg)  # ImageNet-1k weights only, no foreign load_from (course_rules=False lifts it)
    else:
        check_edition_rules(cfg, edition)  # the parameter cap and no weights at all: before anything is written
    root = Path(train_data_root(cfg))
    if not root.is_dir() and cfg.get('smoke_run'):  # a smoke run may make its synthetic data; a real run never
        from utils.core.synthetic import make_synthetic_dataset

        logging.getLogger(__name__).warning('No data at %s: writing a synthetic dataset there.', root)
        make_synthetic_dataset(root, size=int(cfg.model.data_preprocessor['size'][0]),
                               edition='2025' if holdout else '2022')
    check_data_root(root, ('train',) if holdout else ('train', 'val'))  # 2025-26: the holdout comes from train
    resolve_class_weights(cfg, root)
    said = prepare_pretrained(cfg, pretrained_cache())  # ImageNet weights: a kept copy, else two sources
    if said:
        print(said)
    checkpoints.claim_work_dir(cfg.work_dir)  # before any resume: a folder of foreign checkpoints is refused
    lock = trust.acquire_lock(cfg.work_dir) if _is_main_process() else None  # a second training refuses at once
    try:
        resumed_from = _resolve_resume(resume, cfg.work_dir)
        if holdout:  # the holdout never changes mid-run: a resume keeps the split it started with
            apply_holdout(cfg, root, final_fit=final_fit, resumed_from=resumed_from, split=split)
        return _run(cfg, resumed_from, extra_hooks, quiet, lock)
    finally:
        if lock is not None:
            trust.release_lock(lock)


def _is_main_process() -> bool:
    return os.environ.get('RANK', '0') == '0'


def _run(cfg, resumed_from: Path | None, extra_hooks, quiet, lock) -> dict:
    if resumed_from is not None:
        cfg.resume, cfg.load_from = True, str(resumed_from)
        print('resuming from', resumed_from)
    if extra_hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + list(extra_hooks)
    if quiet:
        from utils.core.env import quiet_known_warnings

        quiet_known_warnings()
        cfg.quiet_console = True
    _init_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner._train_lock = lock
    if resumed_from is not None:  # (its bytes are checked where they are loaded)
        start = checkpoints.checkpoint_iter(resumed_from)
        if start is not None and start >= cfg.train_cfg.max_iters:
            runner.logger.info(f'{resumed_from} is already at iteration {start} >= max_iters '
                               f'{cfg.train_cfg.max_iters}: nothing to train.')
    started = time.time()
    try:
        runner.train()
    except OSError:  # a full or vanished disk mid-save: no half-written checkpoint stays to be resumed or evaluated
        checkpoints.remove_incomplete(cfg.work_dir, since=started)
        raise
    best = sorted(Path(cfg.work_dir).glob('best_*.pth'), key=os.path.getmtime)
    last = checkpoints.list_checkpoints(cfg.work_dir)
    return dict(work_dir=Path(cfg.work_dir), checkpoint=last[0] if last else None,
                best=best[-1] if best else None, metrics=_last_val_metrics(runner),
                resumed_from=resumed_from, log_dir=Path(runner.log_dir))


def config_edition(config: str | os.PathLike, cfg_options: dict | None = None) -> str | None:
    """The ``edition`` a config (or ``--cfg-options edition=...``) declares; None for the 2022 configs."""
    from mmengine.config import Config

    from utils.core.config import resolve_config

    if cfg_options and 'edition' in cfg_options:
        return str(cfg_options['edition'])
    edition = Config.fromfile(str(resolve_config(config))).get('edition')
    return None if edition is None else str(edition)


def apply_holdout(cfg, data_root: str | os.PathLike, *, final_fit: bool = False,
                  resumed_from: str | os.PathLike | None = None, split: dict | None = None) -> dict:
    """2025-26: train on the training pairs less a holdout, validate (and test) on the holdout; returns the split.

    The split is the work_dir's ``split.json`` when there (a resumed or re-run stage keeps its holdout), else
    that of the work_dir resumed from (stage 2 and the final fit keep stage 1's), else a new one
    (:func:`utils.data.split.make_holdout`, 100 pairs or 10 % of a small set, ``cfg.holdout = dict(n=..., seed=...)``
    when a config says otherwise). It is written to the work_dir before anything trains. ``final_fit``: every
    pair is trained on; the holdout, no longer honest, is validated once at the end.
    """
    from utils.core.config import set_split
    from utils.data.split import (describe, final_fit_split, holdout_size, make_holdout, read_split,
                                  train_pairs, write_split)

    work_dir = Path(cfg.work_dir)
    homes = [work_dir] + ([Path(resumed_from).parent] if resumed_from is not None else [])
    home = next((d for d in homes if (d / SPLIT_FILE).is_file()), None)
    if split is not None:  # given (--split): checked like a kept one
        from utils.data.split import check_split

        split = check_split(split, data_root, '--split')
    elif home is not None:
        split = read_split(home, data_root)
    else:
        opts = cfg.get('holdout') or {}
        n = opts.get('n') or holdout_size(len(train_pairs(data_root)))
        split = make_holdout(data_root, n=int(n), seed=int(opts.get('seed', 0)))
    if split.get('final_fit') and not final_fit:
        raise TrainError(f'{home / SPLIT_FILE} belongs to a final fit (trained on every pair, the holdout included): '
                         'a run that validates on the holdout cannot continue from it. Train into another '
                         '--work-dir, or add --final-fit.')
    if final_fit:
        split = final_fit_split(split, data_root)
        cfg.final_fit = True
        cfg.train_cfg.val_interval = cfg.train_cfg.max_iters
    write_split(split, work_dir)
    set_split(cfg, split, work_dir)
    print(describe(split, data_root))
    return split


def _init_cpu_distributed(cfg) -> None:
    """MMEngine's pytorch launcher assumes CUDA; on CPU start the gloo process group here (torchrun's env vars)."""
    import torch
    import torch.distributed as dist

    if cfg.launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def _resolve_resume(resume, work_dir) -> Path | None:
    if resume in (None, False, 'none', ''):
        return None
    if resume in ('auto', True):
        return checkpoints.find_resume_checkpoint(work_dir)
    if isinstance(resume, (list, tuple)):  # work_dirs in order of preference (03: its own, else stage 1's)
        found = checkpoints.find_resume_checkpoint(*resume)
        if found is None:
            raise TrainError(f'No readable iter_*.pth checkpoint in {", ".join(map(str, resume))}.')
        return found
    path = Path(resume)
    if path.is_dir():
        found = checkpoints.find_resume_checkpoint(path)
        if found is None:
            raise TrainError(f'--resume {path}: no readable iter_*.pth checkpoint in that folder.')
        return found
    checkpoints.verify_checkpoint(path)
    return path


def _last_val_metrics(runner) -> dict:
    scalars = runner.message_hub.log_scalars
    return {k.split('/', 1)[1]: float(v.current()) for k, v in scalars.items()
            if k.startswith('val/') and k.split('/', 1)[1] in ('imgF', 'aAcc', 'mIoU', 'mAcc', 'mDice')}


# --------------------------------------------------------------------------- command line
def _parse_cfg_options(items: list[str] | None) -> dict:
    from mmengine.config import DictAction

    ns = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='o')(None, ns, items or [])
    return ns.o


def _read_split(path: str | None) -> dict | None:
    if path is None:
        return None
    import json

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise TrainError(f'--split {path}: cannot read it as split.json ({exc}); make the holdout again '
                         '(utils.data.split.make_holdout).') from None


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
    p.add_argument('--final-fit', action='store_true',
                   help='train on train + val for the test submission (val scores of that model are not honest); '
                   '2025-26 configs: on every training pair, the holdout included')
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE', help='override config keys (MMEngine syntax)')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                   help="job launcher; use 'pytorch' under torchrun")
    p.add_argument('--edition', choices=EDITIONS, default=DEFAULT_EDITION,
                   help="the course's rules to enforce (2025: fewer than 1,821,085 parameters, no pretrained "
                        "weights; a config saying edition = '2025' always gets them)")
    p.add_argument('--split', help='split.json of a 2025-26 holdout: train on its train stems, validate on the holdout')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.launcher != 'none':
        os.environ.setdefault('LOCAL_RANK', str(a.local_rank))
    try:
        result = train(a.config, a.data_root, a.work_dir, max_iters=a.max_iters, amp=a.amp, resume=a.resume,
                       smoke=True if a.smoke else None, cfg_options=_parse_cfg_options(a.cfg_options),
                       launcher=a.launcher, channels_last=a.channels_last, final_fit=a.final_fit,
                       edition=a.edition, split=_read_split(a.split))
    except KeyboardInterrupt:
        print('interrupted: the newest checkpoint in the work_dir is kept; run the same command to resume.',
              file=sys.stderr)
        return 130
    except Exception as exc:  # one message naming the file and the fix; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    print(f"work_dir: {result['work_dir']}\nlast checkpoint: {result['checkpoint']}\n"
          f"best checkpoint: {result['best']}\nval metrics: {result['metrics']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
