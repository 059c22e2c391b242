"""Write the six notebooks in notebooks/ from this one source, so that their set-up cells stay identical.

    python scripts/build_notebooks.py      # rewrites notebooks/*.ipynb (no outputs)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
#: GitHub owner/name of the repository; forks change it here and re-run this script.
GITHUB_REPO = 'celebamask-parsing/celebamask-parsing'


def badge(name: str) -> str:
    url = f'https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/{name}.ipynb'
    return f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})'


SETUP = f'''# Find the project: in Colab clone it (once) and install what is missing; elsewhere run from the repo root.
import os
import sys
from pathlib import Path

IN_COLAB = 'google.colab' in sys.modules
if IN_COLAB:
    if not Path('/content/celebamask-parsing/utils').is_dir():
        !git clone -q https://github.com/{GITHUB_REPO}.git /content/celebamask-parsing
    %cd /content/celebamask-parsing
    # install only what is missing; pinning the installed torch/numpy/opencv means pip can never replace them
    !pip freeze | grep -iE '^(torch|torchvision|numpy|opencv-[a-z-]+)==' > /tmp/colab-keep.txt
    !pip install -q -r requirements.txt -c /tmp/colab-keep.txt
elif Path.cwd().name == 'notebooks':
    os.chdir('..')
sys.path.insert(0, os.getcwd())
from utils import env  # noqa: E402  (installs the mmcv-lite shim before mmseg is imported)

%matplotlib inline

if IN_COLAB:
    env.mount_drive()  # work_dirs live on Drive, so a disconnect loses at most one checkpoint interval
print('repository:', os.getcwd(), '| Colab:', IN_COLAB, '| device:', env.device())'''

PLAN = '''from utils.workflow import make_plan

PLAN = make_plan(SMOKE, RECIPE, data_source=DATA_SOURCE, data_root=DATA_ROOT, work_root=WORK_ROOT,
                 iters_20k=ITERS_20K, iters_30k=ITERS_30K, tta=TTA)
PLAN.frame()'''

PARAMS = '''# Parameters: the only cell to edit (papermill injects values below this cell in headless runs).
SMOKE = None        # None means auto: a smoke run (synthetic data, 64px, tens of iterations) when no GPU is found
RECIPE = 'seed'     # 'seed' (the reference report's recipe), 'improved' or 'improved-r101'
DATA_SOURCE = None  # Google Drive file id or share URL, a zip or folder path, or 'synthetic'; None uses DATA_ROOT
DATA_ROOT = None    # dataset folder on local disk; None means /content/data/celebamask in Colab
WORK_ROOT = None    # checkpoint folder; None means Google Drive in Colab, ./work_dirs elsewhere
ITERS_20K = None    # stage-1 iterations; None means 20,000 (60 in a smoke run)
ITERS_30K = None    # stage-2 iterations of the seed's resume; None means 30,000 (90 in a smoke run)
TTA = 'flip'        # test-time augmentation for evaluation and submission: 'none', 'flip' (L/R swapped) or 'ms'
'''


def notebook(name: str, title: str, intro: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata.update({'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                        'language_info': {'name': 'python'}, 'accelerator': 'GPU',
                        'colab': {'provenance': [], 'gpuType': 'T4'}})
    nb.cells.append(new_markdown_cell(f'# {title}\n\n{badge(name)}\n\n{intro}'))
    params = new_code_cell(PARAMS)
    params.metadata['tags'] = ['parameters']
    nb.cells.append(params)
    nb.cells.append(new_code_cell(SETUP))
    for kind, text in cells:
        nb.cells.append(new_markdown_cell(text) if kind == 'md' else new_code_cell(text))
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes only what was edited
        cell.id = f'cell-{i:02d}'
    return nb


NOTEBOOKS = {
    '00_setup': ('Set up: environment, dependencies and the model', '''\
This course project parses faces: every pixel of a 512x512 CelebAMask-HQ photo gets one of 19 labels
(skin, nose, left/right eye, brow and ear, lips, hair, hat, earring, necklace, neck, cloth, background).
The reference report trained DeepLabV3+ with a ResNet-50 backbone in MMSegmentation and reached
**val mIoU 74.72 / test 74.25**. These six notebooks reproduce it and try to beat it.

This first notebook checks the machine: Python and library versions, the GPU, CUDA, nvcc and gcc, and
builds the model once to count its parameters (the report prints 43,589,878).''', [
        ('md', '''## The environment
Today's Colab has Python 3.13 and a recent torch. The compiled `mmcv` has no wheels for it and takes tens of
minutes to build, so this project uses **mmcv-lite** (pure Python). A few MMSegmentation modules import
`mmcv.ops` unconditionally; `utils.compat` serves a small pure-PyTorch stand-in for those, and only when the
compiled ops are missing. DeepLabV3+ needs no compiled op at all.'''),
        ('code', 'env.environment_frame()'),
        ('md', '''## The plan of this run
One table says what every notebook will do: the recipe, whether this is a smoke run (no GPU: synthetic
data and a tiny schedule, so the whole sequence still runs end to end), and where data and checkpoints go.'''),
        ('code', PLAN),
        ('md', '''## The model
DeepLabV3+ reads the image with a dilated ResNet-50 (output stride 8), looks at several scales at once with
atrous separable convolutions (rates 12, 24, 36), and sharpens boundaries with low-level features. An
auxiliary FCN head on stage 3 helps training only; it is dropped at test time.'''),
        ('code', '''from utils.model import model_summary

model_summary(PLAN.config_20k)'''),
        ('md', '''The whole model has the report's **43,589,878** trainable parameters. Next: `01_data_check`.'''),
    ]),
    '01_data_check': ('Data: fetch, verify and understand CelebAMask-HQ mini', '''\
A first hour is easily lost to data that is half downloaded, unzipped one folder too deep, or has masks
saved as colours instead of label indices. This notebook fetches the dataset once, normalises it to the
course layout (`train/train_image`, `train/train_mask`, `val/...`, `test/test_image`), checks every file,
and shows what the labels look like: how rare some classes are is the reason for the class weights and
OHEM used in training.''', [
        ('code', PLAN),
        ('md', '''## Fetch
From a Google Drive id or link (downloaded once, resumable), a zip or folder on Drive (copied to the fast
local disk), or `synthetic` for the built-in cartoon faces used by smoke runs.'''),
        ('code', '''from utils import data

root = data.fetch(PLAN.data_source, PLAN.data_root)
data.dataset_counts(root)'''),
        ('md', '''## Verify
Every image has its mask, sizes match, images decode completely, masks are single-channel with values
0..18, no file appears in two splits. Nothing is modified; each failure names its files and the fix.'''),
        ('code', '''report = data.check_dataset(root, expect=None if PLAN.smoke else data.EXPECTED_COUNTS)
report'''),
        ('md', '''## How unbalanced are the classes?
Skin, hair and background cover most pixels; a necklace (`neck_l`) or an earring (`ear_r`) covers almost
none and appears in few images. A loss that treats every pixel alike learns the big classes and ignores the
small ones: the report's first run scored 0.0 IoU on `neck_l`. Two remedies follow from this chart: weight
the rare classes up, and train on the hard pixels (OHEM).'''),
        ('code', '''from utils import stats

stats.plot_class_frequencies(root)'''),
        ('md', '''The report picked its class weights by hand. The table puts them next to two weightings computed
from these frequencies: median-frequency balancing and the gentler inverse square root, which the improved
recipe uses.'''),
        ('code', 'stats.weight_table(root, styled=True)'),
        ('md', '## What the masks look like'),
        ('code', 'stats.overlay_grid(root)'),
        ('md', '## Where the rare classes occur'),
        ('code', 'stats.rare_class_grid(root)'),
    ]),
    '02_train_20k': ('Train: stage 1, 20,000 iterations', '''\
The seed recipe, in MMSegmentation 1.x terms: DeepLabV3+ R50 from ImageNet weights, batch 4, SGD with
class-weighted cross-entropy and **OHEM** (only pixels predicted with confidence below 0.7 are trained on,
at least 100,000 per batch, so easy skin and background pixels stop dominating the gradient), and the
**one-cycle cosine schedule** of the report: the learning rate climbs from 0.01 to 0.1 over the first 40%
while momentum dips from 0.9 to 0.85, then both return, the LR down to 1e-6. A high LR in the middle
explores, the low end settles. Set `RECIPE = 'improved'` to train the improved recipe instead (left/right
swapping flips, scale and colour augmentation, data-derived class weights, poly LR).

Checkpoints go to the work_dir every 2,000 iterations (on Drive in Colab): if the runtime disconnects,
run this notebook again and it resumes from the newest readable checkpoint.''', [
        ('code', PLAN),
        ('md', '## The schedule, from the real MMEngine schedulers of the config'),
        ('code', '''from utils.workflow import plot_schedule, schedule_trace

plot_schedule(schedule_trace(PLAN.config_20k, every=20), title=PLAN.config_20k)'''),
        ('md', '''## Train
MMEngine logs every 50 iterations (loss, LR, momentum, time); the plot below redraws as training runs and
val mIoU is added every 2,000 iterations.'''),
        ('code', '''from utils.train import train

stage1 = train(PLAN.config_20k, PLAN.data_root, PLAN.work_dir_20k, max_iters=PLAN.iters_20k, amp=PLAN.amp,
               resume='auto', smoke=PLAN.smoke_options(PLAN.iters_20k),
               extra_hooks=[dict(type='LiveCurveHook', interval=5 if PLAN.smoke else 200)])
stage1['metrics']'''),
        ('md', '## Checkpoints and curves'),
        ('code', '''from utils.metrics import plot_curves
from utils.checkpoints import checkpoint_table

display(checkpoint_table(PLAN.work_dir_20k))
plot_curves([PLAN.work_dir_20k])'''),
        ('md', '''Next: `03_resume_30k` continues the seed recipe to 30,000 iterations, as the report did.'''),
    ]),
    '03_resume_30k': ('Resume: stage 2, from 20,000 to 30,000 iterations', '''\
The report trained 20k iterations, then resumed to 30k. With the old mmcv hooks the one-cycle schedule was
recomputed over the new length, so at iteration 20,000 the LR jumped back to about 0.059 and annealed
again: a second, shorter cycle (a warm restart) that let the model leave the minimum it had settled in.
MMEngine would instead restore the finished 20k schedule from the checkpoint; this project decides it
explicitly: the 30k config recomputes the cycle over 30k, and only step counters come from the checkpoint.
The improved recipe spends its budget in one 20k run and has no second stage.''', [
        ('code', PLAN),
        ('code', '''if PLAN.config_30k is None:
    print(f'The {PLAN.recipe!r} recipe has no stage 2: go on to 04_evaluate.')
else:
    from utils.workflow import plot_schedule, schedule_trace

    display(plot_schedule(schedule_trace(PLAN.config_20k, PLAN.config_30k, every=20), title='20k, then resumed to 30k'))'''),
        ('md', '''## Resume
The newest readable checkpoint of stage 2 is used if there is one (a disconnect during stage 2),
otherwise the last checkpoint of stage 1. A truncated file is skipped with a warning.'''),
        ('code', '''from utils.checkpoints import find_resume_checkpoint
from utils.train import train

if PLAN.config_30k is not None:
    start = find_resume_checkpoint(PLAN.work_dir_30k, PLAN.work_dir_20k)
    print('resuming from', start)
    stage2 = train(PLAN.config_30k, PLAN.data_root, PLAN.work_dir_30k, max_iters=PLAN.iters_30k, amp=PLAN.amp,
                   resume=start, smoke=PLAN.smoke_options(PLAN.iters_20k),
                   extra_hooks=[dict(type='LiveCurveHook', interval=5 if PLAN.smoke else 200)])
    display(stage2['metrics'])'''),
        ('md', '## Both stages, with the resume point marked'),
        ('code', '''from utils.metrics import plot_curves
from utils.checkpoints import checkpoint_table

display(checkpoint_table(PLAN.work_dir_20k, PLAN.work_dir_30k))
plot_curves([d for d in (PLAN.work_dir_20k, PLAN.work_dir_30k) if d is not None])'''),
    ]),
    '04_evaluate': ('Evaluate: per-class IoU, the seed comparison and an interactive inspector', '''\
One number (mIoU) hides what the model does. This notebook evaluates the best checkpoint on the val split
with test-time augmentation, and breaks the result down: per class, against the reference report's two
tables, as a confusion matrix, and image by image in an inspector where you pick a class and browse from
the worst image to the best. Flip TTA here swaps the left/right channels of the mirrored prediction, so a
flipped left eye counts as a left eye (MMSegmentation's own flip TTA would mix them).''', [
        ('code', PLAN),
        ('code', '''from utils.evaluate import evaluate
from utils.workflow import final_checkpoint

CHECKPOINT = final_checkpoint(PLAN)
result = evaluate(CHECKPOINT, PLAN.data_root, split='val', tta=PLAN.tta)
print(CHECKPOINT)'''),
        ('md', '## Summary and per-class table (worst classes outlined)'),
        ('code', '''from utils.metrics import compare_with_seed, per_class_table, plot_confusion, plot_curves, summary_table

summary_table(result)'''),
        ('code', 'per_class_table(result)'),
        ('md', '''## Against the reference report
Its first run (plain loss, 20k) and its best run (class weights + OHEM, 30k), with the difference to ours.'''),
        ('code', 'compare_with_seed(result)'),
        ('md', '## Training curves of both stages'),
        ('code', 'plot_curves([d for d in (PLAN.work_dir_20k, PLAN.work_dir_30k) if d is not None and d.is_dir()])'),
        ('md', '''## Confusion matrix
Rows are the true class, normalised per row: off-diagonal cells show which classes are taken for which
(left for right, hair for hat, neck for skin).'''),
        ('code', 'plot_confusion(result)'),
        ('md', '''## Inspector
Pick a class (sorted from the worst IoU), see how its IoU spreads over the images, and step through the
images from worst to best: image, ground truth, prediction and the error map, the class highlighted.'''),
        ('code', '''from utils.widgets import inspector

inspector(result.out_dir, PLAN.data_root)'''),
    ]),
    '05_submit': ('Submit: predict the test set and build a validated zip', '''\
The leaderboard reads a zip with one single-channel PNG per test image (`100.jpg` -> `100.png`, same size,
values 0..18) and scores mIoU over the whole test set. One wrong name, an RGB-coloured PNG or a missing
file costs a submission, so the zip is checked before it is offered for download. Prediction is resumable:
re-running skips the masks already written.''', [
        ('code', PLAN),
        ('code', '''from utils.submit import make_submission
from utils.workflow import final_checkpoint

CHECKPOINT = final_checkpoint(PLAN)
submission = make_submission(CHECKPOINT, PLAN.test_images, PLAN.submission_zip, tta=PLAN.tta,
                             reference=PLAN.val_masks, strict=not PLAN.smoke)
submission'''),
        ('md', '## A look at the predictions'),
        ('code', '''from utils.submit import class_histogram, preview_grid

preview_grid(submission.zip_path, PLAN.test_images, n=6)'''),
        ('md', '''The share of pixels predicted per class, next to the val ground truth: a collapsed class (far below
its val share) is a problem to find before uploading.'''),
        ('code', "class_histogram(submission.zip_path, reference=PLAN.val_masks)"),
        ('md', '''Synthetic data has test masks, so a smoke run can score its own zip with the leaderboard's formula.'''),
        ('code', '''from utils.submit import offer_download, score_submission

if PLAN.test_masks.is_dir():  # synthetic data only: the course's test masks are hidden
    display(score_submission(submission.zip_path, PLAN.test_masks).to_frame())
offer_download(submission.zip_path)'''),
    ]),
}


def main() -> None:
    out = REPO / 'notebooks'
    out.mkdir(exist_ok=True)
    for name, (title, intro, cells) in NOTEBOOKS.items():
        nbformat.write(notebook(name, title, intro, cells), out / f'{name}.ipynb')
        print('wrote', out / f'{name}.ipynb')


if __name__ == '__main__':
    main()
