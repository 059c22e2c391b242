"""What the notebooks share: the run plan (recipe, smoke or real, where data and work go), live curves, checkpoints.

A notebook's ``parameters`` cell sets a few knobs; :func:`make_plan` turns them into every path,
config and iteration count the six notebooks need, so each notebook computes the same plan.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .checkpoints import final_checkpoint as _final_checkpoint
from .config import RECIPES, resolve_config
from .labels import REPO_ROOT
from .layout import SMOKE_SIZE, image_dir, mask_dir


@dataclass
class Plan:
    """Everything a notebook needs to know about this run."""

    smoke: bool
    recipe: str
    config_20k: str
    config_30k: str | None
    data_source: str
    data_root: Path
    work_dir_20k: Path
    work_dir_30k: Path | None
    iters_20k: int | None  # None: the config's own (20,000)
    iters_30k: int | None
    amp: bool
    tta: str

    @property
    def test_images(self) -> Path:
        """The test images to predict (``<data_root>/test/test_image``)."""
        return image_dir(self.data_root, 'test')

    @property
    def val_masks(self) -> Path:
        """The val ground truth (``<data_root>/val/val_mask``), the reference of the submission check."""
        return mask_dir(self.data_root, 'val')

    @property
    def test_masks(self) -> Path:
        """Test ground truth (``<data_root>/test/test_mask``): synthetic data has it, the course's is hidden."""
        return mask_dir(self.data_root, 'test')

    @property
    def submission_zip(self) -> Path:
        """Where notebook 05 writes the zip: next to the work_dirs (on Drive in Colab)."""
        return self.work_dir_20k.parent / 'submission.zip'

    def smoke_options(self, max_iters: int | None) -> dict | None:
        """The ``smoke=`` argument of :func:`utils.train.train` for this plan."""
        return dict(size=SMOKE_SIZE, max_iters=max_iters) if self.smoke else None

    def frame(self):
        """The plan as a two-column table."""
        import pandas as pd

        return pd.DataFrame([(k, str(v)) for k, v in asdict(self).items()], columns=['setting', 'value']).set_index('setting')


def make_plan(smoke: bool | None = None, recipe: str = 'seed', data_source: str | None = None,
              data_root: str | os.PathLike | None = None, work_root: str | os.PathLike | None = None,
              iters_20k: int | None = None, iters_30k: int | None = None, tta: str = 'flip',
              amp: bool | None = None) -> Plan:
    """Resolve a notebook's parameters. ``smoke=None`` means: smoke run exactly when no CUDA GPU is present."""
    import torch

    from . import env

    if recipe not in RECIPES:
        raise ValueError(f'Unknown RECIPE {recipe!r}: choose one of {", ".join(RECIPES)}.')
    gpu = torch.cuda.is_available()
    smoke = (not gpu) if smoke is None else bool(smoke)
    config_20k, config_30k = RECIPES[recipe]
    if smoke:
        work_root = Path(work_root) if work_root else REPO_ROOT / 'work_dirs' / 'smoke'
        data_source = data_source or 'synthetic'
        data_root = Path(data_root) if data_root else work_root / 'data'
        iters_20k, iters_30k = iters_20k or 60, iters_30k or 90
    else:
        work_root = Path(work_root) if work_root else env.default_work_root()
        data_root = Path(data_root) if data_root else Path('/content/data/celebamask' if env.in_colab()
                                                           else REPO_ROOT / 'data' / 'celebamask')
        if not data_source:
            data_source = str(data_root)
    return Plan(smoke=smoke, recipe=recipe, config_20k=config_20k, config_30k=config_30k,
                data_source=str(data_source), data_root=Path(data_root),
                work_dir_20k=Path(work_root) / config_20k,
                work_dir_30k=Path(work_root) / config_30k if config_30k else None,
                iters_20k=iters_20k, iters_30k=iters_30k if config_30k else None,
                amp=gpu if amp is None else bool(amp and gpu), tta=tta)


def final_checkpoint(plan: Plan) -> Path:
    """The checkpoint to evaluate/submit: the best-mIoU one of the last stage that has one, else its newest."""
    try:
        return _final_checkpoint(plan.work_dir_30k, plan.work_dir_20k)
    except FileNotFoundError:
        raise FileNotFoundError(f'No checkpoint in {plan.work_dir_30k} or {plan.work_dir_20k}: run notebook 02 '
                                '(and 03) first.') from None


# --------------------------------------------------------------------------- the LR/momentum schedule
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


# --------------------------------------------------------------------------- live curves
@HOOKS.register_module()
class LiveCurveHook(Hook):
    """Redraw the training loss and val mIoU in a notebook output every ``interval`` iterations."""

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 50) -> None:
        self.interval = max(1, int(interval))
        self.loss: list[tuple[int, float]] = []
        self.miou: list[tuple[int, float]] = []
        self._handle = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if outputs and 'loss' in outputs:
            self.loss.append((runner.iter + 1, float(outputs['loss'].detach())))
        if (runner.iter + 1) % self.interval == 0:
            self._draw(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics and 'mIoU' in metrics:
            self.miou.append((runner.iter, float(metrics['mIoU'])))
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
        a1.plot(it, loss, lw=0.8)
        a1.set(title=f'training loss (iteration {it[-1]:,})', xlabel='iteration')
        if self.miou:
            vi, vm = zip(*self.miou)
            a2.plot(vi, vm, 'o-')
        a2.set(title='val mIoU', xlabel='iteration')
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
