"""What a result means: one or two sentences with the run's own numbers, said after the table or figure.

The notebooks show a result and then its reading (:func:`utils.notebook.session.show`), the way a course notebook
follows every output with a sentence. Each function takes the data the result was drawn from (no I/O of its
own, except :func:`summary`, which lists what a notebook left on Drive), so it is tested on crafted values.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from utils.base.labels import CLASSES
from utils.base.report import human_bytes
from utils.core.trends import overfitting


def _names(items: Sequence[tuple[str, float]], fmt: str = '{:.1f}') -> str:
    return ', '.join(f'`{name}` ({fmt.format(v)})' for name, v in items)


# --------------------------------------------------------------------------- 00 and 01
def plan(sources: dict[str, str]) -> str:
    """The plan table every notebook opens with: where its values came from."""
    here = sorted(k for k, v in sources.items() if v == 'set here')
    kept = sorted(k for k, v in sources.items() if v == 'settings.json')
    return (f'Set in this notebook: {", ".join(here) or "nothing"}; from the run\'s settings.json: '
            f'{", ".join(kept) or "nothing"}; everything else is a default (the last column of the table).')


def runtime(frame: Any) -> str:
    """The versions table of 00 (``utils.core.env.environment_frame``)."""
    value = frame['value'] if 'value' in frame else frame.iloc[:, 0]
    gpu = value.get('GPU', 'none')
    return (f'torch {value.get("torch", "?")} with MMSegmentation {value.get("mmsegmentation", "?")}; '
            f'mmcv ops: {value.get("mmcv ops", "?")}; GPU: **{gpu}**: '
            + ('AMP and channels-last are on for training.' if not str(gpu).startswith('none') else
               'fine for setting up and checking data; training needs a T4 runtime.'))


def drive_space(frame: Any) -> str:
    """The Drive budget table of 00 (its numeric ``GB`` column, one row per thing kept): the total, and the most
    held at once. A resumed stage writes its own work_dir while stage 1's checkpoints stay beside it, so the peak
    is the dataset copy plus both stages' checkpoints together, not the larger stage alone."""
    gb = frame['GB'].astype(float).dropna() if 'GB' in frame else frame.iloc[:0, 0]
    gb = gb[gb > 0]
    if gb.empty:
        return 'The run needs only a few MB on Drive.'
    stages = [w for w in gb.index if str(w).startswith('stage')]
    text = f'Up to about **{gb.sum():.1f} GB** on Drive at once'
    if len(stages) > 1:
        text += (f': the last stage saves while the {len(stages) - 1} earlier stage(s) keep their checkpoints '
                 f'({" + ".join(f"{gb[s]:.2f}" for s in stages)} GB for the checkpoints together)')
    elif stages:
        text += f' (the checkpoints: {gb[stages[0]]:.2f} GB at the peak of a save)'
    return text + ('. 02 and 03 check the free space before they train, so a full Drive stops them before the first '
                   'checkpoint.')


def checkpoints(table: Any) -> str:
    """The checkpoint table of 02/03: how many, how big, which is the best."""
    best = [c for c in table['checkpoint'] if str(c).startswith('best_')]
    return (f'{len(table)} checkpoint(s) kept, {table["MB"].sum():,.0f} MB in all'
            + (f'; the newest best-of-validation file is `{best[-1]}`.' if best else '.'))


def parameters(table: Any, config: str, rules: Any) -> str:
    """The model table of 00 (:func:`utils.core.model.parameter_table`), read against the edition's rules."""
    count = int(table.loc['whole model', 'parameters'])
    parts = table.drop(['whole model', 'used at test time (no auxiliary head)'])['parameters']
    big = parts.idxmax() if len(parts) else 'model'
    text = (f'**{count:,}** parameters for `{config}`, counted as the course asks (`{rules.count_formula}`); '
            f'the largest part is the `{big}` ({parts.max() / count:.0%}).' if len(parts) else '')
    if rules.param_cap:
        share = count / rules.param_cap
        verdict = ('within the cap' if count < rules.param_cap else '**over the cap: training will refuse it**')
        text += (f' That is {share:.1%} of the {rules.edition} cap ({rules.cap_words()}, auxiliary heads included): '
                 f'{verdict}.')
    else:
        text += ' This is the number the report states.'
    return text


