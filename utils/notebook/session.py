"""One notebook on its own Colab runtime: the run's settings from Drive, the GPU and Drive checks, the dataset.

Colab gives every open notebook its own runtime (VM and local disk); only Google Drive persists between
notebooks and across a disconnect. So each notebook starts with :func:`start`, called by its set-up cell:

* the run's settings come from ``settings.json`` on Drive (written by the first notebook run), merged with
  this notebook's parameters (:func:`utils.notebook.workflow.make_plan`);
* a smoke run says so, in bold, before anything else; a real run without a GPU stops here with the menu
  path to a GPU runtime;
* a training notebook without Drive stops unless ``ALLOW_LOCAL_WORK``, and checks Drive's free space;
* notebooks 02-05 unpack the dataset kept on Drive by 01 onto this runtime's disk (once per runtime).

A step that cannot work raises :class:`StopRun`: Run All stops at that cell with one message, no traceback.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from utils.core import env
from utils.notebook import narrate
from utils.base.labels import REPO_ROOT
from utils.base.layout import write_json_atomic
from utils.notebook.cells import StopRun, guard, say, show  # noqa: F401  (the notebooks call them as session.<name>)
from utils.notebook.workflow import (KEPT, PARAMETERS, RUNTIMES, Plan, PlanError, check_parameters, check_settings,
                                     checkpoint_recipe, final_checkpoint, make_plan)

__all__ = ['PARAMETERS']  # re-exported for the set-up cell; everything else is used as session.<name>

SETTINGS = 'settings.json'
TRAINS = ('02_train_20k', '03_resume_30k')
USES_DATA = ('02_train_20k', '03_resume_30k', '04_evaluate', '05_submit')
NEEDS_NO_GPU = tuple(n for n, runtime in RUNTIMES.items() if runtime == 'CPU')  # a real run may use a CPU runtime
GPU_MENU = 'Runtime > Change runtime type > T4 GPU > Save, then Runtime > Run all'


# --------------------------------------------------------------------------- settings.json
def keep_dir(plan_params: dict[str, Any], drive: bool) -> Path:
    """Where the run keeps its settings and dataset copy: this project's folder on Drive, else the work root."""
    if drive:
        return env.DRIVE_PROJECT
    if plan_params.get('WORK_ROOT'):
        return Path(plan_params['WORK_ROOT'])
    return env.work_root()


def read_settings(folder: Path, lenient: bool = False) -> tuple[dict[str, Any], list[str]]:
    """``(settings, notes)``: the run's settings.json in ``folder``, checked ({} when there is none).

    The file is data: its shape and every known key are checked (:func:`utils.notebook.workflow.check_settings`); a bad
    file raises :class:`~utils.notebook.workflow.PlanError` naming the file, the key, the value and the fix. ``lenient``
    (00_setup, which rewrites the file): what cannot be used is dropped with a note instead.
    """
    path = folder / SETTINGS
    if not path.is_file():
        return {}, []
    fix = 'run 00_setup again (it rewrites the file from its parameters), or delete the file to start the run afresh.'
    try:
        if path.stat().st_size > 1_000_000:
            raise PlanError(f'{path} is {path.stat().st_size:,} bytes: not a settings file this project wrote.\n'
                            f'What to do: {fix}')
        data = json.loads(path.read_text(encoding='utf-8'))
    except PlanError as exc:
        if not lenient:
            raise
        return {}, [f'{str(exc).splitlines()[0]} 00_setup writes it again.']
    except (OSError, ValueError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f'not valid JSON: {exc}'
        if not lenient:
            raise PlanError(f'{path} cannot be read ({why}).\nWhat to do: {fix}') from None
        return {}, [f'{path} could not be read ({why}): 00_setup writes it again from its parameters.']
    return check_settings(data, str(path), lenient=lenient)


def write_settings(folder: Path, values: dict[str, Any], notebook: str) -> Path:
    """Write settings.json atomically (its own file only: nothing else in ``folder`` is touched); a read-only,
    full or vanished Drive stops with one message and leaves the old file as it was."""
    path = folder / SETTINGS
    data = {'format': 1, **{k: (str(values[k]) if isinstance(values[k], os.PathLike) else values[k])
                            for k in KEPT if values.get(k) is not None},
            'written_by': notebook, 'updated': datetime.now(UTC).isoformat(timespec='seconds')}
    with guard(folder):
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, data)
    return path


