# %% [markdown]
# # Data: fetch, verify, keep a copy on Drive, and understand CelebAMask-HQ mini
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/01_data_check.ipynb)
#
# A first hour is easily lost to data that is half downloaded, unzipped one folder too deep, or has masks saved
# as colours instead of label indices. This notebook fetches the dataset once onto this runtime's disk, normalises
# it to the course layout (`train/train_image`, `train/train_mask`, `val/...`, `test/test_image`), checks every
# file, **keeps one copy on Google Drive** for the notebooks after it (each runs on its own runtime and unpacks
# that copy), and shows what the labels look like: how rare some classes are is the reason for the class weights
# and OHEM used in training.
#
# **Needs:** `DATA_SOURCE`, set in the parameters cell below. `00_setup` is optional (it records the run's
# settings; without it this notebook does). Run All asks once for permission to use your Google Drive: allow it.
#
# **Where `DATA_SOURCE` comes from.** The course gives the dataset as one zip on Google Drive (the *CelebAMask-HQ
# mini* link on the course page). Any of these forms works:
# * the share link, e.g. `'https://drive.google.com/file/d/1AbC.../view?usp=sharing'` (the file must be shared
#   as "Anyone with the link"), or the bare file id `'1AbC...'`: downloaded once with `gdown`, resumable;
# * a path in your own Drive, e.g. `'/content/drive/MyDrive/datasets/celebamask_mini.zip'` or a folder there:
#   best when Drive says the link was opened too often (use "Add shortcut to Drive" on the course link);
# * `'synthetic'`: generated cartoon faces, to try everything without the real data (with `SMOKE = True`).
#
# Extra top folders, `__MACOSX` and names such as `images`/`masks` are recognised. Only this notebook needs
# `DATA_SOURCE`; it is kept in the run's settings.

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
DATA_SOURCE = None       # 01 only: the course's Drive share link or file id, a zip or folder path, or 'synthetic'
                         # (2025: the three zips train, val, test as a list, or one folder holding them)
DATA_ROOT = None         # the dataset on this runtime's disk (default /content/data/celebamask)
WORK_ROOT = None         # checkpoints (default MyDrive/celebamask-parsing/work_dirs; a smoke run's in work_dirs/smoke)
ALLOW_LOCAL_WORK = None  # 01-03 only: True works without Google Drive (01 checks the data only; 02/03 lose the run
                         # at a disconnect)

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
# The same in every notebook but for its name. A step that fails stops the notebook here with one message saying
# what to do.
NOTEBOOK = '01_data_check'
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
# ## Fetch
# Into this runtime's local disk, which is much faster to train from than Drive. Nothing is fetched twice: a
# complete dataset already in place is used as it is.

# %%
from utils import narrate, stats  # noqa: E402

root = session.fetch_dataset(PLAN)

# %% [markdown]
# ## Verify
# Every image has its mask, sizes match, images decode completely, masks are single-channel with values 0..18,
# no file appears in two splits. Nothing is modified; each failure names its files and the fix.

# %%
report = session.verify_dataset(PLAN, root)
session.show(report, narrate.dataset_check(report))

# %% [markdown]
# ## Keep a copy on Google Drive
# One archive of the checked dataset in `MyDrive/celebamask-parsing/data/` (stored, not compressed: JPG and PNG
# are compressed already). Notebooks 02 to 05 unpack it onto their own runtime's disk and check it again.

# %%
archive = session.keep_dataset(PLAN)

# %% [markdown]
# ## How unbalanced are the classes?
# Skin, hair and background cover most pixels; a necklace (`neck_l`) or an earring (`ear_r`) covers almost none
# and appears in few images. A loss that treats every pixel alike learns the big classes and ignores the small
# ones: the report's first run scored 0.0 IoU on `neck_l`. Two remedies follow from this chart: weight the rare
# classes up, and train on the hard pixels (OHEM).

# %%
session.show(stats.plot_class_frequencies(root), narrate.class_balance(stats.class_frequencies(root)))

# %% [markdown]
# The report picked its class weights by hand. The table puts them next to two weightings computed from these
# frequencies: median-frequency balancing and the gentler inverse square root, which the improved recipe uses.

# %%
weights = stats.weight_table(root, styled=True)
session.show(weights, narrate.class_weights(weights.data))

# %% [markdown]
# ## What the masks look like

# %%
session.show(stats.overlay_grid(root), 'Each colour is one class (the legend names them). Look for what the loss must '
             'fight: brows, lips and a necklace are a few pixels wide, while hair, hat and cloth have ragged borders.')

# %% [markdown]
# ## Where the rare classes occur

# %%
session.show(stats.rare_class_grid(root), 'These are among the few images that hold the rare classes at all: with so '
             'few examples their IoU swings most from one checkpoint to the next (04\'s inspector shows them).')

# %%
session.closing(PLAN)
