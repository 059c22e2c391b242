# %% [markdown]
# # Submit: predict the test set and build a validated zip
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/05_submit.ipynb)
#
# The leaderboard reads a zip with one single-channel PNG per test image (`100.jpg` -> `100.png`, same size,
# values 0..18) and scores mIoU over the whole test set. One wrong name, an RGB-coloured PNG or a missing file
# costs a submission, so the zip is checked before it is offered for download. Prediction is resumable: re-running
# skips the masks already written for unchanged images.
#
# **Needs:** a trained checkpoint on Drive (`02_train_20k`, and `03_resume_30k` for the seed recipe) and the test
# images from the dataset copy of `01_data_check`. The zip is written to
# `MyDrive/celebamask-parsing/work_dirs/submission-<recipe>.zip` (its masks in `submission-<recipe>_masks/`), so each
# recipe keeps its own. A smoke run's is `work_dirs/smoke/submission-SMOKE-not-for-upload.zip`: not a submission.
# After a change of `CHECKPOINT` or `TTA` every mask is predicted again (the run says so).
# With `FINAL_FIT = True` it submits the final fit on train + val (`submission-<recipe>-trainval.zip`): the model
# to send once the recipe was chosen on val.

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
TTA = None               # test-time augmentation: 'none', 'flip' (left/right swapped; the default) or 'ms'
                         # (3 scales x flip: about 3x slower than 'flip' to evaluate and predict)
CHECKPOINT = None        # 04 and 05 only: a .pth to evaluate or submit (default: the run's final checkpoint)
CHECKPOINT_CONFIG = None # 04 and 05 only: the config name of a CHECKPOINT from elsewhere (its stored text never runs)
FINAL_FIT = None         # 2022: True trains on train + val for the test submission, once the recipe is chosen on val
                         # (own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
# The same in every notebook but for its name. A step that fails stops the notebook here with one message saying
# what to do.
NOTEBOOK = '05_submit'
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
# ## Predict and zip

# %%
from utils import narrate  # noqa: E402

from utils import steps  # noqa: E402

CKPT = session.checkpoint(PLAN, for_submission=True)
submission = steps.submit_run(PLAN, CKPT)
session.show(submission, narrate.submission(submission))

# %% [markdown]
# ## A look at the predictions

# %%
from utils.submit import class_histogram, preview_grid  # noqa: E402

session.show(preview_grid(submission.zip_path, PLAN.test_images, n=6), 'Look for faces whose parts are all there and '
             'on the right side; a mask of one colour, or eyes swapped left for right, means a problem to fix first.')

# %% [markdown]
# The share of pixels predicted per class, next to the val ground truth: a collapsed class (far below its val
# share) is a problem to find before uploading.

# %%
session.show(class_histogram(submission.zip_path, reference=PLAN.reference_masks),
             narrate.class_shares(submission.report))

# %% [markdown]
# ## Download
# Synthetic data has test masks, so a smoke run can score its own zip with the leaderboard's formula. To try the
# improved recipe later, set `RECIPE = 'improved'` in `00_setup`, run it, then `02_train_20k`, `04_evaluate` and
# `05_submit` again: its checkpoints go to their own work_dir and its zip is `submission-improved.zip`, so the seed
# run and its zip are kept.

# %%
steps.deliver(PLAN, submission)

# %%
session.closing(PLAN)
