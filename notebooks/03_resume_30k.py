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
NOTEBOOK = '03_resume_30k'  # the same cell in every notebook but for this name; bootstrap.py does the work
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
# ## The config of stage 2: what the Runner reads
# Stage 2 has its own `Config`. Under the 2022 rules it is the seed's 30k config: the same model and data, a
# schedule that runs on to 30,000 iterations, and MMEngine's resume, which restores the weights, the optimizer's
# momentum and the iteration count of stage 1's last checkpoint. Under the 2025-26 rules it is the final
# fit: the recipe of stage 1 trained afresh on all 1,000 training pairs, with no holdout left to validate on.

# %%
from utils.core.config import load_config  # noqa: E402
from utils.notebook import narrate  # noqa: E402

spec = PLAN.stage(2)
if spec is None:
    print(f'The {PLAN.recipe!r} recipe has no stage 2: go on to 04_evaluate.')
else:
    cfg = load_config(spec.config, smoke=spec.smoke, max_iters=spec.iters)
    print(narrate.stage_config(spec, cfg))

# %% [markdown]
# ## The schedule of both stages, with the resume point marked

# %%
from utils.notebook import steps  # noqa: E402

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
