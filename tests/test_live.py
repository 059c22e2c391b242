"""The hooks a training cell runs (utils.plugins.live's progress bar and live curves, utils.plugins.checkpoint_hook's best
checkpoint), on a real MMEngine Runner: a tiny model trained for a few iterations on the synthetic data, as 02 and
03 train (``utils.train.train`` with ``extra_hooks``), stage 1 then stage 2 resumed from it.

What the hooks produce is checked against what MMEngine itself kept: the per-iteration losses in the checkpoint's
message hub, the validation numbers in ``scalars.json``, the checkpoints on disk."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import torch
from conftest import SMOKE_CONFIG
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from utils.core import checkpoints
from utils.plugins.live import LiveCurveHook

BN = dict(type='BN', requires_grad=True)
#: the seed smoke config with a ResNet-18 of 8 base channels and a one-conv FCN head: the same Runner, loops,
#: data, hooks and checkpoints as the seed recipe, trained in a second on a CPU
TINY = {'model.backbone': dict(_delete_=True, type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                               out_indices=(3,), norm_cfg=BN),
        'model.decode_head': dict(_delete_=True, type='FCNHead', in_channels=64, in_index=0, channels=16, num_convs=1,
                                  concat_input=False, num_classes=19, norm_cfg=BN, align_corners=False,
                                  loss_decode=dict(type='PixelMeanCrossEntropyLoss', loss_weight=1.0)),
        'model.auxiliary_head': None}
#: the val mIoU each validation reports (stage 1 validates at 2, 4, 6; stage 2 at 8): a tiny model on synthetic
#: faces scores the same every time, so a test hook sets the score a better and a worse model would have
SCORES = {2: 10.0, 4: 30.0, 6: 20.0, 8: 5.0}
LIVE: list[LiveCurveHook] = []


@HOOKS.register_module(force=True)
class KeptLiveCurveHook(LiveCurveHook):
    """utils.plugins.live.LiveCurveHook, kept where the test can read it after training."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        LIVE.append(self)


@HOOKS.register_module(force=True)
class ScriptedValScore(Hook):
    """Sets the validation's mIoU to :data:`SCORES` before any other hook reads the metrics."""

    priority = 'HIGHEST'

    def after_val_epoch(self, runner, metrics=None) -> None:
        metrics['mIoU'] = SCORES[runner.iter]


def _stage(root, work_dir, title, **kw) -> dict:
    from utils.train import train

    out, err = io.StringIO(), io.StringIO()
    hooks = [dict(type='ScriptedValScore'), dict(type='ProgressBarHook', title=title),
             dict(type='KeptLiveCurveHook', interval=2, title=title)]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = train(SMOKE_CONFIG, root, work_dir, smoke=dict(size=64, max_iters=4), quiet=True, cfg_options=TINY,
                       extra_hooks=hooks, **kw)
    return dict(result=result, live=LIVE[-1], stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture(scope='module')
def stages(synthetic_root, tmp_path_factory):
    """Stage 1 (6 iterations) in a notebook, its figures caught where IPython would show them; stage 2 (to 8,
    resumed from stage 1 into its own work_dir) outside one."""
    import IPython
    import IPython.display
    import tqdm.auto  # noqa: F401  (chosen for a terminal before IPython is faked below)

    root = tmp_path_factory.mktemp('live')
    shown: list[tuple[str, object]] = []

    class Handle:
        def update(self, fig):
            shown.append(('update', fig))

    def display(obj, display_id=False, **kw):
        shown.append(('display', obj))
        return Handle()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IPython.display, 'display', display)
        with pytest.MonkeyPatch.context() as notebook:
            notebook.setattr(IPython, 'get_ipython', lambda: object())
            first = _stage(synthetic_root, root / 'stage1', 'stage 1', max_iters=6, resume='none')
        first['shown'] = list(shown)
        shown.clear()
        second = _stage(synthetic_root, root / 'stage2', 'stage 2', max_iters=8, resume=root / 'stage1')
        second['shown'] = list(shown)
    return first, second