# --------------------------------------------------------------------------- start
def start(notebook: str, params: dict[str, Any], code_from: str = 'this checkout') -> Plan:
    """Everything a notebook does before its own work; returns the :class:`~utils.notebook.workflow.Plan` (see module doc).

    ``code_from``: where the set-up cell took the code from (GitHub owner/name or a Drive folder), for the plan.
    """
    import torch

    env.quiet_known_warnings()
    _inline_figures()
    colab = env.in_colab()
    # the set-up cell has asked for Drive already: asking again would show a second permission prompt
    drive = colab and env.DRIVE_ROOT.is_dir()
    why = 'access was not given when the set-up cell asked' if colab else 'not in Colab'
    check_code(code_from)
    try:
        check_parameters(params)  # first: a bad WORK_ROOT set here is named before it is used as a folder
        folder = keep_dir(params, drive)
        settings, problems = read_settings(folder, lenient=notebook == '00_setup')

        def plan_for(gpu: bool) -> Plan:
            return make_plan(params, notebook=notebook, settings=settings, gpu=gpu, colab=colab, checked=True,
                             drive_project=env.DRIVE_PROJECT if drive else None, content=env.CONTENT,
                             code_from=code_from)

        plan = plan_for(torch.cuda.is_available())
        # 00 opened in Colab on a CPU runtime with nothing set: setting up needs no GPU, and nothing of a smoke run
        # is kept (SMOKE stays unset in settings.json), so the plan shown is the real run's, as 02-05 will follow it
        # on a GPU runtime (this runtime has none: no AMP here)
        cpu_setup = plan.smoke and colab and notebook == '00_setup' and plan.sources.get('SMOKE') == 'default'
        if cpu_setup:
            plan = dataclasses.replace(plan_for(True), amp=False)
    except PlanError as exc:
        raise StopRun(str(exc)) from None
    plan.keep_dir, plan.keep_shared = folder, drive or not colab
    plan.notes.extend(problems)
    if cpu_setup:
        say('**No GPU on this runtime: fine for 00_setup and 01_data_check.** The plan below is the real run\'s: '
            'it starts when 01_data_check gets DATA_SOURCE, and 02-05 need a GPU '
            f'({GPU_MENU}). For a smoke run on tiny data instead, set SMOKE = True.')
    elif plan.smoke:
        how = ('set SMOKE = False in 00_setup and run it again' if plan.sources.get('SMOKE') != 'default'
               else f'choose a GPU runtime ({GPU_MENU})')
        say('**SMOKE RUN: tiny data and a few dozen CPU iterations. Its numbers mean nothing; it only shows that '
            f'every step works.** (For the real run, {how}.)')
    elif not plan.amp:
        why_real = ' and '.join(f'{k} = {plan.chosen[k]!r}' for k in ('SMOKE', 'DATA_SOURCE', 'DATA_ROOT')
                                if k in plan.chosen) or 'the run'
        if notebook in NEEDS_NO_GPU and not cpu_setup:
            plan.notes.append(f'no GPU on this runtime: fine for {notebook}, but 02-05 of this real run need one '
                              f'({GPU_MENU}).')
        else:
            raise StopRun(f'No GPU: this is a real run ({why_real}), and this runtime has no GPU.\n'
                          f'What to do: {GPU_MENU}. To try the notebooks on tiny synthetic data instead, set '
                          'SMOKE = True in 00_setup (a smoke run keeps its checkpoints apart, in work_dirs/smoke).')
    if colab and not drive:
        if notebook in TRAINS and not plan.allow_local_work:
            raise StopRun(f'Google Drive is not mounted ({why}). Checkpoints would go to this runtime\'s disk and be '
                          'lost at the first disconnect.\nWhat to do: run this notebook again and allow access to '
                          'Google Drive when Colab asks, or set ALLOW_LOCAL_WORK = True to train on this runtime\'s '
                          'disk anyway.')
        if notebook == '01_data_check' and not plan.allow_local_work:
            raise StopRun(f'Google Drive is not mounted ({why}). This notebook keeps the dataset copy and the run\'s '
                          'settings there, for 02-05, which run on runtimes of their own.\nWhat to do: run this '
                          'notebook again and allow access to Google Drive when Colab asks, or set ALLOW_LOCAL_WORK = '
                          'True to only check the data on this runtime (02-05 will not find it).')
        plan.notes.append(f'Google Drive is not mounted ({why}): nothing of this notebook survives the runtime.')
    if not settings or notebook == '00_setup' or (  # none yet, or unreadable: this notebook writes them
            notebook == '01_data_check' and plan.sources.get('DATA_SOURCE') == 'set here'):
        merged = {**{k: v for k, v in settings.items() if k in KEPT}, **plan.settings()}
        path = write_settings(folder, merged, notebook)
        plan.notes.append(f'the run\'s settings are in {path}; later notebooks read them from there.' if
                          plan.keep_shared else f'the settings are in {path}, on this runtime\'s own disk: no later '
                          'notebook sees them (each runs on its own runtime); allow Google Drive to keep them.')
    if notebook in USES_DATA:
        restore_dataset(plan, folder)
    check_work_root(plan, notebook, drive)
    if notebook in TRAINS and drive:
        check_drive_space(plan, notebook)
    _show_plan(plan)
    return plan


