# %% [markdown]
# # Resume: stage 2, from 20,000 to 30,000 iterations
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/03_resume_30k.ipynb)
#
# The report trained 20k iterations, then resumed to 30k. With the old mmcv hooks the one-cycle schedule was
# recomputed over the new length, so at iteration 20,000 the LR jumped back to about 0.059 and annealed again: a
# second, shorter cycle (a warm restart) that let the model leave the minimum it had settled in. MMEngine would
# instead restore the finished 20k schedule from the checkpoint; this project decides it explicitly: the 30k
# config recomputes the cycle over 30k, and only step counters come from the checkpoint, so every iteration from
# 20,000 on gets exactly mmcv's value (tested at each iteration). The improved recipes spend their budget in one
# 20k run and have no second stage.
#
# **Under the 2025-26 rules** this notebook is the **final fit**: the same recipe trained again from scratch on all
# 1,000 training pairs (the holdout too), for as many iterations as stage 1 took to its best holdout F (`ITERS_30K`
# sets another length). It has no honest validation left, so it keeps stage 1's per-class biases; 05 submits it.
#
# **Needs:** `02_train_20k` finished (its checkpoints on Drive), the dataset copy of `01_data_check`, and about
# 1.6 GB more free on Drive. Like stage 1, a disconnect costs at most 2,000 iterations: run this notebook again.

# %% tags=["parameters"]
# Parameters: the only cell to edit. None means "the run's setting" (settings.json on Drive, written by the first
# notebook you run), else the default. A value set here wins for this notebook, and the plan below says so.
EDITION = None           # the course's rules: '2022' (5,000 faces, mIoU, ImageNet-1k weights; the default) or
                         # '2025' (2025-26: 1,000 faces, per-image F, < 1,821,085 parameters, from scratch)
SMOKE = None             # True: tiny smoke run on any machine; False: the real run (needs a GPU); None: the run's
                         # setting, else real on a GPU. A kept True stays until you set False here (in 00_setup)
RECIPE = None            # 2022: 'seed' (the report's, the default), 'improved', 'improved-r101', 'swin-b', 'segformer-b3';
                         # 2025: 'bisenetv2-slim' (the default), 'fast-scnn', 'lraspp-mv3s'
REPO = None              # the code: 'owner/name' on GitHub (default: this project), or a Drive folder with a copy
DATA_ROOT = None         # the dataset on this runtime's disk (default /content/data/celebamask)
WORK_ROOT = None         # checkpoints (default MyDrive/celebamask-parsing/work_dirs; a smoke run's in work_dirs/smoke)
ITERS_20K = None         # stage-1 iterations (default: the config's, e.g. 20,000; 60 in a smoke run)
ITERS_30K = None         # 2022: the iteration the seed's stage 2 ends at, counting stage 1 (default 30,000; smoke 90);
                         # 2025: the final fit's iterations (default: where 02's best holdout F was)
ALLOW_LOCAL_WORK = None  # 01-03 only: True works without Google Drive (01 checks the data only; 02/03 lose the run
                         # at a disconnect)
FINAL_FIT = None         # 2022: True trains on train + val for the test submission, once the recipe is chosen on val
                         # (own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
# The same in every notebook but for its name. A step that fails stops the notebook here with one message saying
# what to do.
NOTEBOOK = '03_resume_30k'
import contextlib, importlib.util, io, json, os, runpy, shutil, subprocess, sys  # noqa: E401, E402
from pathlib import Path  # noqa: E402


class StopRun(Exception):  # Run All stops at this cell and shows one message, no traceback
    def _render_traceback_(self):
        return ['\x1b[1;31m' + line + '\x1b[0m' for line in str(self).splitlines()]


