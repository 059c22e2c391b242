"""The report's tables from a run, each written as CSV, Markdown and LaTeX (booktabs): per-class IoU / Acc / Dice
of the first and best checkpoints beside the report's, the summary, the class weights with their pixel counts, and
the test-time augmentation gain."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from utils.base.labels import CLASSES
from utils.core.metrics import SUMMARY_KEYS
from utils.handin.rundata import RunData


def per_class(run: RunData):
    """IoU / Acc / Dice per class: ours at the end of stage 1 and at the best validation, and the report's runs."""
    import pandas as pd

    cols = {}
    first, best = run.first_and_best()
    for label, step in ((f'ours, {first} it', first), (f'ours, best: {best} it', best)):
        if step is not None and not (label.startswith('ours, best') and best == first and len(cols)):
            for metric, values in run.per_class_at(step).items():
                cols[(label, metric)] = values.reindex(CLASSES)
    for name, label in (('first', 'report, first run'), ('best', 'report, best run')):
        for metric in ('IoU', 'Acc', 'Dice'):
            cols[(label, metric)] = run.seed[name][metric].reindex(CLASSES)
    df = pd.DataFrame(cols)
    df.index.name = 'class'
    return df


def summary(run: RunData):
    """aAcc / mIoU / mAcc / mDice (%): our validations and evaluations, and the report's two runs."""
    import pandas as pd

    rows = {}
    first, best = run.first_and_best()
    if run.scalars is not None and len(run.scalars.val):
        val = run.scalars.val.set_index('step')
        for label, step in ((f'ours, end of stage 1 ({first} it)', first), (f'ours, best validation ({best} it)', best)):
            if step is not None and step in val.index:
                rows[label] = {k: float(val.loc[step, k]) for k in SUMMARY_KEYS if k in val.columns}
    for tta, ev in sorted(run.evals.items(), key=lambda kv: kv[0] != 'none'):
        name = Path(ev['summary'].get('checkpoint', '?')).name
        rows[f'ours, {name}, TTA {tta}'] = {k: ev['summary'].get(k) for k in SUMMARY_KEYS}
    for run_name, label in (('first', 'report, first run'), ('best', 'report, best run')):
        rows[label] = run.seed['summary'].loc[run_name, list(SUMMARY_KEYS)].astype(float).to_dict()
    df = pd.DataFrame.from_dict(rows, orient='index')
    df.index.name = 'run'
    return df


def class_weights(run: RunData):
    """The loss's class weights with the train pixel counts they come from (stage 1's record)."""
    import pandas as pd

    path = run.stages[0] / 'class_weights.csv'
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path).set_index('class')
    except (pd.errors.EmptyDataError, pd.errors.ParserError, KeyError, OSError, UnicodeDecodeError) as exc:
        import warnings

        warnings.warn(f'{path} is damaged ({type(exc).__name__}): the class-weights table is left out; the '
                      'rest of the hand-in is built.', stacklevel=2)
        return None
    out = pd.DataFrame(index=df.index)
    weight_cols = [c for c in df.columns if c.startswith(('decode_head', 'auxiliary_head'))]
    if weight_cols:
        out['weight'] = df[weight_cols[0]]
    if 'train_pixels' in df.columns:
        out['train pixels'] = df['train_pixels'].astype('int64')
        out['pixel share %'] = 100 * df['train_pixel_share']
        out['train images'] = df['train_images'].astype('int64')
    return out


def tta_gain(run: RunData):
    """The val scores of the submitted checkpoint without and with test-time augmentation, and the gain."""
    import pandas as pd

    if 'none' not in run.evals:
        return None
    rows = {'no TTA': {k: run.evals['none']['summary'].get(k) for k in SUMMARY_KEYS}}
    for tta, ev in run.evals.items():
        if tta != 'none':
            rows[f'TTA {tta}'] = {k: ev['summary'].get(k) for k in SUMMARY_KEYS}
            rows[f'gain ({tta})'] = {k: (ev['summary'].get(k) or np.nan) - (rows['no TTA'][k] or np.nan)
                                     for k in SUMMARY_KEYS}
    df = pd.DataFrame.from_dict(rows, orient='index')
    df.index.name = 'evaluation'
    return df if len(df) > 1 else None


def all_tables(run: RunData, edition: str = '2022') -> dict[str, Any]:
    """name -> DataFrame (None where the run lacks the data). Under the 2025-26 rules the reference report (2022)
    is no bar: its columns and rows go, the per-image F joins the summary, and every evaluation of the work root
    makes the experiment table."""
    tables = {'per_class': per_class(run), 'summary': summary(run), 'class_weights': class_weights(run),
              'tta_gain': tta_gain(run)}
    if edition == '2022':
        return tables
    from utils.handin.experiments import experiment_table

    tables['per_class'] = tables['per_class'][[c for c in tables['per_class'].columns if c[0].startswith('ours')]]
    tables['summary'] = tables['summary'].loc[[i for i in tables['summary'].index if i.startswith('ours')]]
    fscores = []  # the per-image F (0-1, four decimals as the leaderboard shows it): evaluations, validations
    val = run.scalars.val.set_index('step') if run.scalars is not None and len(run.scalars.val) else None
    for label in tables['summary'].index:
        ev = next((e for t, e in run.evals.items() if label.endswith(f'TTA {t}')), None)
        value = ev['summary'].get('imgF') if ev is not None else None
        step = re.search(r'\((\d+) it\)', label)
        if ev is None and step and val is not None and 'imgF' in val.columns and int(step.group(1)) in val.index:
            value = float(val.loc[int(step.group(1)), 'imgF'])
        fscores.append(f'{float(value):.4f}' if isinstance(value, (int, float)) else '-')
    tables['summary'].insert(0, 'imgF', fscores)
    tables['experiments'] = experiment_table(run.stages[0].parent) if run.stages else None
    return tables