def check_code(code_from: str) -> None:
    """Stop when the code on this runtime is not a whole copy of the project (a Drive copy with links in it, files
    missing, or entries that shadow installed packages), naming what is wrong, before anything uses it; name the
    modules whose content differs from the manifest, or that it does not list."""
    problems = env.code_problems(REPO_ROOT)
    changes = env.code_changes(REPO_ROOT)
    if changes:  # the student's own edits are allowed, and named: the run then uses code that is not the project's
        say(f'**Note: the code on this runtime ({REPO_ROOT}, from {code_from}) differs from its manifest:** '
            f'{"; ".join(changes)}. If you edited these yourself, that is your code running; otherwise take a fresh '
            'copy of the project.')
    if problems:
        raise StopRun(f'The code on this runtime ({REPO_ROOT}, copied from {code_from}) is not a whole copy of this '
                      f'project: {"; ".join(problems)}.\nWhat to do: put a complete copy of the project in that '
                      'folder (e.g. the repository\'s zip from GitHub, unpacked, without links), or set REPO to '
                      '\'owner/name\' on GitHub; then choose Runtime > Disconnect and delete runtime (this runtime '
                      'keeps the copy it made) and Run all.')


def _inline_figures() -> None:
    """Show returned matplotlib figures as pictures in the notebook (Colab does by default; plain Jupyter not)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.run_line_magic('matplotlib', 'inline')


def _show_plan(plan: Plan) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(plan.frame())
            say(narrate.plan(plan.sources))
    except ImportError:
        pass
    for note in plan.notes:
        print('note:', note)


# --------------------------------------------------------------------------- the dataset on every runtime
def keep_dataset(plan: Plan, progress: bool = True) -> Path | None:
    """01: keep the dataset of ``plan.data_root`` on Drive as one archive (:func:`utils.data.archive.keep_copy`);
    None when there is no Drive in Colab (later runtimes then need DATA_SOURCE)."""
    from utils.data import DataError
    from utils.data.archive import keep_copy

    if env.in_colab() and not env.DRIVE_ROOT.is_dir():
        print('Google Drive is not mounted: no copy of the dataset is kept, so notebooks 02-05 will not find it.')
        return None
    folder = plan.keep_dir or keep_dir({'WORK_ROOT': str(plan.work_root)}, False)
    with guard(folder / 'data'):  # read-only, full or vanished Drive: one message, the old copy kept, no temp file
        try:
            return keep_copy(plan.data_root, folder, plan.data_source, progress=progress, edition=plan.edition)
        except DataError as exc:
            raise StopRun(str(exc)) from None


def restore_dataset(plan: Plan, folder: Path, progress: bool = True) -> dict[str, int]:
    """02-05: the dataset on this runtime's disk, counted when there, else unpacked from Drive and checked
    (:func:`utils.data.archive.restore_copy`); a problem stops the notebook with one message."""
    from utils.data import DataError
    from utils.data.archive import restore_copy

    try:
        return restore_copy(plan.data_root, folder, progress=progress)
    except DataError as exc:
        raise StopRun(str(exc)) from None


# --------------------------------------------------------------------------- Drive space, checkpoints
@functools.lru_cache(maxsize=None)  # 00's table, then the space check of 02/03: one model build per config
def stage_need_bytes(config: str) -> int:
    """Drive space one training stage needs at its peak: the kept iteration checkpoints, one more while the next
    is written, and the best checkpoint. Sizes follow the parameter count: an ``iter_*.pth`` holds the weights
    and SGD momentum (8 bytes per parameter; 349 MB measured for R50), or AdamW's two moments (12 bytes per
    parameter: 1.46 GB for Swin-B), ``best_*.pth`` the weights (175 MB for R50)."""
    from utils.notebook.workflow import config_facts

    facts = config_facts(config)  # the plan's own parse and build of the config
    per_param = 12 if 'adam' in facts.optimizer.lower() else 8
    return (facts.max_keep + 1) * (per_param * facts.total + 2**20) + 4 * facts.total + 2**20


def check_drive_space(plan: Plan, notebook: str) -> None:
    """Stop before training when the disk of the work root cannot hold this stage's checkpoints; the line names
    the disk it measured (Drive, or this runtime's own disk)."""
    stage = plan.stage(2 if notebook == '03_resume_30k' else 1)
    if stage is None:
        return
    need = stage_need_bytes(stage.config)
    have = sum(p.stat().st_size for p in stage.work_dir.glob('*.pth')) if stage.work_dir.is_dir() else 0
    plan.work_root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(plan.work_root).free
    disk = 'Google Drive' if on_drive(plan.work_root) else f'This runtime\'s disk ({plan.work_root})'
    if free + have < need:
        raise StopRun(f'{disk} has {free / 1e9:.1f} GB free; this stage needs about {need / 1e9:.1f} GB for '
                      f'its checkpoints ({plan.work_root}).\nWhat to do: free space there (on Drive, empty its trash '
                      'too), then run this notebook again.')
    print(f'{disk}: {free / 1e9:.1f} GB free, this stage needs about {need / 1e9:.1f} GB for its checkpoints.')


def on_drive(path: Path) -> bool:
    """Whether ``path`` (made absolute) lies under Google Drive's mount."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(env.DRIVE_ROOT))


def check_work_root(plan: Plan, notebook: str, drive: bool) -> None:
    """In Colab with Drive mounted, a work root off Drive (a relative path lands on the runtime's disk) loses the
    run at a disconnect: training stops unless ALLOW_LOCAL_WORK; the other notebooks say so in bold."""
    if not drive or on_drive(plan.work_root):
        return
    where = f'WORK_ROOT = {str(plan.chosen.get("WORK_ROOT", plan.work_root))!r} ({plan.sources.get("WORK_ROOT")})'
    lost = (f'{where} is {os.path.abspath(plan.work_root)}, on this runtime\'s own disk, not on Google Drive: '
            'its checkpoints and results are lost at the first disconnect, and the next notebooks (each on a runtime '
            'of its own) do not see them.')
    if notebook in TRAINS and not plan.allow_local_work:
        raise StopRun(f'{lost}\nWhat to do: set WORK_ROOT to a folder under {env.DRIVE_ROOT} (or None for the '
                      'default) in 00_setup and run it again, or set ALLOW_LOCAL_WORK = True to train there anyway.')
    say(f'**{lost}**')


def checkpoint(plan: Plan, for_submission: bool = False) -> Path:
    """The checkpoint that notebooks 04 and 05 use (``CHECKPOINT``, else the run's final one, see
    :func:`~utils.notebook.workflow.final_checkpoint`); says when it is from another recipe than the run's, and stops with
    one message when there is none."""
    with guard():
        path = final_checkpoint(plan, for_submission)
    other = checkpoint_recipe(path)
    if other is not None and other != plan.recipe:
        print(f'note: {path.name} comes from a {other!r} work_dir, while this run\'s recipe is {plan.recipe!r}: '
              f'evaluating it anyway, with the {other!r} config.')
    print(f'checkpoint: {path}')
    return path


# --------------------------------------------------------------------------- what the notebooks show
def show_schedule(plan: Plan, stages: int = 1) -> None:
    """02/03: the LR and momentum this run will use (:func:`utils.notebook.workflow.schedule_figure`) and its reading."""
    from utils.notebook.workflow import schedule_data, schedule_figure

    trace = schedule_data(plan, stages=stages)
    if trace is None:
        print(f'The {plan.recipe!r} recipe has no second stage: nothing to schedule here.')
        return
    show(schedule_figure(plan, stages=stages, trace=trace), narrate.schedule(trace))


def closing(plan: Plan, extra: tuple[tuple[str, Any], ...] = ()) -> None:
    """The last cell of a notebook: what it produced and where that lies (``extra``: more such pairs), then the
    next notebook."""
    say(narrate.summary(plan.notebook, narrate.produced(plan, plan.notebook) + list(extra), smoke=plan.smoke))


def environment(plan: Plan):
    """The versions / GPU / CUDA / nvcc / gcc table, with this run's work root (a captioned table)."""
    return env.environment_frame(plan.work_root).style.set_caption('This runtime')


def drive_budget(plan: Plan):
    """What this run keeps on Google Drive, stage by stage, in GB (a captioned table)."""
    import pandas as pd

    rows = [('dataset copy (01_data_check)', 'about 0.4 GB for the course data (measured by 01 when it writes it)', 0.4)]
    for stage, config in (('stage 1 checkpoints (02_train_20k)', plan.config_20k),
                          ('stage 2 checkpoints (03_resume_30k)', plan.config_30k)):
        if config:
            need = stage_need_bytes(config) / 1e9
            rows.append((stage, f'{need:.2f} GB at the peak of a save', need))
    rows.append(('settings.json, logs, evaluation, submission', 'a few MB', None))
    df = pd.DataFrame(rows, columns=['what', 'space on Drive', 'GB']).set_index('what')
    return df.style.set_caption(f'Google Drive space for the {plan.recipe!r} run (in {plan.keep_dir or plan.work_root})')


def fetch_dataset(plan: Plan):
    """01's fetch: the dataset from ``DATA_SOURCE`` onto this runtime's disk, once; one message when it cannot."""
    from utils.data import DataError, fetch_sources

    if plan.data_source is None:
        what = ('the course\'s Google Drive share link (or its file id), or the path of the zip or folder in your '
                'Drive' if plan.edition == '2022' else 'the three course zips (train.zip, val.zip, test.zip) as a '
                'list of Drive share links or paths in your Drive, or the Drive folder that holds them')
        raise StopRun('DATA_SOURCE is not set, and this is a real run: 01_data_check needs to know where the course '
                      f'data is.\nWhat to do: set DATA_SOURCE in the parameters cell to {what} '
                      "(/content/drive/MyDrive/...), then run this notebook again. SMOKE = True with "
                      "DATA_SOURCE = 'synthetic' tries everything on generated faces.")
    try:
        return fetch_sources(plan.data_source, plan.data_root, plan.edition)
    except DataError as exc:
        raise StopRun(f'Fetching the dataset failed: {exc}') from None


def verify_dataset(plan: Plan, root: Path):
    """01's check of every file (and, in a real run, of the course's counts); a failure stops with its report."""
    from utils.data import check_dataset
    from utils.data.common import expected_counts

    report = check_dataset(root, expect=None if plan.smoke else expected_counts(plan.edition), edition=plan.edition,
                           size=None if plan.smoke else 'auto')
    if not report.ok:
        raise StopRun('The dataset failed its check: fix the files it names and run this notebook again.\n'
                      + report.format())
    return report