CODE_FROM = os.getcwd()
if 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ:
    CONTENT = Path(os.environ.get('CELEBAMASK_CONTENT', '/content'))
    try:  # Drive keeps the run; Colab asks once for permission
        from google.colab import drive
        with contextlib.redirect_stdout(io.StringIO()):
            drive.mount(str(CONTENT / 'drive'))
    except Exception as exc:
        print(f'Google Drive could not be mounted ({exc}).')
    kept = CONTENT / 'drive' / 'MyDrive' / 'celebamask-parsing' / 'settings.json'
    try:  # the run's REPO; a broken settings.json is named by utils.session below (00_setup rewrites it)
        kept_repo = json.loads(kept.read_text()).get('REPO') if kept.is_file() else None
    except (OSError, ValueError, AttributeError, RecursionError):
        kept_repo = None
    CODE_FROM = REPO or (kept_repo if isinstance(kept_repo, str) and kept_repo else None) \
        or 'celebamask-parsing/celebamask-parsing'
    code, came_from = CONTENT / 'celebamask-parsing', CONTENT / '.celebamask-code-from'
    if (code / 'utils').is_dir() and came_from.is_file() and came_from.read_text() != CODE_FROM:  # REPO changed
        if 'utils' in sys.modules:  # this kernel has imported the old code: it cannot be swapped under it
            raise StopRun(f'REPO is now {CODE_FROM}, but this runtime runs the code of {came_from.read_text()}.\n'
                          'What to do: choose Runtime > Disconnect and delete runtime, then Run all.')
        shutil.rmtree(code)
    if not (code / 'utils').is_dir():
        if CODE_FROM.startswith('/'):  # a copy of the project kept on Drive
            if not (Path(CODE_FROM) / 'utils').is_dir():
                raise StopRun(f'Getting the code failed: {CODE_FROM} holds no copy of this project (no utils/ in it).\n'
                              'What to do: set REPO to the Drive folder that holds README.md and utils/, or to '
                              'owner/name on GitHub, then run this cell again.')
            shutil.copytree(CODE_FROM, code, symlinks=True,  # links are copied as links, never followed; checked below
                            ignore=shutil.ignore_patterns('.git', '.venv*', 'work_dirs', 'outputs'))
        else:
            got = subprocess.run(['git', 'clone', '-q', '--depth', '1', f'https://github.com/{CODE_FROM}.git', str(code)],
                                 capture_output=True, text=True)
            if got.returncode:
                raise StopRun(f'Getting the code failed: git clone https://github.com/{CODE_FROM} said: '
                              f'{(got.stderr.strip().splitlines() or ["exit code %d" % got.returncode])[-1]}\n'
                              'What to do: check REPO (owner/name of a public repository, e.g. your fork), or set it to '
                              'a Drive folder holding a copy of the project, then run this cell again.')
    came_from.write_text(CODE_FROM)  # where this runtime's code came from: a later REPO takes the code again
    if (code / 'utils' / 'copycheck.py').is_file():  # before anything imports from inside the copy
        shadows = runpy.run_path(str(code / 'utils' / 'copycheck.py'))['shadowing'](code)
        if shadows:
            raise StopRun(f'The code in {code} (from {CODE_FROM}) has entries that Python would import or run in '
                          f'place of its own: {", ".join(shadows)}.\nWhat to do: remove them from the copy (a '
                          '`pip install --target` into the project folder leaves such folders), then choose Runtime > '
                          'Disconnect and delete runtime and Run all.')
    os.chdir(code)
    if any(importlib.util.find_spec(name) is None for name in ('mmseg', 'mmengine', 'mmcv', 'ftfy', 'gdown')):
        # pin the runtime's own torch, torchvision, numpy and opencv, so that pip can only add what is missing;
        # pip runs from outside the copy (python -m would import a pip/ folder of the copy), with absolute paths
        frozen = subprocess.run([sys.executable, '-m', 'pip', 'freeze'], capture_output=True, text=True,
                                cwd='/').stdout
        Path('/tmp/colab-keep.txt').write_text(''.join(
            line + '\n' for line in frozen.splitlines()
            if line.split('==')[0].lower() in ('torch', 'torchvision', 'numpy') or line.lower().startswith('opencv')))
        got = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '-r', str(code / 'requirements.txt'),
                              '-c', '/tmp/colab-keep.txt'], capture_output=True, text=True, cwd='/')
        if got.returncode:
            raise StopRun('Installing the requirements failed:\n' + '\n'.join(got.stderr.strip().splitlines()[-3:])
                          + '\nWhat to do: run this cell again; if it fails again, choose Runtime > Disconnect and '
                          'delete runtime, then Runtime > Run all.')
elif Path.cwd().name == 'notebooks':
    os.chdir('..')
    CODE_FROM = os.getcwd()
sys.path.insert(0, os.getcwd())
try:
    from utils import session  # noqa: E402
except ImportError as exc:
    raise StopRun(f'The code in {os.getcwd()} (from {CODE_FROM}) is incomplete: {exc}.\nWhat to do: put a complete '
                  'copy of the project there (or set REPO to owner/name on GitHub), then choose Runtime > Disconnect '
                  'and delete runtime and Run all.') from None

PLAN = session.start(NOTEBOOK, {name: globals().get(name) for name in session.PARAMETERS}, code_from=CODE_FROM)

# %% [markdown]
# ## The schedule of both stages, with the resume point marked

# %%
from utils import steps  # noqa: E402

session.show_schedule(PLAN, stages=2)

# %% [markdown]
# ## Resume
# The newest intact checkpoint of stage 2 is used when there is one (a disconnect during stage 2), otherwise the
# last checkpoint of stage 1. A checkpoint cut off mid-write, or damaged, is skipped with a warning. A recipe
# without a second stage says so and trains nothing.

# %%
stage2 = steps.train_stage(PLAN, 2)

# %% [markdown]
# ## Both stages, with the resume point marked
# Stage 2 keeps its own record next to its checkpoints, as stage 1 did (`run_record.json`, `class_weights.csv`,
# `val_per_class.csv`, the curves with the validation loss in red): `06_handin` reads both stages from Drive.

# %%
steps.stage_results(PLAN, 2)

# %%
session.closing(PLAN)