def class_balance(freq: Any, split: str = 'train') -> str:
    """The class-frequency chart of 01: how much the three biggest classes cover, how little the rarest."""
    pix = freq[f'{split} pixels'].astype(float)
    imgs = freq[f'{split} images'].astype(float)
    big = pix.sort_values(ascending=False).head(3)
    rare = pix[pix > 0].sort_values().head(3)
    absent = [c for c in freq.index if pix[c] == 0]
    rarest = _names([(c, 100 * pix[c]) for c in rare.index], '{:.3f}% of pixels')
    text = (f'Here the three biggest classes ({", ".join(f"`{c}`" for c in big.index)}) cover '
            f'**{100 * big.sum():.1f}%** of all {split} pixels; the rarest ({rarest}) '
            f'appear in {100 * imgs[rare.index].min():.0f}-{100 * imgs[rare.index].max():.0f}% of the images.')
    if absent:
        text += f' Never present in {split}: {", ".join(f"`{c}`" for c in absent)} (no model can learn them).'
    return text + ' A plain loss would spend almost all its effort on the big ones: hence class weights and OHEM.'


def class_weights(table: Any) -> str:
    """The weight table of 01: how far each weighting lifts the rarest class above the most common one."""
    pix = table['pixels %'].astype(float)
    rare, common = pix[pix > 0].idxmin(), pix.idxmax()
    parts = [f'{col} x{table.loc[rare, col] / table.loc[common, col]:.1f}'
             for col in ('seed', 'median_freq', 'inv_sqrt') if col in table and table.loc[common, col] > 0]
    return (f'The rarest class here, `{rare}`, weighs this much more than the most common, `{common}`: '
            f'{", ".join(parts)}. Median-frequency weights are the most extreme; the inverse square root is gentler '
            '(too strong a weight makes the rare classes bleed into their neighbours).')


def dataset_check(report: Any) -> str:
    """The dataset check of 01."""
    warns = [r for r in report.results if r.status == 'WARN']
    counts = ', '.join(f'{s} {c.get("images", 0):,}' for s, c in report.counts.items())
    if not report.ok:
        return f'Some checks failed on {counts} images: the lines marked FAIL above name the files and the fix.'
    return f'All {len(report.results)} checks passed on {counts} images' + (
        f'; {len(warns)} only warn ({", ".join(w.name for w in warns)}): read their line above.' if warns else
        ': every file decodes, pairs up and holds labels 0..18.')


def masks_shown(freq: Any, smallest: int = 3) -> str:
    """01's overlays: the smallest and the largest classes the masks hold, by their share of the training pixels
    (:func:`utils.core.stats.class_frequencies`), the parts the loss must find beside the parts that dominate it."""
    share = freq['train pixels'].astype(float)
    share = share[share > 0].sort_values()
    small = [(c, 100 * share[c]) for c in share.index[:smallest]]
    big = [(c, 100 * share[c]) for c in share.index[::-1][:2]]
    return (f'Each colour is one class (the legend names them). The smallest parts: {_names(small, "{:.2f}%")} of '
            f'the training pixels, beside {_names(big, "{:.1f}%")}: the loss must find a few pixels among many, '
            'and the thin parts (brows, lips, a necklace) are where the errors show first.')


def training_sample(dataset: Any, sample: dict, pipeline: Sequence[dict]) -> str:
    """01's look at the training set as MMSeg builds it: the dataset's class and size, the pipeline's steps, and one
    sample's tensor and label map with the classes it holds (255, the pixels the loss ignores, is no class)."""
    labels = sample['data_samples'].gt_sem_seg.data
    present = [CLASSES[i] for i in labels.unique().tolist() if i < len(CLASSES)]
    return (f'{type(dataset).__name__}: {len(dataset):,} training images; pipeline: '
            + ' > '.join(step['type'] for step in pipeline)
            + f'\none sample: inputs {tuple(sample["inputs"].shape)} {sample["inputs"].dtype}, labels '
            f'{tuple(labels.shape)} with {len(present)} classes present: ' + ', '.join(present))


def rare_classes(freq: Any, classes: Sequence[str]) -> str:
    """01's rare-class grid: in what share of the training images each rare class occurs at all."""
    held = freq['train images'].astype(float)
    found = [(c, 100 * held[c]) for c in classes if c in held.index]
    absent = [c for c, v in found if v == 0]
    text = (f'The rare classes occur in {_names(found, "{:.1f}%")} of the training images: with so few examples, '
            'their IoU swings most from one checkpoint to the next (04\'s inspector shows them).')
    return text + (f' {", ".join(f"`{c}`" for c in absent)} occurs in none: the model cannot learn it from this data.'
                   if absent else '')


