# %% [markdown]
# # Set-up: the runtime, the run's settings and the model
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/00_setup.ipynb)
#
# Seven notebooks train a face-parsing model on CelebAMask-HQ mini, build a leaderboard submission and assemble the
# course hand-in: `00_setup` (this one), `01_data_check`, `02_train_20k`, `03_resume_30k`, `04_evaluate`,
# `05_submit` and `06_handin`. Open them in that order and press **Runtime > Run all** in each. Each opens on the
# runtime it needs: a CPU runtime for `00_setup`, `01_data_check` and `06_handin` (saving GPU time), a T4 GPU for
# `02_train_20k`, `03_resume_30k`, `04_evaluate` and `05_submit`.
#
# **Needs:** nothing; this is the first notebook, and a CPU runtime is enough for it. Without a GPU (and with
# nothing set) the later notebooks make only a *smoke run* on tiny data, and say so in bold.
#
# **Google Drive.** Colab gives every open notebook its own runtime, with its own disk, and only Google Drive
# survives from one notebook to the next and across a disconnect. So the run lives in
# `MyDrive/celebamask-parsing/`: its settings (`settings.json`, written by the first notebook you run, read by every
# later one), a copy of the dataset, the checkpoints and the submission. **Run all asks once for permission to
# use your Drive: allow it.**
#
# This notebook records the run's settings, shows the runtime (versions, GPU, CUDA), how much Drive space the run
# will need, and the model.

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
TTA = None               # test-time augmentation: 'none', 'flip' (left/right swapped; the default) or 'ms'
                         # (3 scales x flip: about 3x slower than 'flip' to evaluate and predict)
FINAL_FIT = None         # 2022: True trains on train + val for the test submission, once the recipe is chosen on val
                         # (own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit
MATRIC = None            # 06 only (or once here): your matriculation number, e.g. 'G1234567A'; names the zip
LEADERBOARD_NAME = None  # 06 only (or once here): your user name on the leaderboard, for Readme.txt

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
NOTEBOOK = '00_setup'  # the same cell in every notebook but for this name; bootstrap.py does the work
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
# The table above is the plan every notebook of this run follows; its last column says where each value came
# from: *set here* (the parameters cell), *settings.json* (an earlier notebook) or *default*. This notebook writes
# the run's `settings.json`; to change the run later, change a parameter here and run this notebook again. A
# parameter left at `None` keeps the run's value: to undo one, set it explicitly (`SMOKE = False`, `RECIPE = 'seed'`).
# A smoke run keeps its checkpoints in `work_dirs/smoke`, so the real run never starts from a smoke model.
#
# ## The runtime
# Versions of the stack, the GPU, CUDA and the compilers. The OpenMMLab packages are pure-Python wheels
# (`mmcv-lite`: no compiled ops are needed for DeepLabV3+), so nothing is built here.

# %%
from utils.notebook import narrate  # noqa: E402

table = session.environment(PLAN)
session.show(table, narrate.runtime(table.data))

# %% [markdown]
# ## What the run keeps on Google Drive
# Each training stage keeps its three newest checkpoints (a resumable `iter_*.pth` holds the weights and the
# optimizer's momentum, 349 MB for the R50 model) and the best of its own validations (175 MB), plus one more while
# the next is written (R101: about 1.5 times as much). The set-up of `02_train_20k` and `03_resume_30k` checks that
# Drive has that much free before training.

# %%
table = session.drive_budget(PLAN)
session.show(table, narrate.drive_space(table.data))

# %% [markdown]
# ## The model
# The config names the model in MMSegmentation's registry terms: an `EncoderDecoder` with a backbone, a decode head
# that makes the prediction and, for most recipes, auxiliary heads that only help training. The 2022 seed recipe is
# DeepLabV3+: a dilated ResNet-50 (output stride 8), atrous separable convolutions at rates 12, 24, 36, and low-level
# features for sharp boundaries, started from ImageNet-1k weights. The 2025 recipes are small real-time networks
# (BiSeNetV2, Fast-SCNN, MobileNetV3 + LR-ASPP) trained from scratch under the cap of 1,821,085 parameters, which
# counts the auxiliary heads too.

# %%
from utils.core.config import load_config  # noqa: E402
from utils.core.model import build_segmentor, parameter_table  # noqa: E402

cfg = load_config(PLAN.config_20k)
aux = cfg.model.get('auxiliary_head') or []
aux = aux if isinstance(aux, list) else [aux]
print(f'{cfg.model.type}: backbone {cfg.model.backbone.type}, decode head {cfg.model.decode_head.type}, '
      f'auxiliary heads {[head.type for head in aux]}')
model = build_segmentor(cfg)  # random weights: the counts do not depend on them
counts = parameter_table(model, trainable_only=PLAN.rules.trainable_only)
session.show(counts.style.format('{:,}').set_caption(f'Parameters of {PLAN.config_20k}'),
             narrate.parameters(counts, PLAN.config_20k, PLAN.rules))

# %% [markdown]
# Under the 2022 rules the seed and improved R50 models have the report's **43,589,878** trainable parameters
# (`'improved-r101'` about 62.6 M, `'swin-b'` 121,314,206, `'segformer-b3'` 44,603,859), each from ImageNet-1k weights
# only. Under the 2025 rules every recipe stays below 1,821,085 and starts from random weights; training refuses
# anything else (`python -m utils.core.model fit-budget CONFIG` sizes a model of your own to the cap).

# %%
session.closing(PLAN)
