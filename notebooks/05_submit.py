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
NOTEBOOK = '05_submit'  # the same cell in every notebook but for this name; bootstrap.py does the work
import os, sys, urllib.request  # noqa: E401, E402
from pathlib import Path  # noqa: E402
HOME = Path.cwd().parent if Path.cwd().name == 'notebooks' else Path.cwd()  # outside Colab: this checkout
if 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ:  # Colab: this runtime's own disk
    HOME = Path(os.environ.get('CELEBAMASK_CONTENT', '/content'))
    if not (HOME / 'bootstrap.py').is_file():  # the runtime's first set-up: the bootstrap from GitHub
        URL = 'https://raw.githubusercontent.com/celebamask-parsing/celebamask-parsing/HEAD/bootstrap.py'
        urllib.request.urlretrieve(os.environ.get('CELEBAMASK_BOOTSTRAP', URL), HOME / 'bootstrap.py')
sys.path.insert(0, str(HOME))
import bootstrap  # noqa: E402
PLAN = bootstrap.start(NOTEBOOK, globals())
from utils.notebook import session  # noqa: E402  (what the cells below call: show, say, closing)

# %% [markdown]
# ## The checkpoint and the config the masks come from
# The checkpoint is read once, here: its bytes, their SHA-256 and the weights. Everything below predicts from these
# bytes, and the zip's manifest names them by that SHA-256 (06's hand-in check compares it with the checkpoint it
# packs). The model is built from the config, an MMEngine `Config` of this project (the text a checkpoint carries
# is never run).

# %%
from utils.core.checkpoints import open_checkpoint  # noqa: E402

CKPT = session.checkpoint(PLAN, for_submission=True)
with session.guard(CKPT.parent):  # a checkpoint that cannot be used stops here, with one message
    opened = open_checkpoint(CKPT, PLAN.checkpoint_config)
    cfg = opened.cfg
weights = opened.state_dict()
print(f'{CKPT.name}: {opened.size / 1e6:,.1f} MB, SHA-256 {opened.sha256[:16]}..., {len(weights):,} tensors')
print(f'config {opened.config_path.name}: {cfg.model.type} with {cfg.model.backbone.type} and '
      f'{cfg.model.decode_head.type}; test-time augmentation {PLAN.tta!r}')

# %% [markdown]
# ## Predict and zip

# %%
from utils.notebook import narrate  # noqa: E402
from utils.notebook import steps  # noqa: E402

submission = steps.submit_run(PLAN, opened)
session.show(submission, narrate.submission(submission))

# %% [markdown]
# ## A look at the predictions

# %%
from utils.submit import class_histogram, preview_grid  # noqa: E402

grid = preview_grid(submission.zip_path, PLAN.test_images, n=6)
session.show(grid, narrate.preview(grid.masks_shown))

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
