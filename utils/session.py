"""One notebook on its own Colab runtime: the run's settings from Drive, the GPU and Drive checks, the dataset.

Colab gives every open notebook its own runtime (VM and local disk); only Google Drive persists between
notebooks and across a disconnect. So each notebook starts with :func:`start`, called by its set-up cell:

* the run's settings come from ``settings.json`` on Drive (written by the first notebook run), merged with
  this notebook's parameters (:func:`utils.workflow.make_plan`);
* a smoke run says so, in bold, before anything else; a real run without a GPU stops here with the menu
  path to a GPU runtime;
* a training notebook without Drive stops unless ``ALLOW_LOCAL_WORK``, and checks Drive's free space;
* notebooks 02-05 unpack the dataset kept on Drive by 01 onto this runtime's disk (once per runtime).

A step that cannot work raises :class:`StopRun`: Run All stops at that cell with one message, no traceback.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from . import env
from .config import FINAL_FIT_SUFFIX
from .labels import REPO_ROOT
from .submit.common import write_json_atomic
from .workflow import KEPT, PARAMETERS, Plan, PlanError, checkpoint_recipe, final_checkpoint, make_plan

__all__ = ['PARAMETERS']  # re-exported for the set-up cell; everything else is used as session.<name>

SETTINGS = 'settings.json'
ARCHIVE = 'celebamask-dataset.zip'
TRAINS = ('02_train_20k', '03_resume_30k')
USES_DATA = ('02_train_20k', '03_resume_30k', '04_evaluate', '05_submit')
NEEDS_NO_GPU = ('00_setup', '01_data_check')  # a real run may set up and check its data on a CPU runtime
GPU_MENU = 'Runtime > Change runtime type > T4 GPU > Save, then Runtime > Run all'


class StopRun(Exception):
    """Stops Run All at this cell with one message (what failed and what to do), without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return ['\x1b[1;31m' + line + '\x1b[0m' for line in str(self).splitlines()]


def say(markdown: str) -> None:
    """Show ``markdown`` in a notebook (bold renders), or print it elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except ImportError:
        pass
    print(markdown.replace('**', ''))


# --------------------------------------------------------------------------- settings.json
def keep_dir(plan_params: dict[str, Any], drive: bool) -> Path:
    """Where the run keeps its settings and dataset copy: this project's folder on Drive, else the work root."""
    if drive:
        return env.DRIVE_PROJECT
    if plan_params.get('WORK_ROOT'):
        return Path(plan_params['WORK_ROOT'])
    return REPO_ROOT / 'work_dirs'


def read_settings(folder: Path) -> tuple[dict[str, Any], str | None]:
    """``(settings, problem)``: the run's settings.json in ``folder`` ({} when there is none or it is unreadable)."""
    path = folder / SETTINGS
    if not path.is_file():
        return {}, None
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError('not a JSON object')
        return data, None
    except (OSError, ValueError) as exc:
        return {}, f'{path} cannot be read ({exc}): ignored it; it is written again from this notebook\'s values.'


