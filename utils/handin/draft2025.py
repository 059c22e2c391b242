"""The report draft under the 2025-26 rules (small model, from scratch, per-image F): its sections follow the grade
split (model and parameters against the cap, losses, optimization and regularization, experimental analysis over
every evaluation in the work root, results on the holdout, the test score, the machine), filled from the run."""
from __future__ import annotations

import ast
import re
from typing import Any

from utils.handin.block import Block
from utils.handin.draftparts import _machine_blocks, architecture, head_loss_words, short
from utils.handin.rundata import RunData

REFERENCES_2025 = (
    'C. Yu, C. Gao, J. Wang, G. Yu, C. Shen, N. Sang. BiSeNet V2: Bilateral Network with Guided Aggregation for '
    'Real-time Semantic Segmentation. IJCV 2021.',
    'R. P. K. Poudel, S. Liwicki, R. Cipolla. Fast-SCNN: Fast Semantic Segmentation Network. BMVC 2019.',
    'A. Howard, M. Sandler, G. Chu, et al. Searching for MobileNetV3 (LR-ASPP). ICCV 2019.',
    'C.-H. Lee, Z. Liu, L. Wu, P. Luo. MaskGAN: Towards Diverse and Interactive Facial Image Manipulation '
    '(CelebAMask-HQ). CVPR 2020.',
    'MMSegmentation Contributors. MMSegmentation: OpenMMLab Semantic Segmentation Toolbox and Benchmark. '
    'https://github.com/open-mmlab/mmsegmentation',
)
#: training-pipeline steps that only load or pack data (not augmentations)
_PLUMBING = ('LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs', 'CheckSegLabels', 'Resize')


def _literal(node: ast.AST) -> Any:
    """A config expression as data: literals, lists, tuples, dicts and ``dict(...)`` calls (nothing is run)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict':
        return {k.arg: _literal(k.value) for k in node.keywords if k.arg}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k is not None}
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def config_value(text: str, name: str) -> Any:
    """The value of a top-level ``name = ...`` of a resolved config, read without running it (None if absent)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return _literal(node.value)
    return None


def augmentations(run: RunData) -> list[str]:
    """The training pipeline's augmentation steps with their settings, from the last stage's resolved config."""
    text = next((t for t in reversed(run.configs) if t), '')
    pipeline = config_value(text, 'train_pipeline') or []
    out = []
    for step in pipeline:
        if not isinstance(step, dict) or step.get('type') in _PLUMBING:
            continue
        args = ', '.join(f'{k}={short(v)}' for k, v in step.items() if k != 'type')
        out.append(f"{step.get('type')}({args})")
    return out


def parameter_count(run: RunData) -> int | None:
    """The course's count (every parameter, ``sum(p.numel() for p in model.parameters())``): the record's count of
    every parameter where it keeps one (``parameters_all``), else the evaluation's count of the model that predicts,
    else the record's trainable count (the same for a model trained from scratch with nothing frozen)."""
    rec = run.record
    if isinstance(rec.get('parameters_all'), int):
        return rec['parameters_all']
    for ev in run.evals.values():
        if isinstance(ev['summary'].get('params'), int):
            return ev['summary']['params']
    return rec.get('parameters')


def _model_blocks(run: RunData, rules) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    out = [Block('heading', 'Model')]
    if recipe:
        arch, backbone = architecture(recipe)
        out.append(Block('para', f'The model is {arch} ({recipe.get("segmentor")} in MMSegmentation, backbone '
                                 f'{backbone}), trained from random initialisation: {rules.weights_words}. It is one '
                                 'model; test-time flipping averages two views of it.'))
    else:
        out.append(Block('todo', 'Describe the model: this run kept no run_record.json.'))
    count = parameter_count(run)
    out.append(Block('heading2', 'Number of parameters'))
    if count is None:
        return out + [Block('todo', f'Add the parameter count ({rules.count_formula}), below {rules.param_cap:,}.')]
    verdict = ('within the rules' if count < rules.param_cap else
               'OVER THE CAP: this model breaks the rules; shrink it before submitting')
    out += [Block('para', f'The model has {count:,} parameters, {100 * count / rules.param_cap:.1f}% of the cap: the '
                          f'course allows {rules.cap_words()} ({verdict}). Counted with the course formula on the '
                          'whole model, auxiliary heads included:'),
            Block('code', f'parameters = {rules.count_formula}\nprint(parameters)\n{count}')]
    return out


def _loss_blocks(run: RunData) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    heads = recipe.get('heads') or {}
    out = [Block('heading', 'Loss functions')]
    if not heads:
        return out + [Block('todo', 'Describe the losses: this run kept no run_record.json.')]
    for name, head in heads.items():
        out.append(Block('para', head_loss_words(name.replace('_', ' '), head, recipe.get('batch_size'))))
    out.append(Block('todo', 'Say why these losses for a per-image F: which classes they help (rare, small parts).'))
    return out


def _optimization_blocks(run: RunData, figures: dict) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    opt = recipe.get('optimizer') or {}
    out = [Block('heading', 'Optimization and regularization')]
    if opt:
        out.append(Block('para', f"{opt.get('type')} with learning rate {opt.get('lr')}, weight decay "
                                 f"{opt.get('weight_decay', 'none')}" + (f", momentum {opt['momentum']}"
                                                                        if 'momentum' in opt else '')
                         + f"; batch size {recipe.get('batch_size')}, {recipe.get('max_iters') or 0:,} iterations."))
    for sched in recipe.get('param_scheduler') or []:
        keys = ', '.join(f'{k}={short(v)}' for k, v in sched.items() if k not in ('type', 'by_epoch'))
        out.append(Block('code', f"{sched.get('type')}({keys})"))
    augs = augmentations(run)
    out.append(Block('para', 'Augmentations of the training pipeline: ' + ('; '.join(augs) if augs else
                                                                          'none beyond resizing') + '.'))
    if 'schedule' in figures:
        out.append(Block('figure', data='schedule', caption='Learning rate (and momentum) over the run'))
    out.append(Block('todo', 'What each did: the schedule, each augmentation and the weight decay, with the rows of '
                             'the experiment table that show it (or the run you would add to show it).'))
    return out


