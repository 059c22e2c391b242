# The parameters cell of every notebook, stated once: `python -m scripts.notebooks sync` copies into each notebook
# the header and the lines of the parameters it reads (utils.workflow.READS). Edit the wording here, then sync.
# Parameters: the only cell to edit. None means "the run's setting" (settings.json on Drive, written by the first
# notebook you run), else the default. A value set here wins for this notebook, and the plan below says so.
SMOKE = None             # True: tiny smoke run on any machine; False: the real run (needs a GPU); None: the run's
                         # setting, else real on a GPU. A kept True stays until you set False here (in 00_setup)
RECIPE = None            # 'seed' (the reference report's recipe, the default), 'improved', 'improved-r101',
                         # 'swin-b' (UperNet + Swin-B, the top candidate) or 'segformer-b3' (SegFormer MiT-B3)
REPO = None              # the code: 'owner/name' on GitHub (default: this project), or a Drive folder with a copy
DATA_SOURCE = None       # 01 only: the course's Drive share link or file id, a zip or folder path, or 'synthetic'
DATA_ROOT = None         # the dataset on this runtime's disk (default /content/data/celebamask)
WORK_ROOT = None         # checkpoints (default MyDrive/celebamask-parsing/work_dirs; a smoke run's in work_dirs/smoke)
ITERS_20K = None         # stage-1 iterations (default: the config's 20,000; 60 in a smoke run)
ITERS_30K = None         # the iteration the seed's stage 2 ends at, counting stage 1 (default 30,000; smoke: 90)
TTA = None               # test-time augmentation: 'none', 'flip' (left/right swapped; the default) or 'ms'
                         # (3 scales x flip: about 3x slower than 'flip' to evaluate and predict)
CHECKPOINT = None        # 04 and 05 only: a .pth to evaluate or submit (default: the run's final checkpoint)
CHECKPOINT_CONFIG = None # 04 and 05 only: the config name of a CHECKPOINT from elsewhere (its stored text never runs)
ALLOW_LOCAL_WORK = None  # 01-03 only: True works without Google Drive (01 checks the data only; 02/03 lose the run
                         # at a disconnect)
FINAL_FIT = None         # True: train on train + val for the test submission, once the recipe is chosen on val
                         # (its own work_dir, <config>_trainval; its val scores are then not honest)
MATRIC = None            # 06 only (or once here): your matriculation number, e.g. 'G1234567A'; names the zip
LEADERBOARD_NAME = None  # 06 only (or once here): your user name on the leaderboard, for Readme.txt