def _raw_losses(checkpoint: Path) -> list[float]:
    """The loss of every iteration so far, as MMEngine's message hub keeps it in the checkpoint."""
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    return [float(v) for v in ckpt['message_hub']['log_scalars']['train/loss'].data[0]]


def _val_rows(result: dict) -> list[dict]:
    rows = [json.loads(line) for line in (Path(result['log_dir']) / 'vis_data' / 'scalars.json').read_text().splitlines()]
    return [r for r in rows if 'val_loss' in r]


def test_live_curves_hold_every_loss_and_validation_of_the_run(stages):
    first, second = stages
    losses = _raw_losses(first['result']['work_dir'] / 'iter_6.pth')
    assert [it for it, _ in first['live'].loss] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in first['live'].loss] == pytest.approx(losses)
    assert first['live'].key == 'mIoU' and first['live'].miou == [(2, 10.0), (4, 30.0), (6, 20.0)]
    assert first['live'].val_loss == [(r['step'], pytest.approx(r['val_loss'])) for r in _val_rows(first['result'])]
    # stage 2 draws its own iterations only, its losses those MMEngine carried on with after the resume
    resumed = _raw_losses(second['result']['work_dir'] / 'iter_8.pth')
    assert [it for it, _ in second['live'].loss] == [7, 8] and resumed[:6] == pytest.approx(losses)
    assert [v for _, v in second['live'].loss] == pytest.approx(resumed[6:])
    assert second['live'].miou == [(8, 5.0)]


def test_live_figure_is_one_output_redrawn_with_the_runs_numbers(stages):
    first, second = stages
    kinds = [kind for kind, _ in first['shown']]
    assert kinds[0] == 'display' and set(kinds[1:]) == {'update'} and len(kinds) >= 4  # one output, redrawn
    loss_ax, miou_ax = first['shown'][-1][1].axes
    assert loss_ax.get_title() == 'training loss (iteration 6)' and miou_ax.get_title() == 'val mIoU'
    train_line, val_line = loss_ax.lines
    assert list(train_line.get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert list(train_line.get_ydata()) == pytest.approx([v for _, v in first['live'].loss])
    assert list(val_line.get_ydata()) == pytest.approx([r['val_loss'] for r in _val_rows(first['result'])])
    assert list(miou_ax.lines[0].get_xdata()) == [2, 4, 6] and list(miou_ax.lines[0].get_ydata()) == [10, 30, 20]
    assert second['shown'] == []  # outside a notebook nothing is displayed (the curves are still kept)


def test_progress_bar_runs_from_where_the_stage_starts_and_writes_each_validation(stages):
    first, second = stages
    said = [(int(i), float(v)) for i, v in re.findall(r'iteration (\d+): val mIoU ([\d.]+)', first['stdout'])]
    assert said == [(2, 10.0), (4, 30.0), (6, 20.0)]
    assert first['stderr'].index('0/6') < first['stderr'].rindex('6/6')
    start, end = second['stderr'].index('6/8'), second['stderr'].rindex('8/8')
    assert start < end and '0/8' not in second['stderr']  # a resumed stage starts at its first iteration
    assert re.findall(r'iteration (\d+): val mIoU ([\d.]+)', second['stdout']) == [('8', '5.00')]


def test_the_best_checkpoint_follows_the_best_validation_and_each_stage_keeps_its_own(stages):
    """The best-of-validation file is replaced by a better score (10 -> 30) and kept through a worse one (20), with
    no copy left aside; stage 2 keeps a best of its own, however it scores."""
    first, second = stages
    one, two = first['result']['work_dir'], second['result']['work_dir']
    assert sorted(p.name for p in one.glob('*best*')) == ['best_mIoU_iter_4.pth']
    assert first['result']['best'] == one / 'best_mIoU_iter_4.pth'
    checkpoints.verify_checkpoint(one / 'best_mIoU_iter_4.pth')
    assert torch.load(one / 'best_mIoU_iter_4.pth', map_location='cpu', weights_only=False)['meta']['iter'] == 4
    assert sorted(p.name for p in two.glob('*best*')) == ['best_mIoU_iter_8.pth']
    assert not list(one.glob('.*previous')) and not list(two.glob('.*previous'))