def write_settings(folder: Path, values: dict[str, Any], notebook: str) -> Path:
    """Write settings.json atomically (its own file only: nothing else in ``folder`` is touched)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS
    data = {'format': 1, **{k: values[k] for k in KEPT if values.get(k) is not None},
            'written_by': notebook, 'updated': datetime.now(UTC).isoformat(timespec='seconds')}
    write_json_atomic(path, data)
    return path


# --------------------------------------------------------------------------- start
def start(notebook: str, params: dict[str, Any], code_from: str = 'this checkout') -> Plan:
    """Everything a notebook does before its own work; returns the :class:`~utils.workflow.Plan` (see module doc).

    ``code_from``: where the set-up cell took the code from (GitHub owner/name or a Drive folder), for the plan.
    """
    import torch

    env.quiet_known_warnings()
    _inline_figures()
    colab = env.in_colab()
    drive, why = env.mount_drive() if colab else (False, 'not in Colab')
    folder = keep_dir(params, drive)
    settings, problem = read_settings(folder)
    try:
        plan = make_plan(params, notebook=notebook, settings=settings, gpu=torch.cuda.is_available(), colab=colab,
                         drive_project=env.DRIVE_PROJECT if drive else None, content=env.CONTENT, code_from=code_from)
    except PlanError as exc:
        raise StopRun(f'{exc}\nWhat to do: fix it in the parameters cell (the first code cell).') from None
    plan.keep_dir = folder
    if problem:
        plan.notes.append(problem)
    if plan.smoke:
        how = ('set SMOKE = False in 00_setup and run it again' if plan.sources.get('SMOKE') != 'default'
               else f'choose a GPU runtime ({GPU_MENU})')
        say('**SMOKE RUN: tiny data and a few dozen CPU iterations. Its numbers mean nothing; it only shows that '
            f'every step works.** (For the real run, {how}.)')
    elif not plan.amp:
        why_real = ' and '.join(f'{k} = {plan.chosen[k]!r}' for k in ('SMOKE', 'DATA_SOURCE', 'DATA_ROOT')
                                if k in plan.chosen) or 'the run'
        if notebook in NEEDS_NO_GPU:
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
        plan.notes.append(f'Google Drive is not mounted ({why}): nothing of this notebook survives the runtime.')
    if not settings or notebook == '00_setup' or (  # none yet, or unreadable: this notebook writes them
            notebook == '01_data_check' and plan.sources.get('DATA_SOURCE') == 'set here'):
        merged = {**{k: v for k, v in settings.items() if k in KEPT}, **plan.settings()}
        plan.notes.append(f'the run\'s settings are in {write_settings(folder, merged, notebook)}; later notebooks '
                          'read them from there.')
    if notebook in USES_DATA:
        restore_dataset(plan, folder)
    if notebook in TRAINS and drive:
        check_drive_space(plan, notebook)
    _show_plan(plan)
    return plan


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
    except ImportError:
        pass
    for note in plan.notes:
        print('note:', note)


# --------------------------------------------------------------------------- the dataset on every runtime
def _archive_paths(folder: Path) -> tuple[Path, Path]:
    return folder / 'data' / ARCHIVE, folder / 'data' / (ARCHIVE + '.json')


def keep_dataset(plan: Plan, progress: bool = True) -> Path | None:
    """Keep the dataset of ``plan.data_root`` on Drive as one archive, for the notebooks after 01 (once).

    Returns the archive's path (None when there is no Drive in Colab: later runtimes then need DATA_SOURCE).
    An archive of the same source and counts is reused; a new one is written next to it and renamed.
    """
    from .data import dataset_counts

    if env.in_colab() and not env.DRIVE_ROOT.is_dir():
        print('Google Drive is not mounted: no copy of the dataset is kept, so notebooks 02-05 will not find it.')
        return None
    folder = plan.keep_dir or keep_dir({'WORK_ROOT': str(plan.work_root)}, False)
    archive, info = _archive_paths(folder)
    counts = dataset_counts(plan.data_root)
    want = {'source': plan.data_source, 'counts': counts}
    if archive.is_file() and info.is_file():
        try:
            old = json.loads(info.read_text())
        except (OSError, ValueError):
            old = {}
        if {k: old.get(k) for k in want} == want and archive.stat().st_size == old.get('bytes'):
            print(f'the dataset is already kept on Drive: {archive} ({old["bytes"] / 1e6:.0f} MB)')
            return archive
    files = sorted(p for p in Path(plan.data_root).rglob('*') if p.is_file() and not p.name.startswith('.')
                   and p.relative_to(plan.data_root).parts[0] in ('train', 'val', 'test'))
    total = sum(p.stat().st_size for p in files)
    archive.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(archive.parent).free
    if free < total * 1.05:
        raise StopRun(f'Drive has {free / 1e9:.1f} GB free but the dataset copy needs {total / 1e9:.1f} GB.\n'
                      'What to do: free space on Google Drive (and empty its trash), then run this notebook again.')
    from tqdm.auto import tqdm

    fd, tmp_name = tempfile.mkstemp(prefix=f'.{ARCHIVE}.', dir=archive.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_STORED) as zf, \
                tqdm(total=total, unit='B', unit_scale=True, desc='keep a copy on Drive', disable=not progress) as bar:
            for p in files:  # JPG and PNG are compressed already: stored, not deflated
                zf.write(p, p.relative_to(plan.data_root).as_posix())
                bar.update(p.stat().st_size)
        os.replace(tmp, archive)
    finally:
        tmp.unlink(missing_ok=True)
    info.write_text(json.dumps({**want, 'bytes': archive.stat().st_size, 'files': len(files),
                                'written': datetime.now(UTC).isoformat(timespec='seconds')}, indent=2))
    print(f'kept a copy of the dataset on Drive: {archive} ({archive.stat().st_size / 1e6:.0f} MB); '
          'notebooks 02-05 unpack it on their own runtimes.')
    return archive


def restore_dataset(plan: Plan, folder: Path, progress: bool = True) -> dict[str, int]:
    """Make sure the dataset is on this runtime's disk: counted when there, else unpacked from Drive and checked."""
    from .data import DataError, check_dataset, dataset_counts, is_dataset, safe_extract
    from .data.unpack import install

    root = Path(plan.data_root)
    archive, info = _archive_paths(folder)
    kept = {}
    if info.is_file():
        try:
            kept = json.loads(info.read_text()).get('counts') or {}
        except (OSError, ValueError):
            kept = {}
    if is_dataset(root):
        counts = dataset_counts(root)
        if kept and counts != kept:
            print(f'note: {root} holds {counts}, the copy on Drive {kept}; using the one on this disk.')
        print(f'dataset on this runtime: {root} (train {counts["train"]}, val {counts["val"]}, test {counts["test"]})')
        return counts
    if not archive.is_file():
        raise StopRun(f'No dataset on this runtime ({root}) and no copy kept on Drive ({archive}).\n'
                      'What to do: run 01_data_check first: it fetches the dataset once and keeps a copy on Drive.')
    if root.exists() and any(root.iterdir()):
        raise StopRun(f'{root} exists but holds no complete dataset, so the copy from Drive was not unpacked over it.\n'
                      'What to do: move that folder away (or set DATA_ROOT to a new folder) and run again.')
    t0 = time.perf_counter()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{root.name}.restore-', dir=root.parent))
    try:
        print(f'unpacking the dataset kept on Drive ({archive.stat().st_size / 1e6:.0f} MB) to {root}')
        safe_extract(archive, staging / 'dataset', progress=progress)
        install(staging / 'dataset', root)
    except DataError as exc:
        raise StopRun(f'The dataset copy on Drive cannot be used: {exc}\nWhat to do: run 01_data_check again; it '
                      'keeps a fresh copy.') from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = check_dataset(root, expect=kept or None, progress=progress)
    if not report.ok:
        raise StopRun(f'The dataset unpacked from {archive} failed its check:\n{report.format()}\n'
                      'What to do: run 01_data_check again to fetch the data and keep a fresh copy.')
    counts = dataset_counts(root)
    print(f'dataset ready on this runtime in {time.perf_counter() - t0:.0f} s: {root} '
          f'(train {counts["train"]}, val {counts["val"]}, test {counts["test"]}; every file checked)')
    return counts


