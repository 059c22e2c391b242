# %% [markdown]
# # Train: stage 1, 20,000 iterations
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/02_train_20k.ipynb)
#
# The seed recipe, in MMSegmentation 1.x terms: DeepLabV3+ R50 from ImageNet weights, batch 4, SGD with
# class-weighted cross-entropy and **OHEM** (only pixels predicted with confidence below 0.7 are trained on, at
# least 100,000 per batch, so easy skin and background pixels stop dominating the gradient), and the report's
# **one-cycle cosine schedule**: the learning rate climbs from 0.01 to 0.1 over the first 40% while momentum dips
# from 0.9 to about 0.805 (0.9 x 0.85/0.95), then both return, the LR down to 1e-6. A high LR in the middle
# explores, the low end settles. The loss is averaged over all pixels as the report's MMSegmentation 0.22 did
# (`PixelMeanCrossEntropyLoss`). With `RECIPE = 'improved'` (set in `00_setup`) this notebook trains the improved
# recipe instead: left/right swapping flips, scale and colour augmentation, data-derived class weights, no OHEM, and
# a poly LR with warm-up instead of the cyclic schedule (weight decay 5e-4), all in this one 20k stage.
# `'improved-r101'` is the same with a ResNet-101: about 2.3 GB on Drive and about 6 hours on a T4.
#
# **Needs:** the dataset copy that `01_data_check` kept on Google Drive (unpacked here by the set-up cell), and
# about 1.6 GB free on Drive for the checkpoints (checked before training starts). On a T4 with mixed precision
# this stage takes about 4 hours (projected from a measured GPU run, docs/BENCHMARKS.md).
#
# **Transformers.** `'swin-b'` (UperNet + Swin-B, ImageNet-1k weights, 16,000 iterations, projected 5.8-7.6 h on a T4
# with mixed precision) and `'segformer-b3'` (SegFormer MiT-B3, 30,000 iterations, projected 5.8-7.5 h) train with
# AdamW, class-weighted cross-entropy plus the Lovasz loss, and the same augmentation; both are one stage. Their T4
# times are projections from published V100 speeds, not measurements: a Colab session that ends early resumes here.
#
# **Final fit.** Once a recipe has been chosen on val, `FINAL_FIT = True` (set in `00_setup`) trains it again on
# train + val for the test submission, into its own folder (`<config>_trainval`). The course allows it. Its val
# scores are **not honest** (it has seen val): 04 marks them, and 05 submits this model.
#
# **Disconnects.** Checkpoints go to Drive every 2,000 iterations. If the runtime disconnects, open this notebook
# again and press Run all: it resumes from the newest intact checkpoint.

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
ALLOW_LOCAL_WORK = None  # 01-03 only: True works without Google Drive (01 checks the data only; 02/03 lose the run
                         # at a disconnect)
FINAL_FIT = None         # 2022: True trains on train + val for the test submission, once the recipe is chosen on val
                         # (own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
# The same in every notebook but for its name. A step that fails stops the notebook here with one message saying
# what to do.
NOTEBOOK = '02_train_20k'
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
# ## The config: what the Runner will build
# MMEngine builds everything from one `Config`: the model with its losses, the data pipeline, the optimizer and the
# schedule. These are the parts that decide what this stage learns (a smoke run scales the images to 64 px and the
# schedule to its few iterations).

# %%
from utils import steps  # noqa: E402
from utils.config import load_config  # noqa: E402

cfg = load_config(PLAN.stage(1).config, smoke=PLAN.stage(1).smoke, max_iters=PLAN.stage(1).iters)
print('decode head loss:', cfg.model.decode_head.loss_decode)
print('train pipeline:  ', [step['type'] for step in cfg.train_pipeline])
print('optimizer:       ', cfg.optim_wrapper.optimizer)
print(f'iterations:       {cfg.train_cfg.max_iters:,}, batch {cfg.train_dataloader.batch_size}, '
      f'validation every {cfg.train_cfg.val_interval:,} on {"the holdout" if PLAN.edition != "2022" else "val"}')

# %% [markdown]
# ## The schedule, from the real MMEngine schedulers of the config
# As this run will use them (a smoke run shortens them to its few iterations).

# %%
session.show_schedule(PLAN, stages=1)

# %% [markdown]
# ## Train
# The bar shows the iterations, the ETA, the loss and the LR; the curves redraw as training runs, and val mIoU is
# added at every validation (every 2,000 iterations). MMEngine's full log (config, every 50 iterations) goes to
# a log file in a timestamped folder of the work_dir (the cell prints its path).

# %%
stage1 = steps.train_stage(PLAN, 1)

# %% [markdown]
# ## Checkpoints and curves
# The red points on the loss panel are the **validation loss**: at every validation, the decode head's own loss
# (class-weighted cross-entropy averaged over all val pixels, without OHEM's sampling and without the auxiliary
# head, which predicts nothing at test time) computed from the logits the validation produced anyway, so it costs no
# second pass. Besides the checkpoints, this stage keeps in its work_dir on Drive what the hand-in (`06_handin`)
# needs later: `run_record.json` (machine, `nvcc -V`, `gcc --version`, `nvidia-smi`, versions, parameter count,
# recipe, wall time and iterations/s), `class_weights.csv` (weights with the train pixel counts), `val_per_class.csv`
# (IoU / Acc / Dice per class at every validation) and `<timestamp>/vis_data/scalars.json` (the curves).

# %%
steps.stage_results(PLAN, 1)

# %% [markdown]
# ## Per-class decoding biases (2025-26 rules)
# The leaderboard's per-image F averages over the classes present in each image, so missing a rare class that is
# there (an earring, a necklace) costs a whole class term, while predicting it where it is absent costs little. A
# bias per class, added to the log-probabilities before the argmax, trades those two errors; it is tuned on the
# holdout and kept in the checkpoint, so every prediction (04, 05 and the submitted `run.py`) uses it. Under the
# 2022 rules this cell does nothing.

# %%
biases = steps.tune_biases(PLAN)

# %%
session.closing(PLAN)
