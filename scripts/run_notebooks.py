"""Run the six notebooks in order, headless, with papermill: the main job end to end.

    python -m scripts.run_notebooks --smoke --out outputs/smoke     # synthetic data, tiny schedule, CPU

The executed copies (with all outputs) go to ``--out``, every figure they show also as a PNG file in
``--out/figures``; data and checkpoints go to ``--out/work``.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from utils.labels import REPO_ROOT

NOTEBOOKS = ('00_setup', '01_data_check', '02_train_20k', '03_resume_30k', '04_evaluate', '05_submit')


class NotebookError(RuntimeError):
    """A notebook cell failed; the message names the notebook and the cell."""


def notebook_parameters(out: Path, smoke: bool = True, recipe: str = 'seed', **extra) -> dict:
    """Parameters injected into every notebook's ``parameters`` cell, sharing one data and work folder."""
    work = (out / 'work').resolve()
    params = dict(SMOKE=smoke, RECIPE=recipe, WORK_ROOT=str(work))
    if smoke:
        params.update(DATA_SOURCE='synthetic', DATA_ROOT=str(work / 'data'))
    params.update(extra)
    return params


def run_notebook(name: str, out: str | Path, parameters: dict, timeout: int = 1800) -> Path:
    """Execute ``notebooks/<name>.ipynb`` into ``out/<name>.ipynb``; a failing cell raises :class:`NotebookError`."""
    import papermill as pm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f'{name}.ipynb'
    try:
        pm.execute_notebook(str(REPO_ROOT / 'notebooks' / f'{name}.ipynb'), str(target), parameters=parameters,
                            cwd=str(REPO_ROOT), kernel_name='python3', progress_bar=False,
                            execution_timeout=timeout, log_output=False)
    except pm.PapermillExecutionError as exc:
        raise NotebookError(f'{name}.ipynb failed in cell {exc.exec_count}:\n{exc.source}\n\n{exc.ename}: '
                            f'{exc.evalue}\n(executed copy with the traceback: {target})') from None
    return target


def export_figures(notebook: str | Path, fig_dir: str | Path) -> list[Path]:
    """Write every PNG output of an executed notebook to ``fig_dir/<notebook>_cell<NN>_<k>.png``; returns the files."""
    notebook, fig_dir = Path(notebook), Path(fig_dir)
    written = []
    for i, cell in enumerate(json.loads(notebook.read_text())['cells']):
        pngs = [out['data']['image/png'] for out in cell.get('outputs', []) if 'image/png' in out.get('data', {})]
        for k, png in enumerate(pngs):
            fig_dir.mkdir(parents=True, exist_ok=True)
            path = fig_dir / f'{notebook.stem}_cell{i:02d}_{k}.png'
            path.write_bytes(base64.b64decode(''.join(png) if isinstance(png, list) else png))
            written.append(path)
    return written


def run_all(out: str | Path, smoke: bool = True, recipe: str = 'seed', names=NOTEBOOKS) -> dict[str, float]:
    """Run the notebooks in order; returns the wall time of each in seconds."""
    out = Path(out)
    params = notebook_parameters(out, smoke, recipe)
    times = {}
    for name in names:
        start = time.time()
        print(f'running {name} ...', flush=True)
        executed = run_notebook(name, out, params)
        figures = export_figures(executed, out / 'figures')
        times[name] = time.time() - start
        print(f'  done in {times[name]:.0f} s -> {executed} ({len(figures)} figures)', flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m scripts.run_notebooks', description=__doc__.splitlines()[0])
    p.add_argument('--out', default='outputs/smoke', help='folder for the executed notebooks and the work dir')
    p.add_argument('--smoke', action='store_true', help='synthetic data and a tiny schedule (CPU friendly)')
    p.add_argument('--recipe', default='seed', help="'seed', 'improved' or 'improved-r101'")
    p.add_argument('--only', nargs='+', choices=NOTEBOOKS, help='run only these notebooks (in the given order)')
    a = p.parse_args(argv)
    out = Path(a.out)
    start = time.time()
    try:
        times = run_all(out, a.smoke, a.recipe, a.only or NOTEBOOKS)
    except NotebookError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    work = out / 'work'
    zips = sorted(work.glob('*.zip'))
    tables = sorted(work.rglob('eval/*/*.csv'))
    figures = sorted((out / 'figures').glob('*.png'))
    print(f'\nall {len(times)} notebooks ran in {time.time() - start:.0f} s; executed copies in {out.resolve()}')
    print('submission zip:', ', '.join(str(z.resolve()) for z in zips) or 'none')
    print('evaluation tables:', ', '.join(str(f.parent.resolve()) for f in tables[:1]) or 'none')
    print(f'figures: {len(figures)} PNG files in {(out / "figures").resolve()} (also inline in the executed notebooks)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