# --------------------------------------------------------------------------- Drive space, checkpoints
@functools.lru_cache(maxsize=None)  # 00's table, then the space check of 02/03: one model build per config
def stage_need_bytes(config: str) -> int:
    """Drive space one training stage needs at its peak: the kept iteration checkpoints, one more while the next
    is written, and the best checkpoint. Sizes follow the parameter count: an ``iter_*.pth`` holds the weights
    and SGD momentum (8 bytes per parameter; 349 MB measured for R50), or AdamW's two moments (12 bytes per
    parameter: 1.46 GB for Swin-B), ``best_*.pth`` the weights (175 MB for R50)."""
    from .config import load_config
    from .model import build_segmentor

    cfg = load_config(config)
    params = sum(p.numel() for p in build_segmentor(cfg).parameters())
    keep = int(cfg.default_hooks.checkpoint.get('max_keep_ckpts', 3) or 3)
    per_param = 12 if 'adam' in str(cfg.optim_wrapper.optimizer.type).lower() else 8
    return (keep + 1) * (per_param * params + 2**20) + 4 * params + 2**20


def check_drive_space(plan: Plan, notebook: str) -> None:
    """Stop before training when Drive cannot hold this stage's checkpoints."""
    config = plan.config_30k if notebook == '03_resume_30k' else plan.config_20k
    if config is None:
        return
    need = stage_need_bytes(config)
    work_dir = plan.work_dir_30k if notebook == '03_resume_30k' else plan.work_dir_20k
    have = sum(p.stat().st_size for p in work_dir.glob('*.pth')) if work_dir.is_dir() else 0
    plan.work_root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(plan.work_root).free
    if free + have < need:
        raise StopRun(f'Google Drive has {free / 1e9:.1f} GB free; this stage needs about {need / 1e9:.1f} GB for '
                      f'its checkpoints ({plan.work_root}).\nWhat to do: free space on Drive (and empty its trash), '
                      'then run this notebook again.')
    print(f'Drive: {free / 1e9:.1f} GB free, this stage needs about {need / 1e9:.1f} GB for its checkpoints.')


