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

from .labels import REPO_ROOT

#: recipe name -> (stage-1 config, stage-2 "resume to 30k" config or None, smoke stage-1 config)
RECIPES = {
    'seed': ('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512',
             'deeplabv3plus_r50-d8_ohem-cw_1xb4-30k_celebamask-512x512'),
    'improved': ('deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', None),
    'improved-r101': ('deeplabv3plus_r101-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', None),
}
SMOKE_SIZE = 64


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
    from .train import list_checkpoints

    for work_dir in (plan.work_dir_30k, plan.work_dir_20k):
        if work_dir is None or not work_dir.is_dir():
            continue
        best = sorted(work_dir.glob('best_mIoU_iter_*.pth'), key=os.path.getmtime)
        if best:
            return best[-1]
        newest = list_checkpoints(work_dir)
        if newest:
            return newest[0]
    raise FileNotFoundError(f'No checkpoint in {plan.work_dir_30k} or {plan.work_dir_20k}: run notebook 02 '
                            '(and 03) first, or set CHECKPOINT in the parameters cell.')


def checkpoint_table(*work_dirs: str | os.PathLike | None):
    """Checkpoints in the work_dirs: name, iteration, size in MB, time written."""
    import datetime as dt

    import pandas as pd

    rows = []
    for work_dir in work_dirs:
        if work_dir is None or not Path(work_dir).is_dir():
            continue
        for path in sorted(Path(work_dir).glob('*.pth'), key=os.path.getmtime):
            stat = path.stat()
            rows.append(dict(work_dir=Path(work_dir).name, checkpoint=path.name, MB=round(stat.st_size / 2**20, 1),
                             written=dt.datetime.fromtimestamp(stat.st_mtime).strftime('%Y-%m-%d %H:%M:%S')))
    return pd.DataFrame(rows, columns=['work_dir', 'checkpoint', 'MB', 'written'])


def model_summary(config: str) -> 'object':
    """Parameter counts of a config's model (built without downloading weights), as a small table."""
    import pandas as pd

    from .inference import build_model
    from .train import load_config

    model = build_model(load_config(config, work_dir='/tmp/unused'))
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    aux = sum(p.numel() for p in model.auxiliary_head.parameters()) if getattr(model, 'auxiliary_head', None) else 0
    return pd.DataFrame({'trainable parameters': [f'{total:,}', f'{total - aux:,}', f'{aux:,}']},
                        index=['whole model', 'used at test time (no auxiliary head)', 'auxiliary FCN head'])


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
