"""The seed's cyclic LR/momentum schedule (mmcv 1.x ``policy='cyclic'``) for MMEngine, and a momentum logger.

mmcv 1.x's ``CyclicLrUpdaterHook(target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4)``
sets, at iteration ``i`` of ``total`` (0-based), with ``up = int(0.4 * total)``::

    i <  up:  cos-anneal from base          to base * ratio[0]   over [0, up)
    i >= up:  cos-anneal from base*ratio[0] to base * ratio[1]   over [up, total)
    cos_anneal(start, end, f) = end + (start - end) * (1 + cos(pi * f)) / 2

The same shape drives momentum with ratios ``(0.85/0.95, 1)``. MMEngine has no such policy, so
:class:`CyclicCosineParamScheduler` computes it in closed form from the global iteration.

Resuming: only the step counters are saved in a checkpoint, never the cycle length, so a config
that resumes with a longer ``total_iters`` recomputes the cycle over the new length, exactly as
the mmcv hook did when the seed resumed 20k -> 30k (LR jumps back to ~0.059 at iteration 20,000
and anneals again to 1e-6 at 30,000). The value for the resumed iteration is applied at once.
"""
from __future__ import annotations

import math

from mmengine.hooks import Hook
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.registry import HOOKS, PARAM_SCHEDULERS

_SAVED_KEYS = ('last_step', '_global_step', '_last_value', 'base_values')


def cyclic_cosine(base: float, it: int, total_iters: int, target_ratio: tuple[float, float],
                  step_ratio_up: float = 0.4) -> float:
    """Value at 0-based iteration ``it`` of mmcv's one-cycle cosine policy (held at its end value past ``total_iters``)."""
    up = int(step_ratio_up * total_iters)
    start_ratio, peak_ratio, end_ratio = 1.0, target_ratio[0], target_ratio[1]
    if it >= total_iters:
        return base * end_ratio
    if it < up:
        lo, hi, r0, r1 = 0, up, start_ratio, peak_ratio
    else:
        lo, hi, r0, r1 = up, total_iters, peak_ratio, end_ratio
    factor = (it - lo) / (hi - lo)
    start, end = base * r0, base * r1
    return end + (start - end) * (math.cos(math.pi * factor) + 1) / 2


@PARAM_SCHEDULERS.register_module()
class CyclicCosineParamScheduler(_ParamScheduler):
    """One-cycle cosine schedule of any optimizer parameter, iteration based (see module docstring)."""

    def __init__(self, optimizer, param_name: str, total_iters: int, target_ratio=(10, 1e-4),
                 step_ratio_up: float = 0.4, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = False, verbose: bool = False) -> None:
        if total_iters <= 0 or not 0 < step_ratio_up < 1:
            raise ValueError(f'CyclicCosineParamScheduler needs total_iters > 0 and 0 < step_ratio_up < 1, '
                             f'got {total_iters}, {step_ratio_up}')
        self.total_iters = int(total_iters)
        self.target_ratio = tuple(target_ratio)
        self.step_ratio_up = float(step_ratio_up)
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> list[float]:
        return [cyclic_cosine(base, self.last_step, self.total_iters, self.target_ratio, self.step_ratio_up)
                for base in self.base_values]

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k in _SAVED_KEYS}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k in _SAVED_KEYS})
        # MMEngine's Runner gives every scheduler ``end = max_iters`` by default, so the last step of a
        # finished stage leaves ``last_step`` one behind the global step. The next stage (20k -> 30k)
        # must continue from the global step, or every later iteration lags by one.
        self.last_step = max(0, self._global_step - self.begin)
        if self.begin <= self.last_step < self.end:  # the resumed iteration follows this config's cycle
            for group, value in zip(self.optimizer.param_groups, self._get_value()):
                group[self.param_name] = value
            self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]


@PARAM_SCHEDULERS.register_module()
class CyclicLR(CyclicCosineParamScheduler):
    """Cyclic learning rate, as mmcv 1.x ``lr_config=dict(policy='cyclic', ...)``."""

    def __init__(self, optimizer, **kwargs) -> None:
        super().__init__(optimizer, param_name='lr', **kwargs)


