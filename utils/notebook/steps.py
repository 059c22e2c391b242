"""What 02-05 do after their set-up, as calls a notebook cell reads: train a stage, look at its checkpoints and curves,
evaluate, predict and package. Each stops with one message on a known failure (:func:`utils.notebook.cells.guard`).

The 2022 edition validates on the val split and submits one zip of masks; the 2025-26 edition validates on the
holdout carved from the training pairs (``split.json`` of stage 1), tunes per-class decoding biases there, and submits
two zips (the dev phase's masks, the test phase's masks with the proven ``solution/``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from utils.notebook import narrate
from utils.core.config import FINAL_FIT_SUFFIX
from utils.notebook.cells import StopRun, guard, say, show
from utils.notebook.workflow import Plan


# --------------------------------------------------------------------------- training, as 02 and 03 run it
def train_stage(plan: Plan, number: int) -> dict | None:
    """Train stage 1 (02) or stage 2 (03) as the plan decides it (:meth:`~utils.notebook.workflow.Plan.stage`), with a
    progress bar and live curves.

    Stage 1 resumes its own newest intact checkpoint after a disconnect. 2022's stage 2 continues from its own,
    else from stage 1's last; 2025's stage 2 is the final fit on all training pairs, as long as stage 1 took to its
    best holdout F (unless ITERS_30K says otherwise). Returns :func:`utils.train.train`'s result (None: the recipe
    has no stage 2).
    """
    from utils.core.checkpoints import list_checkpoints
    from utils.train import train

    stage = plan.stage(number)
    if stage is None:
        print(f'The {plan.recipe!r} recipe has no stage 2: go on to 04_evaluate.')
        return None
    iters = stage.iters
    if number == 2 and not (list_checkpoints(plan.work_dir_20k) or list_checkpoints(stage.work_dir)):
        raise StopRun(f'No stage-1 checkpoint in {plan.work_dir_20k}.\nWhat to do: run 02_train_20k first.')
    if number == 2 and iters is None and plan.edition != '2022':
        iters = best_iteration(plan.work_dir_20k)
        print(f'The final fit trains {iters:,} iterations: where stage 1 reached its best holdout F '
              '(ITERS_30K sets another length).')
    smoke = plan.smoke_options(iters) if plan.smoke else None
    hooks = [dict(type='ProgressBarHook', title=f'stage {number} ({plan.recipe})'),
             dict(type='LiveCurveHook', interval=5 if plan.smoke else 200, title=f'Stage {number}, {plan.title}')]
    with guard(stage.work_dir, kept=False):  # a known failure (data, checkpoint, weights, a full Drive): one message
        result = train(stage.config, plan.data_root, stage.work_dir, max_iters=iters, amp=plan.amp,
                       resume=stage.resume, smoke=smoke, quiet=True, extra_hooks=hooks, final_fit=stage.final_fit)
    if number == 2 and plan.edition != '2022':
        carry_biases(plan, result)
    shown = ', '.join(f'{k} {v:.4f}' if k == 'imgF' else f'{k} {v:.2f}' for k, v in result['metrics'].items())
    print(f'{"holdout" if plan.edition != "2022" else "val"} after stage {number}: {shown}')
    print(f"full log: {result['log_dir']}")
    return result


def best_iteration(work_dir: Path) -> int:
    """The iteration of the best checkpoint in ``work_dir`` (``best_<metric>_iter_N.pth``), else of its newest."""
    import re

    from utils.core.checkpoints import best_or_newest

    found = best_or_newest(work_dir)
    m = re.search(r'iter_(\d+)\.pth$', found.name) if found else None
    if not m:
        raise StopRun(f'No stage-1 checkpoint in {work_dir}.\nWhat to do: run 02_train_20k first.')
    return int(m.group(1))


def tune_biases(plan: Plan):
    """02 under the 2025-26 rules: per-class decoding biases for stage 1's best checkpoint, tuned on the holdout for
    the mean per-image F (:func:`utils.core.bias.tune`) and kept in the checkpoint; a table of the biases and its
    reading. Nothing under the 2022 rules (mIoU, a dataset-level score, is not what the biases serve)."""
    import pandas as pd

    from utils.core.bias import tune
    from utils.core.checkpoints import best_or_newest
    from utils.data.split import read_split
    from utils.base.labels import CLASSES

    if plan.edition == '2022':
        print('The 2022 rules score mIoU over the whole test set: no per-class decoding biases are tuned.')
        return None
    ckpt = best_or_newest(plan.work_dir_20k)
    if ckpt is None:
        raise StopRun(f'No checkpoint in {plan.work_dir_20k} to tune: the training above did not save one.')
    with guard(plan.work_dir_20k):
        split = read_split(plan.work_dir_20k, plan.data_root)
        tuned = tune(ckpt, plan.data_root, split['holdout'], tta=plan.tta)
    table = pd.DataFrame({'bias': tuned['class_bias']}, index=list(CLASSES))
    show(table.T.style.format('{:+.2f}').background_gradient(cmap='RdBu', axis=1, vmin=-2, vmax=2)
         .set_caption(f'Per-class decoding biases of {ckpt.name}, tuned on the {tuned["holdout_images"]} holdout '
                      'images'), narrate.biases(tuned))
    return tuned


def carry_biases(plan: Plan, result: dict) -> None:
    """The final fit (2025-26 stage 2) has no holdout of its own to tune on: it decodes with stage 1's biases, said
    so in its class_bias.json."""
    from utils.core.bias import save_class_bias
    from utils.core.checkpoints import best_or_newest
    from utils.core.class_bias import read_class_bias

    source, target = best_or_newest(plan.work_dir_20k), result.get('best') or result.get('checkpoint')
    bias = read_class_bias(source) if source is not None else None
    if target is None or bias is None:
        return
    save_class_bias(target, bias, {'copied_from': source.name,
                                   'note': 'tuned on stage 1\'s holdout, which the final fit trained on: copied'})
    print(f'The final fit ({target.parent.name}/{target.name}) decodes with the per-class biases of stage 1 '
          f'({source.parent.name}/{source.name}), tuned on the holdout before the final fit trained on it.')


def stage_results(plan: Plan, stage: int):
    """02/03's closing cell: the stage's checkpoints (stage 2: both stages') as a table, and the training curves,
    each with its reading. Nothing for a recipe without a second stage."""
    from utils.core.checkpoints import checkpoint_table
    from utils.core.metrics import plot_curves, read_scalars

    if stage == 2 and plan.config_30k is None:
        return None
    work_dirs = [plan.work_dir_20k] if stage == 1 else plan.trained_work_dirs if plan.edition == '2022' \
        else [plan.work_dir_30k]
    where = plan.work_root.relative_to(plan.keep_dir.parent) if plan.keep_dir and plan.work_root.is_relative_to(
        plan.keep_dir.parent) else plan.work_root.name
    table = checkpoint_table(*work_dirs)
    show(table.style.format({'MB': '{:,.1f}'}).hide(axis='index')
         .set_caption(f'Checkpoints of {"stage 1" if stage == 1 else "both stages"}, in {where}/'),
         narrate.checkpoints(table))
    with guard():  # a stage without a log yet is one message
        scalars = read_scalars(work_dirs)
    show(plot_curves(scalars, title=f'{"Stage 1 training curves" if stage == 1 else "Both stages"}, {plan.title}'),
         narrate.training(scalars))


class RunEvaluation(NamedTuple):
    """04's results: without TTA (as the report measured), with the plan's TTA (None when that is 'none') and, under
    the 2025-26 rules, with TTA and the checkpoint's per-class biases (None without biases)."""
    plain: Any
    with_tta: Any
    with_bias: Any = None

    @property
    def shown(self):
        """What the per-class table, confusion matrix and inspector show: the way the submission will predict."""
        return self.with_bias or self.with_tta or self.plain


def evaluate_run(plan: Plan, ckpt, model=None) -> RunEvaluation:
    """04's evaluation of ``ckpt`` (a path, or the checkpoint :func:`utils.core.checkpoints.open_checkpoint` read) on val:
    once without TTA and once with the plan's, from one loaded model (``model``: the notebook's ``Segmenter``, else
    loaded here)."""
    import warnings

    from utils.core.checkpoints import checkpoint_path
    from utils.evaluate import evaluate
    from utils.core.inference import Segmenter
    from utils.plugins.record import is_final_fit

    path = checkpoint_path(ckpt)
    if plan.edition != '2022':
        return _evaluate_holdout(plan, ckpt, model)
    if plan.final_fit or is_final_fit(path):  # known from the run's own record, not its folder's name
        say(f'**NOT HONEST: {path.parent.name} is a final fit, trained on train + val.** Its val scores below '
            'measure images it was trained on, so they overstate it; the honest val score is that of the run '
            'the recipe was chosen with (FINAL_FIT = False). Use this model for the test submission (05).')
    config = plan.checkpoint_config  # None: the config training wrote beside it, else the one its run name names
    with guard(path.parent), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*is a final fit, trained on train')  # said above, in bold
        model = model or Segmenter.from_checkpoint(ckpt, config=config)
        plain = evaluate(ckpt, plan.data_root, split='val', tta='none', config=config, segmenter=model)
        with_tta = (evaluate(ckpt, plan.data_root, split='val', tta=plan.tta, config=config, segmenter=model)
                    if plan.tta != 'none' else None)
    return RunEvaluation(plain, with_tta)


def _evaluate_holdout(plan: Plan, ckpt, model=None) -> RunEvaluation:
    """2025-26: ``ckpt`` scored on stage 1's holdout (the val images have no masks) by the leaderboard's per-image F:
    plain, with TTA, and with TTA and the per-class biases, from one loaded model."""
    from utils.core.checkpoints import checkpoint_path
    from utils.data.split import read_split
    from utils.evaluate import evaluate
    from utils.core.inference import Segmenter
    from utils.plugins.record import is_final_fit

    path = checkpoint_path(ckpt)
    if is_final_fit(path):
        say(f'**NOT HONEST: {path.parent.name} is the final fit, trained on every pair, the holdout too.** Its holdout '
            'F below measures images it was trained on; judge the recipe by stage 1\'s best checkpoint (the default '
            'here), and submit the final fit (05).')
    config = plan.checkpoint_config
    with guard(path.parent):
        split = read_split(plan.work_dir_20k, plan.data_root)
        model = model or Segmenter.from_checkpoint(ckpt, config=config)
        common = dict(split='train', stems=split['holdout'], config=config, segmenter=model)
        plain = evaluate(ckpt, plan.data_root, tta='none', class_bias=False, **common)
        with_tta = evaluate(ckpt, plan.data_root, tta=plan.tta, class_bias=False, **common) \
            if plan.tta != 'none' else None
        with_bias = evaluate(ckpt, plan.data_root, tta=plan.tta, class_bias=True, **common) \
            if getattr(model, 'class_bias', None) is not None else None
    return RunEvaluation(plain, with_tta, with_bias)


def recipes_side_by_side(plan: Plan):
    """04's last table: every recipe evaluated in this run's work root (its latest val evaluation per TTA), next to
    the report's best run: mIoU without and with TTA, the TTA gain, and the IoU of every class. None when only one
    recipe (or none) has been evaluated."""
    import pandas as pd

    from utils.core.config import RECIPES
    from utils.core.metrics import load_seed_tables
    from utils.plugins.record import is_final_fit

    seed = load_seed_tables()
    columns = {'report (best run)': pd.concat([pd.Series({'mIoU': seed['summary'].loc['best', 'mIoU']}),
                                               seed['best']['IoU']])}
    for recipe, configs in RECIPES.items():
        found: set[str] = set()  # '' and/or the final-fit suffix: each taken from the last stage that has one
        for config in filter(None, configs[::-1]):  # the last stage's evaluations first
            for suffix in [s for s in ('', FINAL_FIT_SUFFIX) if s not in found]:
                evals = sorted((plan.work_root / (config + suffix) / 'eval').glob('*_val_*/summary.json'),
                               key=lambda p: p.stat().st_mtime)
                by_tta = {json.loads(p.read_text()).get('tta'): p.parent for p in evals}
                if not by_tta:
                    continue
                plain = by_tta.get('none') or next(iter(by_tta.values()))
                per_class = pd.read_csv(plain / 'per_class.csv', index_col=0)['IoU']
                row = {'mIoU': json.loads((plain / 'summary.json').read_text())['mIoU'] if 'none' in by_tta
                       else float('nan')}  # the plain row holds only a run without TTA
                tta = [t for t in by_tta if t != 'none']
                if tta:
                    row[f'mIoU, TTA {tta[-1]}'] = json.loads((by_tta[tta[-1]] / 'summary.json').read_text())['mIoU']
                    row['TTA gain'] = row[f'mIoU, TTA {tta[-1]}'] - row['mIoU']
                honest = not is_final_fit(plan.work_root / (config + suffix))  # its record says, not its name
                columns[recipe + ('' if honest else ' (final fit: val not honest)')] = pd.concat([pd.Series(row),
                                                                                                 per_class])
                found.add(suffix)
    if len(columns) < 3:
        return None
    table = pd.DataFrame(columns)
    order = ['mIoU'] + [r for r in table.index if r.startswith('mIoU,')] + ['TTA gain'] + list(seed['best'].index)
    return (table.reindex([r for r in order if r in table.index]).style.format('{:.2f}', na_rep='n/a')
            .set_caption('Every recipe evaluated in this run (val, the latest evaluation of its final stage), against '
                         'the report: mIoU, TTA, then IoU per class'))


def show_recipes(plan: Plan) -> None:
    """04: :func:`recipes_side_by_side` with its reading, or a line saying how to get a second recipe to compare."""
    table = recipes_side_by_side(plan)
    if table is None:
        print(f'Only the {plan.recipe!r} recipe has been evaluated in this run: train another one (RECIPE in 00_setup, '
              'then 02-04) to see them side by side here.')
        return
    show(table, narrate.recipes(table.data))


def submit_run(plan: Plan, ckpt):
    """05's prediction of the test set with ``ckpt`` (a path, or the checkpoint :func:`utils.core.checkpoints.open_checkpoint`
    read, which is then not read again): masks kept between runs of the same checkpoint and TTA (any
    other is predicted again), zipped, and checked against the val masks' class shares before it is written."""
    from utils.submit.package import make_submission

    if plan.edition != '2022':
        return _submit_2025(plan, ckpt)
    with guard(plan.work_root):
        return make_submission(ckpt, plan.test_images, plan.submission_zip, tta=plan.tta, reference=plan.val_masks,
                               strict=not plan.smoke, replace_other_run=True, config=plan.checkpoint_config)


def deliver(plan: Plan, submission) -> None:
    """05's last step: the leaderboard's score where test masks exist (synthetic data; the course's are hidden),
    and the download."""
    from utils.submit.package import offer_download
    from utils.submit.score import score_submission

    if plan.test_masks.is_dir() and plan.edition == '2022':
        scored = score_submission(submission.zip_path, plan.test_masks)
        show(scored.table(), narrate.score(scored))
    for zip_path in ([submission.dev.zip_path] if getattr(submission, 'dev', None) else []) + [submission.zip_path]:
        offer_download(zip_path)  # a smoke zip is named so, and the closing says it is never uploaded


def _submit_2025(plan: Plan, ckpt):
    """2025-26: the dev phase's zip (masks of the val images) and the test phase's (masks of the test images with
    ``solution/``, whose ``run.py`` was run in a fresh environment made from its requirements alone and reproduced
    every mask). Returns the test phase's :class:`~utils.submit.leaderboard.LeaderboardZip` (``.dev``: the other)."""
    from utils.submit.leaderboard import build_2025_submissions

    with guard(plan.work_root):
        zips = build_2025_submissions(ckpt, plan.val_images, plan.test_images, plan.work_root,
                                      name=plan.submission_stem, config=plan.checkpoint_config, tta=plan.tta)
    for phase in ('dev', 'test'):
        print(zips[phase])
    zips['test'].dev = zips['dev']
    return zips['test']