# --------------------------------------------------------------------------- 02 and 03
def schedule(trace: Any) -> str:
    """The LR/momentum schedule of 02/03 (the :func:`utils.notebook.workflow.schedule_trace` frame the figure is drawn from:
    ``iter``, ``lr``, ``momentum``): start, peak, end."""
    it, lr = (np.asarray(trace[c], dtype=float) for c in ('iter', 'lr'))
    mom = (np.asarray(trace['momentum'], dtype=float) if 'momentum' in trace else np.array([np.nan]))
    peak = int(np.argmax(lr))
    text = (f'The learning rate starts at {lr[0]:.2g}, peaks at **{lr[peak]:.2g}** at iteration {int(it[peak]):,} '
            f'and ends at {lr[-1]:.2g} at iteration {int(it[-1]):,}')
    if np.isfinite(mom).any():
        text += f'; momentum moves between {np.nanmin(mom):.3f} and {np.nanmax(mom):.3f}'
    return text + '. A high LR explores, the low LR at the end settles into the minimum the best checkpoint keeps.'


def training(scalars: Any) -> str:
    """The training curves of 02/03/04 (:func:`utils.core.metrics.read_scalars`): the loss's fall, the best val mIoU, and
    what the validation loss says about overfitting (:func:`overfitting`)."""
    tr, va = scalars.train, scalars.val
    text = ''
    if 'loss' in tr and len(tr):
        first, last = tr['loss'].iloc[:max(1, len(tr) // 10)].mean(), tr['loss'].iloc[-max(1, len(tr) // 10):].mean()
        verb = 'fell' if last < first else 'went'
        text = f'The training loss {verb} from {first:.3f} to **{last:.3f}** (first and last tenth of the logged steps)'
    key = 'imgF' if 'imgF' in va and va['imgF'].notna().any() else 'mIoU'  # the metric the run selected on
    if key in va and va[key].notna().any():
        best = va.loc[va[key].idxmax()]
        name, fmt = ('holdout per-image F', '{:.4f}') if key == 'imgF' else ('val mIoU', '{:.2f}')
        text += (f'{"; " if text else ""}{name} peaked at **{fmt.format(best[key])}** at iteration '
                 f'{int(best["step"]):,} and ended at {fmt.format(va[key].iloc[-1])} (each stage keeps the best '
                 'checkpoint of its own validations)')
        if 'val_loss' in va and va['val_loss'].notna().any():
            text += f'; the validation loss was lowest at iteration {int(va.loc[va["val_loss"].idxmin(), "step"]):,}'
    for step, label in scalars.resumes:
        text += f'. The dashed line at {step:,} marks "{label}"'
    if not text:
        return 'Nothing was logged yet.'
    return f'{text}. {overfitting(scalars)}'


def stage_config(stage: Any, cfg: Any) -> str:
    """03's stage-2 config (``stage``: :meth:`utils.notebook.workflow.Plan.stage`): what it is, its schedule, its
    length (2025-26's final fit: read from stage 1's best when training starts) and what it starts from."""
    end = cfg.train_cfg.max_iters
    schedule = ', '.join(f"{s['type']} from {s.get('begin', 0):,} to {s.get('end', end):,}" for s in cfg.param_scheduler)
    length = f'{end:,}' if stage.iters else ('as many as stage 1 took to its best holdout F (read from its checkpoints '
                                             'when training starts)')
    start = ('the newest checkpoint of ' + ', else of '.join(Path(d).name for d in stage.resume)
             if isinstance(stage.resume, tuple) else 'its own newest checkpoint after a disconnect, else from scratch')
    return (f'{stage.what}: config {Path(cfg.config_path).name}\nschedule:    {schedule}\niterations:  {length}\n'
            f'starts from: {start}')


# --------------------------------------------------------------------------- 04 and 05
def evaluation(plain: Any, with_tta: Any = None, report_miou: float | None = None) -> str:
    """The comparison of 04: against the report (``report_miou``, by default the report's best run,
    :func:`utils.core.metrics.report_miou`), the worst classes, and what TTA adds."""
    if report_miou is None:
        from utils.core.metrics import report_miou as best_of_report

        report_miou = best_of_report()
    miou = float(plain.summary['mIoU'])
    iou = plain.per_class['IoU'].astype(float).dropna()
    worst = [(c, iou[c]) for c in iou.nsmallest(3).index]
    text = (f'Without TTA, as the report measured: mIoU **{miou:.2f}**, {miou - report_miou:+.2f} against the '
            f'report\'s {report_miou:.2f}' + (f'. The worst classes are {_names(worst)}' if worst else ''))
    if with_tta is not None:
        gain = float(with_tta.summary['mIoU']) - miou
        text += f'; TTA ({with_tta.summary.get("tta")}) adds **{gain:+.2f}** mIoU'
    return text + '. The per-class table, the confusion matrix and the inspector below show where they go wrong.'


def seed_comparison(table: Any) -> str:
    """The per-class comparison of 04 (:func:`utils.core.metrics.compare_with_seed`, unstyled)."""
    rows = table.loc[[c for c in table.index if c in CLASSES]]  # not the mean row (mIoU)
    delta = rows['Δ vs best'].astype(float).dropna()
    if delta.empty:
        return 'No class has a score on both sides.'
    gap = delta.idxmin()
    return (f'Ahead of the report\'s best run on **{int((delta > 0).sum())} of {len(delta)}** classes; the largest '
            f'gap is `{gap}` ({delta[gap]:+.2f}), the largest lead `{delta.idxmax()}` ({delta.max():+.2f}).')


def per_class(result: Any, worst: int = 3) -> str:
    """The per-class table of 04: the outlined classes, and how many images hold each."""
    iou = result.per_class['IoU'].astype(float).dropna()
    weak = [(c, iou[c]) for c in iou.nsmallest(worst).index]
    return (f'Outlined: {_names(weak)} IoU (TTA {result.summary.get("tta")}). Pick them in the inspector below: '
            'a class that fails on a few images (a hat, a necklace) needs different help from one that is '
            'mediocre everywhere.')


def inspector(result: Any) -> str:
    """04's inspector: where to start, the worst class by IoU and how far it is below the median class."""
    iou = result.per_class['IoU'].astype(float).dropna()
    if iou.empty:
        return 'No class has an IoU here (no ground truth holds any): the inspector has nothing to compare.'
    worst = iou.idxmin()
    return (f'Start with `{worst}` (IoU {iou[worst]:.1f}, {iou.median() - iou[worst]:.1f} below the median class, '
            f'{iou.median():.1f}), first in the list: the histogram says whether it fails everywhere or on a few '
            'images, and the error map shows where.')


def preview(masks: dict[str, Sequence[int]], core: Sequence[int] | None = None) -> str:
    """05's preview: how many of the masks shown hold every core class of a face (``core``: class ids, by default
    the submission check's :data:`utils.submit.common.CORE_CLASSES`), and which core classes the others miss
    (``masks``: mask name -> the class ids it holds)."""
    if core is None:
        from utils.submit.common import CORE_CLASSES as core
    missing = {name: [CLASSES[c] for c in core if c not in set(ids)] for name, ids in masks.items()}
    short = {name: miss for name, miss in missing.items() if miss}
    text = (f'{len(masks) - len(short)} of the {len(masks)} masks shown hold every part of a face (skin, nose, both '
            'eyes, both brows, the lips)')
    if short:
        text += '; ' + '; '.join(f'`{name}` misses {", ".join(miss)}' for name, miss in list(short.items())[:3])
    return text + ('. A mask of one colour, or eyes swapped left for right, is a problem to fix before uploading.'
                   if short else '. Check that the left and right parts lie on their own sides (eyes, brows, ears).')


def recipes(table: Any, report: str = 'report (best run)') -> str:
    """The recipes-side-by-side table of 04: the best recipe, its gap to the report, where TTA helps most."""
    ours = [c for c in table.columns if c != report and 'not honest' not in c and np.isfinite(table.loc['mIoU', c])]
    if not ours:
        return 'No recipe was evaluated without TTA (as the report measured), or only a final fit (not honest).'
    best = max(ours, key=lambda c: table.loc['mIoU', c])
    text = (f'The best recipe on val is `{best}`: mIoU **{table.loc["mIoU", best]:.2f}**, '
            f'{table.loc["mIoU", best] - table.loc["mIoU", report]:+.2f} against the report.')
    if 'TTA gain' in table.index and table.loc['TTA gain', ours].notna().any():
        gain = table.loc['TTA gain', ours].astype(float)
        text += f' TTA helps `{gain.idxmax()}` most ({gain.max():+.2f}).'
    return text + ' Submit the best one (RECIPE in 00_setup, then 05).'


def confusion(result: Any, top: int = 2) -> str:
    """The confusion matrix of 04: the largest mix-ups, as a share of the true class's pixels, and the pair of
    classes that mixes most (the most pixels taken either way, from the matrix itself)."""
    conf = np.asarray(result.confusion, dtype=float)
    rows = conf.sum(axis=1, keepdims=True)
    share = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    np.fill_diagonal(share, 0)
    pairs = sorted(((share[i, j], i, j) for i in range(len(share)) for j in range(len(share)) if share[i, j] > 0),
                   reverse=True)[:top]
    if not pairs:
        return 'No pixel of one class was taken for another.'
    said = '; '.join(f'{100 * v:.1f}% of `{CLASSES[i]}` pixels are predicted as `{CLASSES[j]}`' for v, i, j in pairs)
    a, b, pixels = most_mixed_pair(conf)
    return (f'The largest mix-ups: {said}. The pair that mixes most in pixels is `{CLASSES[a]}` / `{CLASSES[b]}`: '
            f'{pixels:,} pixels taken for one another ({100 * pixels / max(conf[[a, b]].sum(), 1):.1f}% of their '
            'true pixels).')


def most_mixed_pair(conf: Any) -> tuple[int, int, int]:
    """``(a, b, pixels)``: the two classes with the most pixels taken for one another, either way (the largest
    off-diagonal ``conf[a, b] + conf[b, a]``, rows = ground truth)."""
    conf = np.asarray(conf, dtype=float)
    both = np.triu(conf + conf.T, k=1)
    a, b = np.unravel_index(int(np.argmax(both)), both.shape)
    return int(a), int(b), int(both[a, b])


def score(result: Any) -> str:
    """The leaderboard's formula on test masks (synthetic data has them; the course's are hidden)."""
    iou = np.asarray(result.iou, dtype=float)
    ok = np.isfinite(iou)
    worst = [(CLASSES[i], 100 * iou[i]) for i in np.argsort(np.where(ok, iou, np.inf))[:3] if ok[i]]
    return (f'Scored as the leaderboard scores: mIoU **{result.miou:.2f}** on {result.images} masks; the weakest '
            f'classes are {_names(worst)}. On the course\'s hidden test masks only the leaderboard can say.')


def never_predicted(counts: Any) -> list[str]:
    """The classes that no mask predicts anywhere (their pixel count over all masks is 0)."""
    counts = np.asarray(counts)
    return [CLASSES[c] for c in range(min(len(counts), len(CLASSES))) if counts[c] == 0]


def class_shares(report: Any) -> str:
    """The class histogram of 05: the classes no mask predicts, counted from the masks' pixel counts, and the
    check's other findings on the shares (left/right collapses, classes far below the reference)."""
    counts = np.asarray(report.class_counts)
    absent = never_predicted(counts) if counts.sum() > 0 else []
    try:
        findings = [f for f in report['class distribution'].files if 'predicted nowhere' not in f]
    except (KeyError, AttributeError, TypeError):
        findings = []
    text = (f'{len(absent)} of the {len(CLASSES)} classes are never predicted in any mask'
            + (f': {", ".join(f"`{c}`" for c in absent)}' if absent else '') if counts.sum() > 0 else
            'The masks hold no pixel at all')
    return text + (f'; the check also finds {len(findings)} share(s) out of line: {"; ".join(findings[:3])}.'
                   if findings else '; no other share is out of line with the reference.')


def image_f(plain: Any, with_tta: Any = None, with_bias: Any = None) -> str:
    """04 (2025-26): the per-image F without and with TTA and biases, and the classes that decide it."""
    steps = [('plain', plain), ('with TTA', with_tta), ('with TTA and the biases', with_bias)]
    shown = [(label, r.summary['imgF']) for label, r in steps if r is not None]
    text = 'Mean per-image F ' + ', '.join(f'{label} **{f:.4f}**' for label, f in shown) + '.'
    best = (with_bias or with_tta or plain).per_class['imgF'].dropna()
    if len(best):
        low = best.sort_values().head(3)
        text += (' The classes that pull it down most (their mean F where present): '
                 + ', '.join(f'`{c}` {v:.3f}' for c, v in low.items()) + '.')
    if with_bias is not None:
        base = with_tta or plain
        gain = (with_bias.per_class['imgF'] - base.per_class['imgF']).dropna()
        if len(gain) and gain.abs().max() > 0:
            top = gain.sort_values(ascending=False).head(2)
            text += (' The biases help ' + ', '.join(f'`{c}` ({v:+.3f})' for c, v in top.items() if v > 0)
                     if (top > 0).any() else ' The biases help no class here') + \
                ' (tuned on these images: an optimistic gain).'
    return text


def image_f_spread(result: Any) -> str:
    """04 (2025-26): how the per-image F spreads over the images, and the worst one."""
    scores = result.image_f().dropna()
    if not len(scores):
        return 'No image has a ground-truth class to score.'
    low = int((scores < 0.5).sum())
    return (f'Over {len(scores)} images the per-image F runs from {scores.min():.3f} to {scores.max():.3f} (median '
            f'{scores.median():.3f}); {low} image(s) score below 0.5. The worst, `{scores.idxmin()}`, is the first '
            'row above: compare its prediction with the ground truth to see which part it misses.')


def biases(tuned: dict) -> str:
    """02 (2025-26): the per-class decoding biases, read from what the tuning measured."""
    from utils.base.labels import CLASSES

    bias = dict(zip(CLASSES, tuned['class_bias']))
    up = [c for c, b in sorted(bias.items(), key=lambda kv: -kv[1]) if b > 0][:3]
    down = [c for c, b in sorted(bias.items(), key=lambda kv: kv[1]) if b < 0][:3]
    before, after = tuned['imgF_without'], tuned['imgF_with']
    text = (f'On the {tuned["holdout_images"]} holdout images the biases move the mean per-image F from '
            f'**{before:.4f}** to **{after:.4f}** ({after - before:+.4f}; measured on the images they were tuned on, '
            'so the true gain is smaller: 04 shows it per class).')
    if up:
        text += f' Pushed up, so predicted more often: {", ".join(f"`{c}` ({bias[c]:+.2f})" for c in up)}.'
    if down:
        text += f' Pushed down: {", ".join(f"`{c}` ({bias[c]:+.2f})" for c in down)}.'
    if not up and not down:
        text += ' Every bias stayed at 0: plain argmax was already the best decision here.'
    return text


def submission(result: Any) -> str:
    """The zip of 05: what it holds, the classes it never predicts (counted from its masks) and its check."""
    report = result.report
    text = f'{result.masks:,} masks in `{result.folder}/`, {human_bytes(result.bytes)}; the check **{report.verdict}**'
    counts = getattr(report, 'class_counts', None)
    absent = never_predicted(counts) if counts is not None and np.asarray(counts).sum() > 0 else []
    if absent:
        text += (f'; **{len(absent)} of the {len(CLASSES)} classes are never predicted** in any mask: '
                 f'{", ".join(f"`{c}`" for c in absent)}')
    warns = [w for w in report.warnings if 'never predicted' not in w] if absent else list(report.warnings)
    return text + (f'; {len(warns)} other warning(s): {"; ".join(warns[:2])}.' if warns else
                   '.' if absent else ': one PNG per test image, the right size, labels 0..18.')


# --------------------------------------------------------------------------- 06
def handin_figures(folder: Path, scalars: Any = None) -> str:
    """The figures 06 shows: how many, where, and what the loss curves say (:func:`overfitting`, from the logged
    numbers the figures were drawn from)."""
    pngs = sorted((Path(folder) / 'figures').glob('*.png'))
    text = (f'{len(pngs)} figures in `handin/figures/`, each as PNG (for the .docx) and PDF (for LaTeX). Check that '
            'the resume line sits where stage 2 starts.')
    return text + (f' {overfitting(scalars)}' if scalars is not None else '')


def draft(pages: float, outline: Any, max_pages: int = 5) -> str:
    """The outline of the report draft (its sections with a 'to do' column): its length against the course's page
    cap, and how many sections hold places only the student can fill."""
    todo = int((outline['to do'].astype(str) != '').sum())
    fit = (f'{max_pages - pages:.1f} page(s) left for your own words within the {max_pages} the course allows'
           if pages <= max_pages else f'**{pages - max_pages:.1f} pages over** the {max_pages} the course allows: '
           'shorten the discussion or drop a figure')
    return f'About {pages} A4 pages, {fit}; {todo} section(s) hold places marked TO DO that only you can fill.'


def handin_check(checks: Sequence[tuple[str, str, str]]) -> str:
    """The hand-in check: counts per status and the missing items by name."""
    status = [s for _, s, _ in checks]
    missing = [item for item, s, _ in checks if s == 'missing']
    counts = ', '.join(f'{status.count(s)} {s}' for s in dict.fromkeys(status))
    return f'{counts}.' + (f' Still to add: {", ".join(missing)} (the table says how).' if missing else
                           ' Nothing is missing: hand in the zip.')


# --------------------------------------------------------------------------- the end of each notebook
#: What each notebook leaves behind, and what comes next.
_NEXT = {'00_setup': '01_data_check (set DATA_SOURCE there)', '01_data_check': '02_train_20k',
         '02_train_20k': '03_resume_30k (seed recipe) or 04_evaluate', '03_resume_30k': '04_evaluate',
         '04_evaluate': '05_submit', '05_submit': 'upload the zip to the leaderboard, then 06_handin',
         '06_handin': 'finish the report draft, add the leaderboard screenshot and the report PDF to handin/, run 06 '
                      'again (it downloads the zip once nothing is missing) and hand in that zip'}
#: What comes next after a smoke run, where it differs: nothing of it is uploaded or handed in.
_NEXT_SMOKE = {'05_submit': '06_handin; this SMOKE zip only shows that every step works: never upload it',
               '06_handin': 'nothing to hand in from a smoke run; the real run starts with SMOKE = False in 00_setup, '
                            'and 02-05 on a T4 GPU runtime'}


def produced(plan: Any, notebook: str) -> list[tuple[str, Any]]:
    """What ``notebook`` of this run leaves behind, with where it lies (for :func:`summary`)."""
    keep = Path(plan.keep_dir or plan.work_root)
    out: dict[str, list[tuple[str, Any]]] = {
        '00_setup': [('the run\'s settings, read by every later notebook' if plan.keep_shared else
                      'the settings, on this runtime\'s own disk: no later notebook reads them (allow Google Drive '
                      'and run 00_setup again)', keep / 'settings.json')],
        '01_data_check': [('the checked dataset on this runtime', plan.data_root),
                          ('its copy for 02-05', keep / 'data' / 'celebamask-dataset.zip')],
        '02_train_20k': [('stage 1: checkpoints, logs, the resolved config', plan.work_dir_20k)],
        '03_resume_30k': [('stage 2: checkpoints and logs', plan.work_dir_30k or 'no second stage in this recipe')],
        '04_evaluate': [('per-class CSV, confusion CSV, summary JSON per evaluation',
                         (plan.work_dir_30k if plan.edition == '2022' and plan.work_dir_30k and plan.work_dir_30k.is_dir()
                          else plan.work_dir_20k) / 'eval')],
        '05_submit': [('the submission zip (also downloaded)', plan.submission_zip)],
        '06_handin': [('the hand-in folder (figures, tables, report draft, Readme.txt)', plan.work_root / 'handin')],
    }
    return out.get(notebook, [])


def summary(notebook: str, produced: Sequence[tuple[str, Any]], smoke: bool = False) -> str:
    """The closing summary: each thing the notebook produced and where it lies (paths shown as on Drive), and the
    next step (a smoke run's where it differs)."""
    lines = [f'**{notebook}: done.** It produced:']
    for what, where in produced:
        text = str(where)
        shown = f'`{text[text.index("MyDrive/"):] if "/MyDrive/" in text else text}`' \
            if isinstance(where, Path) else text  # as the Drive web page shows it
        exists = '' if not isinstance(where, Path) or where.exists() else ' (not written)'
        lines.append(f'- {what}: {shown}{exists}')
    step = (_NEXT_SMOKE if smoke else {}).get(notebook) or _NEXT.get(notebook)
    if step:
        lines.append(f'\n**Next:** {step}.')
    return '\n'.join(lines)
