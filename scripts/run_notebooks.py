"""Run the notebooks as Colab runs them: each on a fresh runtime, only a (stand-in) Google Drive shared.

    python -m scripts.run_notebooks --smoke --out outputs/smoke     # what `make demo` and the tests run

Every notebook gets a fresh folder standing for its runtime's local disk (``/content``, through
``CELEBAMASK_CONTENT``), a fresh kernel whose working folder it is, and the stand-in ``google.colab`` of
``scripts/colab_standin`` (``drive.mount`` links the persistent ``--out/drive`` in as MyDrive,
``files.download`` copies into ``--out/downloads``). As a student with a fork on Drive would: the code comes
from a copy of this repository on the stand-in Drive (``REPO``, given to 00_setup only) and the data from a
course-style zip with an extra top folder on it (``DATA_SOURCE``, given to 01_data_check only); every later
notebook reads the run's settings.json from Drive. The executed copies go to ``--out`` (``--out/figures``
holds every figure they show as PNG), the runtimes to ``--out/runtimes``.

A run of all the notebooks starts from an empty stand-in Drive and a fresh copy of the code (``--keep-drive``
continues on the last run's Drive); ``--only`` runs some of them on the Drive an earlier run left.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
from scripts.notebooks import NAMES as NOTEBOOKS  # noqa: E402  (the notebooks, named once)

STANDIN = Path(__file__).resolve().parent / 'colab_standin'
COURSE_COUNTS = (24, 8, 8)  # a smoke-sized "course zip" (train, val, test)
COURSE_COUNTS_2025 = (30, 8, 8)  # the 2025-26 zips, smoke-sized: the holdout takes 3 of the 30 training pairs
_SKIP_TOP = {'.git', '.venv', '.venv-colab', 'work_dirs', 'outputs', 'data', '__pycache__', '.pytest_cache', '.gl',
             '.devrun', '.devwheels'}


MARKER = '.run_notebooks'  # written into --out: this folder is the harness's to clear for a fresh run


class NotebookError(RuntimeError):
    """A notebook cell failed; the message names the notebook, the cell and the error."""


# --------------------------------------------------------------------------- the stand-in world
def drive_dir(out: Path) -> Path:
    return out / 'drive'


def copy_code(drive: Path) -> Path:
    """A fresh copy of this repository on the stand-in Drive (what ``REPO = '/content/drive/MyDrive/...'`` points
    at), made again on every run: an earlier run's copy would run yesterday's code."""
    target = drive / 'celebamask-parsing-code'
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO_ROOT, target, ignore=lambda d, names: [
        n for n in names if (Path(d) == REPO_ROOT and n in _SKIP_TOP) or n == '__pycache__'])
    return target


def start_fresh(out: Path) -> None:
    """Remove what an earlier run of this harness left in ``out`` (its stand-in Drive, runtimes, downloads, figures,
    executed notebooks), so that a full run is a student's first run. A folder the harness did not write is
    refused, never emptied."""
    ours = [out / 'drive', out / 'runtimes', out / 'downloads', out / 'figures'] + [out / f'{n}.ipynb' for n in NOTEBOOKS]
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / MARKER).is_file() and not (out / 'runtimes').is_dir():
        raise NotebookError(f'{out} holds files that this harness did not write; pass an empty or new --out '
                            '(nothing was removed).')
    for path in ours:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def course_zip(drive: Path, counts: tuple[int, int, int] = COURSE_COUNTS, size: int = 64) -> Path:
    """A course-style dataset zip on the stand-in Drive: synthetic faces inside an extra top folder."""
    from utils.core.synthetic import make_synthetic_dataset

    path = drive / 'course' / 'celebamask_mini.zip'
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    src = make_synthetic_dataset(path.parent / 'unpacked', *counts, size=size, progress=False, with_test_masks=True)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.rglob('*')):
            if f.is_file():
                zf.write(f, f'CelebAMask-HQ-mini/{f.relative_to(src).as_posix()}')
    shutil.rmtree(src)
    return path


def course_zips_2025(drive: Path, counts: tuple[int, int, int] = COURSE_COUNTS_2025, size: int = 64) -> list[Path]:
    """The 2025-26 course's three zips on the stand-in Drive (train with masks, val and test without), synthetic
    faces with 32-hex-digit names, each zip holding its split's folder as the course's do."""
    from utils.base.layout import image_dir, mask_dir
    from utils.core.synthetic import make_synthetic_dataset

    folder = drive / 'course2025'
    paths = [folder / f'{split}.zip' for split in ('train', 'val', 'test')]
    if all(p.is_file() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    src = make_synthetic_dataset(folder / 'unpacked', *counts, size=size, progress=False, with_test_masks=False,
                                 edition='2025')
    for split, path in zip(('train', 'val', 'test'), paths):
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
            for kind, sub in (('images', image_dir(src, split)), ('masks', mask_dir(src, split))):
                for f in sorted(sub.glob('*')) if sub.is_dir() else []:
                    zf.write(f, f'{split}/{kind}/{f.name}')
    shutil.rmtree(src)
    return paths


def runtime_env(out: Path, name: str, **extra: str) -> dict[str, str]:
    """Environment variables of a fresh stand-in Colab runtime for notebook ``name`` (its content folder is new)."""
    content = out / 'runtimes' / name / 'content'
    if content.exists():
        shutil.rmtree(content)
    content.mkdir(parents=True)
    # a stand-in runtime reaches no package index: 05's proof of run.py links in the installed torch, numpy, Pillow
    return {'CELEBAMASK_CONTENT': str(content), 'COLAB_RELEASE_TAG': 'stand-in', 'STANDIN_DRIVE': str(drive_dir(out)),
            'CELEBAMASK_PROOF_ENV': 'installed',
            # GitHub stands in as this checkout: the set-up cell fetches bootstrap.py from here on a fresh runtime
            'CELEBAMASK_BOOTSTRAP': (REPO_ROOT / 'bootstrap.py').as_uri(),
            'STANDIN_DOWNLOADS': str(out / 'downloads'),
            'PYTHONPATH': os.pathsep.join(filter(None, [str(STANDIN), os.environ.get('PYTHONPATH')])), **extra}


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- running
def execute(source: Path, target: Path, parameters: dict, cwd: str | Path, timeout: int = 1800) -> Path:
    """Run the notebook ``source`` into ``target`` with papermill in a fresh kernel whose working folder is ``cwd``.

    The kernel talks to this process over local sockets (IPC) rather than TCP: nothing listens on a port, and
    ipykernel has no reason to warn that TCP traffic goes unencrypted (one such line per notebook otherwise).
    """
    import papermill as pm
    from traitlets.config import Config

    pm.execute_notebook(str(source), str(target), parameters=parameters, cwd=str(cwd), kernel_name='python3',
                        progress_bar=False, execution_timeout=timeout, log_output=False,
                        config=Config({'KernelManager': {'transport': 'ipc'}}))
    return target


def run_notebook(name: str, out: str | Path, parameters: dict, env: dict[str, str] | None = None,
                 timeout: int = 1800) -> Path:
    """Execute ``notebooks/<name>.ipynb`` into ``out/<name>.ipynb`` on a runtime described by ``env``.

    A failing cell raises :class:`NotebookError` with the notebook, the cell and the error's message.
    """
    import papermill as pm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f'{name}.ipynb'
    env = env or runtime_env(out, name)
    with _environ(env):
        try:
            execute(REPO_ROOT / 'notebooks' / f'{name}.ipynb', target, parameters, env['CELEBAMASK_CONTENT'], timeout)
        except pm.PapermillExecutionError as exc:
            raise NotebookError(f'{name}.ipynb failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n'
                                f'(executed copy with the output: {target})') from None
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


def first_parameters(out: Path, smoke: bool = True, recipe: str | None = None,
                     edition: str = '2022') -> dict[str, dict]:
    """What a student types, per notebook: the run in 00 (edition, smoke, recipe, code on Drive), the data source
    in 01 (2022: the course zip; 2025: its three zips)."""
    from utils.base.edition import rules

    drive = drive_dir(out)
    params: dict[str, dict] = {name: {} for name in NOTEBOOKS}
    params['00_setup'] = dict(SMOKE=smoke, RECIPE=recipe or rules(edition).default_recipe, REPO=str(copy_code(drive)))
    if edition != '2022':
        params['00_setup']['EDITION'] = edition
    source = (str(course_zip(drive)) if edition == '2022' else [str(p) for p in course_zips_2025(drive)]) \
        if smoke else None
    params['01_data_check'] = dict(DATA_SOURCE=source)
    return params


def drive_usage(out: Path) -> dict[str, int]:
    """Bytes on the stand-in Drive per top folder of the run (data copy, each work_dir, the rest)."""
    project = drive_dir(out) / 'celebamask-parsing'
    usage: dict[str, int] = {}
    for path in project.rglob('*') if project.is_dir() else []:
        if path.is_file():
            rel = path.relative_to(project).parts
            depth = 3 if rel[:2] == ('work_dirs', 'smoke') else 2  # a smoke run's work_dirs sit in work_dirs/smoke
            # a work_dir by its folder, a file lying in the work root itself (06's hand-in zip) by its own name
            key = '/'.join(rel[:depth]) if rel[0] == 'work_dirs' else rel[0]
            usage[key] = usage.get(key, 0) + path.stat().st_size
    return usage


def run_all(out: str | Path, smoke: bool = True, recipe: str | None = None, names=NOTEBOOKS,
            keep_drive: bool | None = None, edition: str = '2022') -> dict[str, float]:
    """Run the notebooks in order, each on a fresh runtime; returns the wall time of each in seconds.

    A run of all of them starts from an empty stand-in Drive (``keep_drive=False``); a run of some of them
    (``names``) continues on the Drive an earlier run left, as a student reopening Colab would.
    """
    out = Path(out)
    if not (keep_drive if keep_drive is not None else tuple(names) != NOTEBOOKS):
        start_fresh(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text('written by scripts/run_notebooks.py; a full run clears this folder\n')
    params = first_parameters(out, smoke, recipe, edition)
    times = {}
    for name in names:
        start = time.time()
        print(f'running {name} on a fresh runtime ...', flush=True)
        executed = run_notebook(name, out, params[name])
        figures = export_figures(executed, out / 'figures')
        times[name] = time.time() - start
        print(f'  done in {times[name]:.0f} s -> {executed} ({len(figures)} figures)', flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m scripts.run_notebooks', description=__doc__.splitlines()[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='outputs/smoke', help='folder for the executed notebooks, Drive and runtimes')
    p.add_argument('--smoke', action='store_true', help='SMOKE = True: tiny data and schedule (any machine)')
    p.add_argument('--edition', default='2022', choices=('2022', '2025'),
                   help="the course's rules (EDITION in 00_setup): 2022 (the default) or 2025 (2025-26)")
    p.add_argument('--recipe', default=None, help="2022: 'seed' (default), 'improved', 'improved-r101', 'swin-b', "
                   "'segformer-b3'; 2025: 'bisenetv2-slim' (default), 'fast-scnn', 'lraspp-mv3s'")
    p.add_argument('--only', nargs='+', choices=NOTEBOOKS,
                   help='run only these notebooks (in the given order), on the Drive an earlier run left')
    p.add_argument('--keep-drive', action='store_true',
                   help='a full run too continues on the stand-in Drive of the last run (default: start empty)')
    a = p.parse_args(argv)
    out = Path(a.out).resolve()
    start = time.time()
    try:
        times = run_all(out, a.smoke, a.recipe, a.only or NOTEBOOKS, keep_drive=True if a.keep_drive else None,
                        edition=a.edition)
    except NotebookError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(f'\nall {len(times)} notebooks ran in {time.time() - start:.0f} s, each on its own runtime '
          f'({", ".join(f"{n} {t:.0f} s" for n, t in times.items())}); executed copies in {out}')
    print('on the stand-in Drive: ' + ', '.join(f'{k} {v / 2**20:.1f} MB' for k, v in sorted(drive_usage(out).items())))
    downloads = sorted((out / 'downloads').glob('*.zip'))
    print('downloaded:', ', '.join(str(z) for z in downloads) or 'nothing')
    print(f'figures: {len(list((out / "figures").glob("*.png")))} PNG files in {out / "figures"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