def _experiment_blocks(tables: dict, figures: dict, scalars) -> list[Block]:
    from utils.core.trends import overfitting

    out = [Block('heading', 'Experimental analysis')]
    table = tables.get('experiments')
    if table is None:
        out.append(Block('todo', 'No evaluation in the work root: evaluate each recipe (04_evaluate) on the holdout '
                                 'and build this again.'))
    else:
        out.append(Block('para', experiment_reading(table)))
        shown = table.drop(columns=['recipe']) if (table['recipe'] == '-').all() else table
        out.append(Block('table', data=shown, caption='Every evaluation in the work root on the holdout: '
                                                      'parameters, per-image F (0-1), TTA and class biases'))
    for name, caption in (('loss', 'Training and validation loss'), ('val_metrics', 'Scores on the holdout')):
        if name in figures:
            out.append(Block('figure', data=name, caption=caption))
    if scalars is not None:
        out.append(Block('para', overfitting(scalars)))
    return out


def _score(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def experiment_reading(table) -> str:
    """The best row of the experiment table, and the gains of flip TTA and of class biases on each config and
    checkpoint that was evaluated both ways (the rows differing only in that)."""
    rows = table.reset_index()
    rows['F'] = rows['holdout F'].map(_score)
    if rows['F'].notna().sum() == 0:
        return f'{len(rows)} evaluation(s) in the work root, none with a per-image F.'
    best = rows.loc[rows['F'].idxmax()]
    text = (f'{len(rows)} evaluation(s); the best holdout F is {best["F"]:.4f} ({best["config"]}, TTA {best["TTA"]}, '
            f'class biases {best["biases"]}).')
    for column, on, off, other, what in (('TTA', 'flip', 'none', 'biases', 'Flip TTA'),
                                         ('biases', 'yes', 'no', 'TTA', 'Class biases')):
        gains = []
        for (_, kept), group in rows.groupby(['config', other]):
            a, b = group.loc[group[column] == on, 'F'].max(), group.loc[group[column] == off, 'F'].max()
            if a == a and b == b:
                gains.append(a - b)
        if gains:
            text += f' {what}, holdout F gained: {", ".join(f"{g:+.4f}" for g in gains)}.'
    return text


def _results_blocks(run: RunData, tables: dict, rules) -> list[Block]:
    out = [Block('heading', 'Results')]
    fs = [(t, e['summary'].get('imgF')) for t, e in run.evals.items() if e['summary'].get('imgF') is not None]
    if fs:
        out.append(Block('para', 'Per-image F on the holdout (the leaderboard\'s metric, 0-1): '
                                 + '; '.join(f'TTA {t}: {float(f):.4f}' for t, f in fs) + '.'))
    else:
        out.append(Block('todo', 'State the holdout per-image F (04_evaluate writes it).'))
    out.append(Block('table', data=tables['summary'], caption='Scores on the holdout (per-image F 0-1, others %)'))
    per_class = tables.get('per_class')
    if per_class is not None and len(per_class.columns):
        best = [c for c in per_class.columns if c[0].startswith('ours, best')] or list(per_class.columns)[-3:]
        out.append(Block('table', data=per_class[best], caption='Per-class IoU, Acc and Dice on the holdout (%)'))
    out += [Block('heading', 'Test result'),
            Block('todo', f'The per-image F on the {rules.counts[2]} test images is __.__ (copy it from the '
                          'leaderboard).')]
    return out


def blocks_2025(run: RunData, tables: dict, figures: dict, rules, *, has_screenshot: bool,
                experiments: Any = None) -> list[Block]:
    """The 2025-26 draft after its title lines."""
    out = [Block('heading', 'Background'),
           Block('para', f'Face parsing labels each pixel of a 512 x 512 face with one of 19 classes. The course gives '
                         f'{rules.counts[0]:,} training pairs, {rules.counts[1]} validation and {rules.counts[2]} test '
                         f'images; the leaderboard scores the {rules.metric_words}. A holdout of the training pairs '
                         'stands in for the validation masks the course does not give.')]
    out += _model_blocks(run, rules) + _loss_blocks(run) + _optimization_blocks(run, figures)
    out += _experiment_blocks(tables, figures, run.scalars) + _results_blocks(run, tables, rules)
    out.append(Block('figure', data='score', caption='Leaderboard score') if has_screenshot else
               Block('todo', 'Paste the leaderboard screenshot here (and save it as handin/score.png).'))
    out += _machine_blocks(run)
    out += [Block('heading', 'Discussion'),
            Block('todo', 'In your own words: what worked, what did not, and what you would try next.')]
    out += [Block('heading', 'References')] + [Block('para', f'[{i}] {r}') for i, r in enumerate(REFERENCES_2025, 1)]
    return out


def mentions_cap(text: str, cap: int) -> bool:
    """Whether ``text`` states the cap as the course writes it (1,821,085)."""
    return re.search(rf'\b{cap:,}\b', text) is not None