def checkpoint(plan: Plan) -> Path:
    """The checkpoint that notebooks 04 and 05 use (``CHECKPOINT``, else the run's final one); says when it is
    from another recipe than the run's, and stops with one message when there is none."""
    try:
        path = final_checkpoint(plan)
    except FileNotFoundError as exc:
        raise StopRun(f'{exc}') from None
    other = checkpoint_recipe(path)
    if other is not None and other != plan.recipe:
        print(f'note: {path.name} comes from a {other!r} work_dir, while this run\'s recipe is {plan.recipe!r}: '
              f'evaluating it anyway, with the {other!r} config.')
    print(f'checkpoint: {path}')
    return path


# --------------------------------------------------------------------------- one message for known failures
@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Within this block a known failure (bad data, checkpoint, config, weights) stops the notebook with one message."""
    from .checkpoints import CheckpointError
    from .config import ConfigError
    from .dataset import MaskLabelError
    from .evaluate import EvaluationError
    from .inference import InferenceError
    from .layout import DataError
    from .pretrained import PretrainedError
    from .report import one_message
    from .submit.common import SubmitError

    known = (CheckpointError, ConfigError, DataError, EvaluationError, InferenceError, MaskLabelError,
             PretrainedError, SubmitError, FileNotFoundError)
    try:
        yield
    except known as exc:
        raise StopRun(one_message(exc, known)) from None


# --------------------------------------------------------------------------- training, as 02 and 03 run it
def train_stage(plan: Plan, stage: int) -> dict | None:
    """Train stage 1 (02) or resume into stage 2 (03) as the plan says, with a progress bar and live curves.

    Stage 1 resumes its own newest intact checkpoint after a disconnect; stage 2 continues from its own, else
    from stage 1's last. Returns :func:`utils.train.train`'s result (None: the recipe has no stage 2).
    """
    from .checkpoints import list_checkpoints
    from .train import train

    if stage == 1:
        config, work_dir, iters, resume = plan.config_20k, plan.work_dir_20k, plan.iters_20k, 'auto'
    elif plan.config_30k is None:
        print(f'The {plan.recipe!r} recipe has no stage 2: go on to 04_evaluate.')
        return None
    else:
        config, work_dir, iters = plan.config_30k, plan.work_dir_30k, plan.iters_30k
        resume = (plan.work_dir_30k, plan.work_dir_20k)  # train() verifies and picks the newest intact one, once
        if not any(list_checkpoints(d) for d in resume):
            raise StopRun(f'No stage-1 checkpoint in {plan.work_dir_20k}.\nWhat to do: run 02_train_20k first.')
    hooks = [dict(type='ProgressBarHook', title=f'stage {stage} ({plan.recipe})'),
             dict(type='LiveCurveHook', interval=5 if plan.smoke else 200, title=f'Stage {stage}, {plan.title}')]
    with guard():  # a known failure (data, checkpoint, weights) stops here with one message
        result = train(config, plan.data_root, work_dir, max_iters=iters, amp=plan.amp, resume=resume,
                       smoke=plan.smoke_options(plan.iters_20k), quiet=True, extra_hooks=hooks,
                       final_fit=plan.final_fit)
    print(f"val after stage {stage}: {', '.join(f'{k} {v:.2f}' for k, v in result['metrics'].items())}")
    print(f"full log: {result['log_dir']}")
    return result


def stage_results(plan: Plan, stage: int):
    """02/03's closing cell: the stage's checkpoints (stage 2: both stages') as a table, and the training curves
    (returned, so the cell shows them). Nothing for a recipe without a second stage."""
    from IPython.display import display

    from .checkpoints import checkpoint_table
    from .metrics import plot_curves

    if stage == 2 and plan.config_30k is None:
        return None
    work_dirs = [plan.work_dir_20k] if stage == 1 else plan.trained_work_dirs
    display(checkpoint_table(*work_dirs).style.format({'MB': '{:,.1f}'})
            .set_caption(f'Checkpoints in {plan.work_root}'))
    return plot_curves(work_dirs, title=f'{"Stage 1 training curves" if stage == 1 else "Both stages"}, {plan.title}')


class RunEvaluation(NamedTuple):
    """04's results: without TTA (as the report measured) and with the plan's TTA (None when that is 'none')."""
    plain: Any
    with_tta: Any

    @property
    def shown(self):
        """What the per-class table, confusion matrix and inspector show: with TTA when there is one."""
        return self.with_tta or self.plain


def evaluate_run(plan: Plan, ckpt: Path) -> RunEvaluation:
    """04's evaluation of ``ckpt`` on val: once without TTA and once with the plan's, from one loaded model."""
    from .evaluate import evaluate
    from .inference import Segmenter

    if plan.final_fit or ckpt.parent.name.endswith(FINAL_FIT_SUFFIX):
        say(f'**NOT HONEST: {ckpt.parent.name} is a final fit, trained on train + val.** Its val scores below '
            'measure images it was trained on, so they overstate it; the honest val score is that of the run '
            'the recipe was chosen with (FINAL_FIT = False). Use this model for the test submission (05).')
    with guard():
        model = Segmenter.from_checkpoint(ckpt)
        plain = evaluate(ckpt, plan.data_root, split='val', tta='none', segmenter=model)
        with_tta = (evaluate(ckpt, plan.data_root, split='val', tta=plan.tta, segmenter=model)
                    if plan.tta != 'none' else None)
    return RunEvaluation(plain, with_tta)


def deliver(plan: Plan, submission) -> None:
    """05's last step: the leaderboard's score where test masks exist (synthetic data; the course's are hidden),
    a bold warning on a smoke zip, and the download."""
    from IPython.display import display

    from .submit.package import offer_download
    from .submit.score import score_submission

    if plan.test_masks.is_dir():
        display(score_submission(submission.zip_path, plan.test_masks).to_frame())
    if plan.smoke:
        say('**This is a SMOKE zip from a few CPU iterations: do not upload it.**')
    offer_download(submission.zip_path)


# --------------------------------------------------------------------------- what the notebooks show
def environment(plan: Plan):
    """The versions / GPU / CUDA / nvcc / gcc table, with this run's work root (a captioned table)."""
    return env.environment_frame(plan.work_root).style.set_caption('This runtime')


def drive_budget(plan: Plan):
    """What this run keeps on Google Drive, stage by stage, in GB (a captioned table)."""
    import pandas as pd

    rows = [('dataset copy (01_data_check)', 'about 0.4 GB for the course data (measured by 01 when it writes it)')]
    for stage, config in (('stage 1 checkpoints (02_train_20k)', plan.config_20k),
                          ('stage 2 checkpoints (03_resume_30k)', plan.config_30k)):
        if config:
            rows.append((stage, f'{stage_need_bytes(config) / 1e9:.2f} GB at the peak of a save'))
    rows.append(('settings.json, logs, evaluation, submission', 'a few MB'))
    df = pd.DataFrame(rows, columns=['what', 'space on Drive']).set_index('what')
    return df.style.set_caption(f'Google Drive space for the {plan.recipe!r} run (in {plan.keep_dir or plan.work_root})')


def fetch_dataset(plan: Plan):
    """01's fetch: the dataset from ``DATA_SOURCE`` onto this runtime's disk, once; one message when it cannot."""
    from .data import DataError, fetch

    if plan.data_source is None:
        raise StopRun('DATA_SOURCE is not set, and this is a real run: 01_data_check needs to know where the course '
                      'data is.\nWhat to do: set DATA_SOURCE in the parameters cell to the course\'s Google Drive '
                      'share link (or its file id), or to the path of the zip or folder in your Drive '
                      "(/content/drive/MyDrive/...), then run this notebook again. SMOKE = True with "
                      "DATA_SOURCE = 'synthetic' tries everything on generated faces.")
    try:
        return fetch(plan.data_source, plan.data_root)
    except DataError as exc:
        raise StopRun(f'Fetching the dataset failed: {exc}') from None


def verify_dataset(plan: Plan, root: Path):
    """01's check of every file (and, in a real run, of the course's counts); a failure stops with its report."""
    from .data import EXPECTED_COUNTS, check_dataset

    report = check_dataset(root, expect=None if plan.smoke else EXPECTED_COUNTS)
    if not report.ok:
        raise StopRun('The dataset failed its check: fix the files it names and run this notebook again.\n'
                      + report.format())
    return report
