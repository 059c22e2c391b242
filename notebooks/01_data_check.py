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
NOTEBOOK = '01_data_check'  # the same cell in every notebook but for this name; bootstrap.py does the work
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
# ## Fetch
# Into this runtime's local disk, which is much faster to train from than Drive. Nothing is fetched twice: a
# complete dataset already in place is used as it is.

# %%
from utils.notebook import narrate  # noqa: E402
from utils.core import stats  # noqa: E402

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
# ## What the model will see: the training set through MMSeg's pipeline
# The config's `train_dataloader.dataset` names a dataset class and a pipeline of transforms. MMSeg's `DATASETS`
# registry builds it from that dict, and indexing it runs the pipeline on one image: what comes out (an image
# tensor and a label map packed in a `SegDataSample`) is exactly what the model trains on.

# %%
from mmseg.registry import DATASETS  # noqa: E402

from utils.core.config import load_config  # noqa: E402
from utils.core.model import init_registries  # noqa: E402

init_registries()  # MMSeg's modules and this project's (its dataset class and transforms) in the registries
cfg = load_config(PLAN.config_20k, data_root=root, smoke=PLAN.smoke)
train_set = DATASETS.build(cfg.train_dataloader.dataset)
sample = train_set[0]
print(narrate.training_sample(train_set, sample, cfg.train_pipeline))

# %% [markdown]
# ## How unbalanced are the classes?
# Skin, hair and background cover most pixels; a necklace (`neck_l`) or an earring (`ear_r`) covers almost none
# and appears in few images. A loss that treats every pixel alike learns the big classes and ignores the small
# ones: the report's first run scored 0.0 IoU on `neck_l`. Two remedies follow from this chart: weight the rare
# classes up, and train on the hard pixels (OHEM).

# %%
freq = stats.class_frequencies(root)
session.show(stats.plot_class_frequencies(root), narrate.class_balance(freq))

# %% [markdown]
# The report picked its class weights by hand. The table puts them next to two weightings computed from these
# frequencies: median-frequency balancing and the gentler inverse square root, which the improved recipe uses.

# %%
weights = stats.weight_table(root, styled=True)
session.show(weights, narrate.class_weights(weights.data))

# %% [markdown]
# ## What the masks look like

# %%
session.show(stats.overlay_grid(root), narrate.masks_shown(freq))

# %% [markdown]
# ## Where the rare classes occur

# %%
session.show(stats.rare_class_grid(root), narrate.rare_classes(freq, stats.RARE_CLASSES))

# %%
session.closing(PLAN)