@PARAM_SCHEDULERS.register_module()
class CyclicMomentum(CyclicCosineParamScheduler):
    """Cyclic SGD momentum, as mmcv 1.x ``momentum_config=dict(policy='cyclic', ...)``."""

    def __init__(self, optimizer, **kwargs) -> None:
        super().__init__(optimizer, param_name='momentum', **kwargs)


@HOOKS.register_module()
class MomentumLoggerHook(Hook):
    """Log the optimizer momentum as ``train/momentum`` next to ``train/lr`` every iteration."""

    priority = 'BELOW_NORMAL'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        groups = runner.optim_wrapper.optimizer.param_groups
        if groups and 'momentum' in groups[0]:
            runner.message_hub.update_scalar('train/momentum', float(groups[0]['momentum']))


# --------------------------------------------------------------------------- inspection
def _build_schedulers(cfg, optimizer) -> list:
    """The config's schedulers as MMEngine's Runner builds them (``end`` defaults to ``max_iters``)."""
    from mmengine.registry import PARAM_SCHEDULERS

    max_iters = cfg.train_cfg.max_iters
    return [PARAM_SCHEDULERS.build(dict({'end': max_iters, **s}, optimizer=optimizer)) for s in cfg.param_scheduler]


def schedule_trace(config: str, resume_config: str | None = None, every: int = 1):
    """LR and momentum used at each iteration of ``config`` (then of ``resume_config`` after resuming).

    Runs the real MMEngine schedulers from the config files on a one-parameter SGD, including the
    checkpoint round-trip of a resume, and returns a DataFrame with columns iter, lr, momentum, stage.
    """
    import pandas as pd
    import torch
    from mmengine.config import Config

    from .train import resolve_config

    rows = []

    def run(cfg, optimizer, schedulers, start: int, stage: int) -> None:
        for it in range(start, cfg.train_cfg.max_iters):
            if it % every == 0 or it == cfg.train_cfg.max_iters - 1:
                group = optimizer.param_groups[0]
                rows.append((it, group['lr'], group.get('momentum', float('nan')), stage))
            optimizer.step()
            for sched in schedulers:
                sched.step()

    param = torch.nn.Parameter(torch.zeros(1))
    cfg1 = Config.fromfile(str(resolve_config(config)))
    opt_kwargs = {k: v for k, v in cfg1.optim_wrapper.optimizer.items() if k != 'type'}
    optimizer = torch.optim.SGD([param], **opt_kwargs)
    schedulers = _build_schedulers(cfg1, optimizer)
    run(cfg1, optimizer, schedulers, 0, 1)
    if resume_config is not None:
        state = dict(optimizer=optimizer.state_dict(), schedulers=[s.state_dict() for s in schedulers])
        cfg2 = Config.fromfile(str(resolve_config(resume_config)))
        optimizer2 = torch.optim.SGD([param], **opt_kwargs)
        schedulers2 = _build_schedulers(cfg2, optimizer2)  # built fresh, then resumed, as Runner.resume does
        optimizer2.load_state_dict(state['optimizer'])
        for sched, sd in zip(schedulers2, state['schedulers']):
            sched.load_state_dict(sd)
        run(cfg2, optimizer2, schedulers2, cfg1.train_cfg.max_iters, 2)
    return pd.DataFrame(rows, columns=['iter', 'lr', 'momentum', 'stage'])


def plot_schedule(trace, title: str = 'LR and momentum schedule'):
    """Figure of a :func:`schedule_trace` frame: LR (left axis) and momentum (right), resume point marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax = fig.subplots()
    ax.plot(trace['iter'], trace['lr'], color='tab:blue', label='learning rate')
    ax.set_xlabel('iteration')
    ax.set_ylabel('learning rate', color='tab:blue')
    ax2 = ax.twinx()
    ax2.plot(trace['iter'], trace['momentum'], color='tab:orange', label='momentum')
    ax2.set_ylabel('momentum', color='tab:orange')
    if trace['stage'].nunique() > 1:
        resume_at = int(trace.loc[trace['stage'] == 2, 'iter'].min())
        ax.axvline(resume_at, color='grey', linestyle='--')
        ax.annotate(f'resume at {resume_at:,}', (resume_at, ax.get_ylim()[1] * 0.92), ha='right', fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
