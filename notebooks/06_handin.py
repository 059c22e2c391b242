# %% [markdown]
# # Hand in: the course zip and an editable report draft, built from the run
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/celebamask-parsing/celebamask-parsing/blob/main/notebooks/06_handin.ipynb)
#
# The course wants more than the leaderboard zip: one zip named after your matriculation number, holding a report
# PDF of at most five A4 pages (single column, Arial 12 under the 2022 rules, Arial 10 under `EDITION = '2025'`)
# with the model, the loss functions, the training curves, the parameter count by the course formula (2025-26: against
# the cap of 1,821,085, with the optimization and regularization and an experimental analysis over every recipe you
# evaluated) and the training machine; the best test predictions (2025-26: the `masks/` of the 100 test images); all
# the code; a screenshot of your leaderboard score; the submitted checkpoint; and a `Readme.txt` with your
# matriculation number, leaderboard name, the files, the data step, the libraries and how to run. Marks are
# deducted for missing files.
#
# This notebook builds all of it from what the run kept on Google Drive, days later if need be, on any runtime (a
# CPU runtime is enough: **Runtime > Change runtime type > CPU** saves GPU time). Each training stage wrote its
# record next to its checkpoints (`run_record.json`: machine, `nvcc -V`, `gcc --version`, `nvidia-smi`, versions,
# parameter count, recipe and timing; `class_weights.csv`; `val_per_class.csv`; the curves with the validation loss),
# `04_evaluate` kept its scores in `eval/`, and `05_submit` its zip. Nothing is trained or predicted again.
#
# **Needs:** `02_train_20k` (and `03_resume_30k` for the seed recipe), `04_evaluate` and `05_submit` run before.
# **You add:** `MATRIC` and `LEADERBOARD_NAME` in the parameters cell, and after uploading, the leaderboard
# screenshot as `handin/score.png` and the finished report as `handin/report.pdf` in
# `MyDrive/celebamask-parsing/work_dirs/`; then run this notebook again. What is still missing is listed in the
# hand-in check at the end, with what to do; a missing item never stops the draft being built.

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
CHECKPOINT = None        # 04 and 05 only: a .pth to evaluate or submit (default: the run's final checkpoint)
FINAL_FIT = None         # 2022: True trains on train + val for the test submission, once the recipe is chosen on val
                         # (own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit
MATRIC = None            # 06 only (or once here): your matriculation number, e.g. 'G1234567A'; names the zip
LEADERBOARD_NAME = None  # 06 only (or once here): your user name on the leaderboard, for Readme.txt

# %%
#@title Set-up: gets this project's code, installs what is missing, mounts Google Drive (a click shows the code)
NOTEBOOK = '06_handin'  # the same cell in every notebook but for this name; bootstrap.py does the work
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
# ## Build `handin/` and the zip
# Figures in the report's layout (each curve with stage 1 on the left and the whole run, the resume marked, on the
# right; PNG for the draft and PDF for LaTeX), the tables as CSV, Markdown and LaTeX, the report draft as `.docx`
# (opens in Word and Google Docs) and as `report.tex` (upload the `handin` folder to Overleaf), `Readme.txt`, and the
# test predictions after the submission checker passed them. A file you put into `handin/` yourself, or edited
# there, is never overwritten: the new one is written beside it.

# %%
from utils.notebook import handin as steps  # noqa: E402

with session.guard():
    result = steps.build_for_plan(PLAN)

# %% [markdown]
# ## The number of parameters, counted on the model
# The report states the model's size the way the course's rules count it. Here is that count on the model itself,
# built from the run's config as MMSeg builds it (an `EncoderDecoder`): the 2022 rules count the trainable
# parameters, the 2025-26 rules every parameter of the model that predicts, and cap them.

# %%
from utils.core.config import load_config  # noqa: E402
from utils.core.model import build_segmentor, parameter_table  # noqa: E402
from utils.notebook import narrate  # noqa: E402

model = build_segmentor(load_config(PLAN.config_20k, smoke=PLAN.smoke))  # MMSeg's EncoderDecoder
counts = parameter_table(model, trainable_only=PLAN.rules.trainable_only)  # as the edition's formula counts
session.show(counts.style.format('{:,}').set_caption(f'Parameters of {PLAN.config_20k}'),
             narrate.parameters(counts, PLAN.config_20k, PLAN.rules))

# %% [markdown]
# ## The figures of the draft
# The loss panel shows the training loss (smoothed) and, in red, the **validation loss**: the decode head's own
# loss (class-weighted cross-entropy, averaged over all val pixels, without OHEM's sampling) computed at each
# validation from the logits the validation produced anyway. Then mIoU / mAcc / aAcc on val, the LR and momentum
# the run used, the per-class IoU against the reference report, and a few test predictions.

# %%
from utils.notebook import narrate  # noqa: E402

steps.show_figures(result)
session.say(narrate.handin_figures(result.folder, result.scalars))

# %% [markdown]
# ## The report draft
# `report_draft.docx` holds every section the course asks for, filled from the run; the places only you can fill
# (your name, the test score, the screenshot) are marked **TO DO** in yellow. Its length is estimated below: cut it
# to five pages before exporting it as PDF (Google Docs: *File > Download > PDF document*).

# %%
outline = steps.draft_outline(result)
session.show(outline, narrate.draft(result.pages, outline.data, steps.max_pages(result)))

# %% [markdown]
# ## The hand-in check
# Every item the specification asks for: *present*, *filled from the run*, or *missing* with what to do. The
# `report.pdf` you save is read back: while it still holds a **TO DO** mark, the `__.__` placeholder or no test
# score, it is *not finished*, and the table says what is left; the test score it states is shown beside the
# leaderboard screenshot's row.

# %%
session.show(result.styled(), narrate.handin_check(result.checks))

# %% [markdown]
# ## Download
# The zip is downloaded once nothing is missing (a smoke run's never is): until then each run would download a zip
# that cannot be handed in. `download=True` below downloads it now anyway. The same from a terminal:
# `python -m utils.handin --work-root WORK_ROOT --recipe seed --out handin --matric ... --leaderboard-name ...`.

# %%
downloaded = steps.offer(result, smoke=PLAN.smoke, download=None)  # None: once nothing is missing; True: now

# %%
session.closing(PLAN, (('the hand-in zip' + (' (also downloaded)' if downloaded else ''), result.zip_path),))