# --------------------------------------------------------------------------- writing
def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return '-' if not np.isfinite(value) else f'{value:.2f}'
    if isinstance(value, (int, np.integer)):
        return f'{int(value):,}'
    return str(value)


def _headers(df) -> list[str]:
    return [' '.join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]


def header_rows(df) -> list[list[str]]:
    """The header as rows of cells, the index name first: one row, or two for grouped columns (run, then metric)."""
    if all(isinstance(c, tuple) and len(c) == 2 for c in df.columns):
        return [[df.index.name or ''] + [str(c[0]) for c in df.columns], [''] + [str(c[1]) for c in df.columns]]
    return [[df.index.name or ''] + _headers(df)]


def body_rows(df) -> list[list[str]]:
    """The body as rows of formatted cells (column types kept: counts as integers, scores with 2 decimals)."""
    return [[str(idx)] + [_cell(v) for v in values] for idx, *values in df.itertuples(name=None)]


def spans(cells: list[str]) -> list[tuple[int, int, str]]:
    """Runs of equal neighbouring cells as ``(first, last, text)``, for merged group headers."""
    out: list[tuple[int, int, str]] = []
    for i, text in enumerate(cells):
        if out and out[-1][2] == text and i > 1:
            out[-1] = (out[-1][0], i, text)
        else:
            out.append((i, i, text))
    return out


def to_markdown(df) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned, 2 decimals)."""
    head = [df.index.name or ''] + _headers(df)
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' + '---:|' * len(df.columns)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in body_rows(df)]
    return '\n'.join(lines) + '\n'


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    out = str(text)
    for a, b in (('\\', r'\textbackslash{}'), ('&', r'\&'), ('%', r'\%'), ('$', r'\$'), ('#', r'\#'), ('_', r'\_'),
                 ('{', r'\{'), ('}', r'\}'), ('~', r'\textasciitilde{}'), ('^', r'\textasciicircum{}')):
        out = out.replace(a, b) if a != '\\' else out.replace(a, '\x00')
    return out.replace('\x00', r'\textbackslash{}')


def _breakable(text: str) -> str:
    """Escaped ``text`` that may break after its underscores, hyphens and dots (long config names)."""
    return latex_escape(text).replace(r'\_', r'\_\allowbreak{}').replace('-', r'-\allowbreak{}')


def to_latex(df, caption: str = '', label: str = '') -> str:
    """A booktabs ``table`` (``\\small``, numbers right-aligned) ready for ``\\input``; row labels longer than
    28 characters wrap in a ragged column of 40 % of the line."""
    wrap = max((len(str(i)) for i in df.index), default=0) > 28
    cols = (r'>{\raggedright\arraybackslash}p{0.4\linewidth}' if wrap else 'l') + 'r' * len(df.columns)
    rows = header_rows(df)
    head = []
    if len(rows) == 2:  # grouped columns: one centred cell per group, a rule under each
        groups = spans(rows[0])
        head.append(' & '.join(latex_escape(t) if a == b else rf'\multicolumn{{{b - a + 1}}}{{c}}{{{latex_escape(t)}}}'
                               for a, b, t in groups) + r' \\')
        head.append(' '.join(rf'\cmidrule(lr){{{a + 1}-{b + 1}}}' for a, b, _ in groups if a > 0))
    head.append(' & '.join(latex_escape(h) for h in rows[-1]) + r' \\')
    body = [' & '.join((_breakable if wrap and k == 0 else latex_escape)(c) for k, c in enumerate(row)) + r' \\'
            for row in body_rows(df)]
    lines = [r'\begin{table}[htbp]', r'\centering', r'\small', rf'\begin{{tabular}}{{{cols}}}', r'\toprule', *head,
             r'\midrule', *body, r'\bottomrule', r'\end{tabular}']
    if caption:
        lines.append(rf'\caption{{{latex_escape(caption)}}}')
    if label:
        lines.append(rf'\label{{{label}}}')
    return '\n'.join(lines + [r'\end{table}']) + '\n'


CAPTIONS = {'per_class': 'Per-class IoU, Acc and Dice on val (%), ours and the reference report\'s',
            'summary': 'Summary on val (%)', 'class_weights': 'Class weights of the loss and the train pixels they '
            'come from', 'tta_gain': 'Test-time augmentation on val (%)',
            'experiments': 'Every evaluation in the work root: parameters, holdout F, TTA and class biases'}


def write_tables(tables: dict[str, Any], folder: Path) -> list[Path]:
    """Each table as ``<name>.csv``, ``.md`` and ``.tex`` in ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        if df is None:
            continue
        flat = df.copy()
        flat.columns = _headers(df)
        flat.to_csv(folder / f'{name}.csv', float_format='%.4f')
        (folder / f'{name}.md').write_text(to_markdown(df))
        (folder / f'{name}.tex').write_text(to_latex(df, CAPTIONS.get(name, ''), f'tab:{name}'))
        written += [folder / f'{name}.{ext}' for ext in ('csv', 'md', 'tex')]
    return written
