"""What a training cell shows while it runs: a progress bar with ETA and live loss / validation-metric curves.

The validation metric is the config's ``save_best`` (mIoU for the 2022 recipes, the per-image F ``imgF`` for 2025-26).

Both are MMEngine hooks, added by the notebooks through ``utils.train.train(..., extra_hooks=[...])``;
MMEngine's own per-iteration lines go to the run's log file (``train(quiet=True)``).
"""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A tqdm bar over the training iterations (resumed runs start where they left off), loss and LR in its label."""

    priority = 'VERY_LOW'

    def __init__(self, title: str = 'train') -> None:
        self.title = title
        self._bar = None

    def before_train(self, runner) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=runner.max_iters, initial=runner.iter, desc=self.title, unit='it',
                         dynamic_ncols=True, mininterval=2.0)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._bar is None:
            return
        self._bar.update(runner.iter + 1 - self._bar.n)
        if outputs and 'loss' in outputs and (runner.iter + 1) % 10 == 0:
            lr = runner.optim_wrapper.get_lr()['lr'][0]
            self._bar.set_postfix(loss=f'{float(outputs["loss"].detach()):.3f}', lr=f'{lr:.2e}', refresh=False)

    def after_val_epoch(self, runner, metrics=None) -> None:
        from utils.core.config import best_metric, format_metric

        key = best_metric(getattr(runner, 'cfg', None) or {})
        if self._bar is not None and metrics and key in metrics:
            self._bar.write(f'iteration {runner.iter:,}: val {format_metric(key, metrics[key])}')

    def after_train(self, runner) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@HOOKS.register_module()
class LiveCurveHook(Hook):
    """Redraw the training loss and the val metric (the config's ``save_best``) every ``interval`` iterations."""

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 50, title: str = '') -> None:
        self.interval = max(1, int(interval))
        self.title = title
        self.loss: list[tuple[int, float]] = []
        self.miou: list[tuple[int, float]] = []  # the val metric's values (mIoU or imgF: self.key)
        self.key = 'mIoU'
        self.val_loss: list[tuple[int, float]] = []  # utils.plugins.record's decode-head loss on val
        self._handle = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if outputs and 'loss' in outputs:
            self.loss.append((runner.iter + 1, float(outputs['loss'].detach())))
        if (runner.iter + 1) % self.interval == 0:
            self._draw(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        from utils.core.config import best_metric

        self.key = best_metric(getattr(runner, 'cfg', None) or {})
        if metrics and self.key in metrics:
            self.miou.append((runner.iter, float(metrics[self.key])))
            if 'val_loss' in metrics:
                self.val_loss.append((runner.iter, float(metrics['val_loss'])))
            self._draw(runner)

    def after_train(self, runner) -> None:
        self._draw(runner)

    def _draw(self, runner) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None or not self.loss:
            return
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 2.8), layout='constrained')
        a1, a2 = fig.subplots(1, 2)
        it, loss = zip(*self.loss)
        a1.plot(it, loss, lw=0.8, label='training loss')
        if self.val_loss:
            a1.plot(*zip(*self.val_loss), 'o-', color='tab:red', label='val loss (decode head)')
            a1.legend(fontsize=8)
        a1.set(title=f'training loss (iteration {it[-1]:,})', xlabel='iteration')
        if self.miou:
            vi, vm = zip(*self.miou)
            a2.plot(vi, vm, 'o-')
        a2.set(title=f'val {self.key}', xlabel='iteration')
        if self.title:
            fig.suptitle(self.title, fontsize=10)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
