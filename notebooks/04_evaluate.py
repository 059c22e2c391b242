# %% [markdown]
# # Evaluate: per-class IoU, the comparison with the report, and an interactive inspector
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/04_evaluate.ipynb)
#
# One number (mIoU) hides what the model does. This notebook evaluates the run's final checkpoint (the best val mIoU
# among its last stage's validations; set `CHECKPOINT` for another one) on the val split and breaks the result down:
# against the reference report's two tables, per class, as a confusion matrix, and image by image in an inspector
# where you pick a class and browse from the worst image to the best.
#
# The report measured without test-time augmentation, so the comparison with it uses none; the gain of flip TTA
# is shown separately. Flip TTA here swaps the left/right channels of the mirrored prediction, so a flipped left
# eye counts as a left eye (MMSegmentation's own flip TTA would mix them).
#
# With `FINAL_FIT = True` the model evaluated is the final fit on train + val: it has seen every val image, so its
# val scores are **not honest** (the notebook says so above the tables); judge the recipe by the run without it.
#
# **Needs:** a trained checkpoint on Drive (`02_train_20k`, and `03_resume_30k` for the seed recipe) and the
# dataset copy of `01_data_check`. `CHECKPOINT` in the parameters cell evaluates another `.pth` instead.

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
NOTEBOOK = '04_evaluate'  # the same cell in every notebook but for this name; bootstrap.py does the work
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
# ## The model that predicts: a `Segmenter`
# The checkpoint is read once: its bytes, their SHA-256 (the name 05's zip and 06's hand-in give it) and the weights.
# `Segmenter` builds the model from the config as MMSeg does (an `EncoderDecoder`: a backbone and a decode head),
# loads the weights into it and keeps what prediction needs besides: the test size, the device, test-time
# augmentation and, under the 2025-26 rules, the per-class biases.

# %%
from utils.core.checkpoints import open_checkpoint  # noqa: E402
from utils.core.inference import Segmenter  # noqa: E402

CKPT = session.checkpoint(PLAN)
with session.guard(CKPT.parent):  # a checkpoint that cannot be used stops here, with one message
    opened = open_checkpoint(CKPT, PLAN.checkpoint_config)
    segmenter = Segmenter.from_checkpoint(opened)
model = segmenter.model
print(f'{CKPT.name}: {opened.size / 1e6:,.1f} MB, SHA-256 {opened.sha256[:16]}..., config {opened.config_path.name}')
print(f'{type(model).__name__} ({type(model.backbone).__name__} + {type(model.decode_head).__name__}): '
      f'{sum(p.numel() for p in model.parameters()):,} parameters on {segmenter.device}, test size '
      f'{segmenter.test_size[0]} x {segmenter.test_size[1]}, class biases: '
      f'{"tuned" if segmenter.class_bias is not None else "none"}')

# %% [markdown]
# ## Evaluate, as the report did and with test-time augmentation

# %%
from utils.notebook import steps  # noqa: E402

results = steps.evaluate_run(PLAN, opened, segmenter)

# %% [markdown]
# Each evaluation is kept on Drive next to the checkpoint, in `eval/<checkpoint>_val_<tta>/`: `summary.json`
# (aAcc / mIoU / mAcc / mDice, the checkpoint, TTA, parameters), `per_class.csv` (IoU / Acc / Dice / precision /
# recall per class), `confusion.csv` (19 x 19 pixel counts, rows = ground truth), `per_image.npz` and the predicted
# masks in `pred/`. `06_handin` builds the report's tables from these files.

# %% [markdown]
# ## The score the leaderboard computes
# **2022 rules:** the val scores next to the reference report's first run (plain loss, 20k) and best run (class
# weights + OHEM, 30k); the last rows add test-time augmentation and its gain, then the comparison per class.
# **2025-26 rules:** the leaderboard's per-image F on the holdout (stage 1 never trained on it), without and with
# TTA and the per-class biases, per class; then how the score spreads over the images, and the worst ones with their
# masks. The biases were tuned on these same images, so their gain here is optimistic.

# %%
from utils.notebook import narrate  # noqa: E402
from utils.notebook.fscore_views import image_f_table, plot_image_f  # noqa: E402
from utils.core.metrics import (compare_with_seed, per_class_table, plot_confusion, plot_curves, read_scalars,  # noqa: E402
                                summary_table)

if PLAN.edition == '2022':
    session.show(summary_table(results.plain, results.with_tta), narrate.evaluation(results.plain, results.with_tta))
    comparison = compare_with_seed(results.plain)
    session.show(comparison, narrate.seed_comparison(comparison.data))
else:
    session.show(image_f_table(*results), narrate.image_f(*results))
    session.show(plot_image_f(results.shown), narrate.image_f_spread(results.shown))

# %% [markdown]
# ## Per class (worst classes outlined)
# From here on the results are those with test-time augmentation (`TTA` in the plan; none when it is `'none'`),
# so a class's IoU below can be higher than in the comparison with the report above, which is without.

# %%
session.show(per_class_table(results.shown, image_f=PLAN.edition != '2022'), narrate.per_class(results.shown))

# %% [markdown]
# ## Training curves of the run's stages

# %%
session.show(plot_curves(PLAN.curve_work_dirs, title=f'Training curves, {PLAN.title}'),
             narrate.training(read_scalars(PLAN.curve_work_dirs)))

# %% [markdown]
# ## Confusion matrix
# Rows are the true class, normalised per row: off-diagonal cells show which classes are taken for which (left
# for right, hair for hat, neck for skin).

# %%
session.show(plot_confusion(results.shown), narrate.confusion(results.shown))

# %% [markdown]
# ## Inspector
# Pick a class (sorted from the worst IoU), see how its IoU spreads over the images, and step through the images
# from worst to best: image, ground truth, prediction and the error map, the class highlighted.

# %%
from utils.notebook.widgets import inspector  # noqa: E402

session.show(inspector(results.shown.out_dir, PLAN.data_root), narrate.inspector(results.shown))

# %% [markdown]
# ## Every recipe of this run, side by side with the report
# Each recipe trained and evaluated in this run's work_dirs (its final stage's latest evaluation on val): mIoU
# without TTA (as the report measured), with TTA and the gain, then the IoU of every class.

# %%
steps.show_recipes(PLAN)

# %%
session.closing(PLAN)
