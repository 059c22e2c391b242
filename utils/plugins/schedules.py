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
