"""The report draft's content, from the run: a list of blocks (headings, paragraphs, equations, code, figures,
tables, places to fill in) that ``docx_report`` and ``latex`` render the same way. Sections follow the course
specification and the reference report: model with its parameter count, loss with class weights and OHEM, optimiser
and schedule, training curves, per-class results, the test score, the training machine."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import FINAL_FIT_SUFFIX
from .rundata import RunData

TITLE = 'Project 1: CelebAMask Face Parsing'
TITLE_2025 = 'Face Parsing on CelebAMask-HQ with a Small Model'
#: What the course formula prints, shown as code beside the number.
FORMULA = 'parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)'
REFERENCES = (
    'L.-C. Chen, Y. Zhu, G. Papandreou, F. Schroff, H. Adam. Encoder-Decoder with Atrous Separable Convolution for '
    'Semantic Image Segmentation (DeepLabV3+). ECCV 2018.',
    'K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016.',
    'C.-H. Lee, Z. Liu, L. Wu, P. Luo. MaskGAN: Towards Diverse and Interactive Facial Image Manipulation '
    '(CelebAMask-HQ). CVPR 2020.',
    'MMSegmentation Contributors. MMSegmentation: OpenMMLab Semantic Segmentation Toolbox and Benchmark. '
    'https://github.com/open-mmlab/mmsegmentation',
)


@dataclass
class Block:
    """One piece of the draft. ``kind``: title, meta, heading, para, equation, code, figure, table, todo."""

    kind: str
    text: str = ''
    data: Any = None  # figure: file name stem; table: DataFrame; equation: its LaTeX
    caption: str = ''


def short(value: Any) -> str:
    """A config value as a reader wants it: floats to 6 significant digits, inside lists too."""
    if isinstance(value, float):
        return f'{value:.6g}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(short(v) for v in value) + ']'
    return str(value)


def _fmt(value: Any, digits: int = 2) -> str:
    return f'{value:.{digits}f}' if isinstance(value, (int, float)) else str(value)


def _duration(seconds: float | None) -> str:
    seconds = float(seconds or 0)
    return f'{seconds / 3600:.2f} h' if seconds >= 3600 else f'{seconds / 60:.1f} min' if seconds >= 60 else \
        f'{seconds:.0f} s'


#: decode head -> the architecture it makes (MMSeg's heads; the 2025 recipes' heads included)
ARCHITECTURES = {'DepthwiseSeparableASPPHead': 'DeepLabV3+', 'ASPPHead': 'DeepLabV3', 'UPerHead': 'UPerNet',
                 'SegformerHead': 'SegFormer', 'FCNHead': 'FCN', 'LRASPPHead': 'LR-ASPP', 'BiSeNetV2Head': 'BiSeNetV2',
                 'DepthwiseSeparableFCNHead': 'Fast-SCNN'}


def architecture(recipe: dict) -> tuple[str, str]:
    """``(architecture, backbone)`` in the words of the papers: ('DeepLabV3+', 'ResNet-50-v1c')."""
    head = ((recipe.get('heads') or {}).get('decode_head') or {}).get('type', '')
    backbone = recipe.get('backbone') or {}
    kind, depth = str(backbone.get('type') or '-'), backbone.get('depth')
    names = {'ResNetV1c': f'ResNet-{depth}-v1c', 'ResNet': f'ResNet-{depth}', 'ResNetV1d': f'ResNet-{depth}-v1d',
             'SwinTransformer': 'Swin Transformer', 'MixVisionTransformer': 'MiT (Mix Transformer)'}
    return ARCHITECTURES.get(head, head or '-'), names.get(kind, kind if depth is None else f'{kind}-{depth}')


def weights_words(recipe: dict, smoke: bool) -> str:
    """Where the backbone's initial weights came from, with the ImageNet-1k rule of the 2022 course: the record's
    ``pretrained`` (an OpenMMLab name, a URL or a local copy of either), named by :data:`utils.pretrained.IMAGENET_1K`."""
    from ..pretrained import IMAGENET_1K, PREFIX

    given = str(recipe.get('pretrained') or '')
    backbone = recipe.get('backbone') or {}
    default = f"resnet{backbone.get('depth')}_v1c" if backbone.get('type') == 'ResNetV1c' else ''
    key = next((k for k in IMAGENET_1K if k and k in given), None) or (default if not given else None)
    what = IMAGENET_1K.get(key or '', None)
    source = (f'OpenMMLab\'s model zoo ({PREFIX}{key})' if key and not key.endswith('.pth')
              else f'OpenMMLab\'s model zoo (download.openmmlab.com, {key})' if key else Path(given).name)
    if not given:
        if what is None:
            return 'random weights (a smoke run downloads none)'
        return (f'random weights in this smoke run (it downloads none); the real run starts from {what} weights, '
                f'pre-trained on ImageNet-1k only, from {source}')
    if what is None:
        return f'the weights in {Path(given).name} (not a file this project knows as ImageNet-1k: check the rule)'
    return f'{what} weights, pre-trained on ImageNet-1k only, from {source}'


def _model_blocks(run: RunData, rules=None) -> list[Block]:
    rec = run.record
    recipe = rec.get('recipe') or {}
    heads = recipe.get('heads') or {}
    if not recipe:
        return [Block('heading', 'Model'), Block('todo', 'Describe the model: this run kept no run_record.json '
                                                 '(trained before utils.record existed).')]
    arch, backbone = architecture(recipe)
    text = (f"The model is {arch} ({recipe.get('segmentor')} in MMSegmentation) with a {backbone} backbone, "
            f"initialised from {weights_words(recipe, run.smoke)}. The decode head is "
            f"{heads.get('decode_head', {}).get('type', '-')}")
    if 'auxiliary_head' in heads:
        text += f" and an auxiliary {heads['auxiliary_head']['type']} supervises stage 3 during training only"
    text += (f". Batch size {recipe.get('batch_size')}, {recipe.get('max_iters'):,} iterations in the last stage, "
             f"mixed precision {'on' if recipe.get('amp') else 'off'}.")
    if rules is not None:
        text += f' The course\'s rule: {rules.weights_words}.'
    params = rec.get('parameters')
    out = [Block('heading', 'Model'), Block('para', text), Block('heading2', 'Number of parameters')]
    if params:
        out += [Block('para', f'The model has {params:,} trainable parameters, counted with the course formula:'),
                Block('code', f'{FORMULA}\nprint(parameters)\n{params}')]
    else:
        out.append(Block('todo', 'Add the parameter count (run the course formula on the model).'))
    return out


def _loss_name(loss: dict) -> str:
    kind = {'PixelMeanCrossEntropyLoss': 'cross-entropy', 'CrossEntropyLoss': 'cross-entropy',
            'LovaszLoss': 'Lovasz-softmax', 'DiceLoss': 'Dice'}.get(loss.get('type'), loss.get('type'))
    weighted = 'class-weighted ' if loss.get('class_weight') else ('plain ' if kind == 'cross-entropy' else '')
    return f"{weighted}{kind} (loss weight {loss.get('loss_weight', 1.0):g})"


def head_loss_words(name: str, head: dict, batch: int | None) -> str:
    """What one head trains with, from the record: its losses, class weights or none, OHEM or none."""
    losses = head.get('losses') or []
    said = ' + '.join(_loss_name(x) for x in losses) or 'no loss'
    sampler = head.get('sampler')
    text = f'The {name} ({head.get("type")}) trains with {said}'
    if sampler:
        per_batch = f', {sampler["min_kept"] * batch:,} in a batch of {batch}' if batch else ''
        text += (f", on the pixels that online hard example mining ({sampler['type']}) keeps: those whose true "
                 f"class has a predicted probability below {sampler['thresh']}, and at least "
                 f"{sampler['min_kept']:,} pixels per image{per_batch} (the hardest ones)")
    else:
        text += ', on every pixel (no OHEM)'
    return text + '.'


def _loss_blocks(run: RunData, tables: dict) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    heads = recipe.get('heads') or {}
    decode, aux = heads.get('decode_head') or {}, heads.get('auxiliary_head')
    out = [Block('heading', 'Loss function')]
    if not decode:
        return out + [Block('todo', 'Describe the loss by hand: this run kept no run_record.json.')]
    batch = recipe.get('batch_size')
    out.append(Block('para', head_loss_words('decode head', decode, batch)))
    ohem = decode.get('sampler')
    weighted = any(x.get('class_weight') for x in decode.get('losses', []))
    w = 'w_{y_p} ' if weighted else ''
    m = 'm_p ' if ohem else ''
    out.append(Block('equation', f"L_dec = -(1/|P|) Σ_p {m.replace('_p', '(p)')}{w.replace('_{y_p}', '(y_p)')}"
                                 '· log softmax(z_p)[y_p]',
                     rf'L_{{\mathrm{{dec}}}} = -\frac{{1}}{{|P|}}\sum_{{p \in P}} {m}{w}'
                     r'\log \frac{e^{z_{p,y_p}}}{\sum_{k=1}^{K} e^{z_{p,k}}}'))
    where = 'where P is every labelled pixel of the batch, z_p the K = 19 logits of pixel p and y_p its label'
    if weighted:
        where += ', w_c the weight of class c (table below)'
    if ohem:
        where += (f"; m_p = 1 if OHEM keeps pixel p (its true-class probability is below {ohem['thresh']}, or it is "
                  f"among the {ohem['min_kept']:,} hardest pixels of its image), else 0")
    out.append(Block('para', where + '.'))
    if aux:
        aux_words = head_loss_words('auxiliary head', aux, batch)
        plain = not any(x.get('class_weight') for x in aux.get('losses', [])) and not aux.get('sampler')
        total = ' + '.join(f"{x.get('loss_weight', 1.0):g} L_aux" for x in aux.get('losses', []))
        out.append(Block('para', aux_words + (' It has no class weights and no OHEM: plain cross-entropy over all '
                                              'pixels of stage 3\'s coarser prediction.' if plain else '')
                         + f' The total is L = L_dec + {total}; the auxiliary head is dropped at test time.'))
    if tables.get('class_weights') is not None and weighted:
        out.append(Block('table', data=side_by_side(tables['class_weights']), caption='Class weights of the loss and each '
                                                                        'class\'s share of the train pixels'))
    return out


def side_by_side(weights):
    """The class-weight table folded in two (classes 0-9 left, 10-18 right): half the height on the page."""
    import pandas as pd

    cols = [c for c in ('weight', 'pixel share %') if c in weights.columns]
    half = -(-len(weights) // 2)
    left, right = weights[cols].iloc[:half], weights[cols].iloc[half:]
    out = left.copy()
    out.columns = cols
    out[' class'] = list(right.index) + [''] * (half - len(right))
    for c in cols:
        out[f' {c}'] = list(right[c]) + [float('nan')] * (half - len(right))
    out.index.name = 'class'
    return out


def _schedule_blocks(run: RunData, figures: dict) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    opt = recipe.get('optimizer') or {}
    out = [Block('heading', 'Optimizer and scheduler')]
    if opt:
        out.append(Block('para', f"{opt.get('type')} with learning rate {opt.get('lr')}, momentum "
                                 f"{opt.get('momentum', '-')} and weight decay {opt.get('weight_decay', '-')}."))
    for sched in recipe.get('param_scheduler') or []:
        keys = ', '.join(f'{k}={short(v)}' for k, v in sched.items() if k not in ('type', 'by_epoch'))
        out.append(Block('code', f"{sched.get('type')}({keys})"))
    if run.resume_step is not None:
        out.append(Block('para', f'Training ran {run.resume_step:,} iterations, then resumed from that checkpoint to '
                                 f'{run.stage_ends[-1]:,} with the schedule recomputed over the longer run.'))
    if 'schedule' in figures:
        out.append(Block('figure', data='schedule', caption='Learning rate and momentum (left: stage 1; right: the '
                                                            'whole run, the resume marked)'))
    return out


def _curve_blocks(run: RunData, figures: dict) -> list[Block]:
    out = [Block('heading', 'Training curves')]
    va = run.scalars.val if run.scalars is not None else None
    if va is not None and len(va) and 'mIoU' in va.columns:
        first, last = va.iloc[0], va.iloc[-1]
        text = f"The val mIoU went from {first['mIoU']:.2f} at iteration {int(first['step']):,} to {last['mIoU']:.2f} at " \
               f"{int(last['step']):,} (best {va['mIoU'].max():.2f})"
        if 'val_loss' in va.columns and va['val_loss'].notna().any():
            text += f"; the val loss went from {first['val_loss']:.3f} to {last['val_loss']:.3f}"
        from ..narrate import overfitting

        out.append(Block('para', text + '. The val loss is the decode head\'s loss on the val set (without OHEM), '
                                        'computed at each validation from the logits the validation produced. '
                         + overfitting(run.scalars)))
    for name, caption in (('loss', 'Training and validation loss'), ('val_metrics', 'mIoU, mAcc and aAcc on val')):
        if name in figures:
            side = ' (left: stage 1; right: the whole run, the resume marked)' if run.resume_step is not None else ''
            out.append(Block('figure', data=name, caption=caption + side))
    return out


def _results_blocks(run: RunData, tables: dict, figures: dict) -> list[Block]:
    out = [Block('heading', 'Results on the val set')]
    if run.checkpoint is not None and run.checkpoint.parent.name.endswith(FINAL_FIT_SUFFIX):
        out.append(Block('todo', 'This model is a final fit on train + val: its val scores below measure images it '
                                 'was trained on and overstate it. Report the val scores of the run the recipe was '
                                 'chosen with, and say that the submitted model was retrained on train + val.'))
    out.append(Block('table', data=tables['summary'], caption='Summary on val (%)'))
    per_class = tables['per_class']
    shown = [c for c in per_class.columns if c[0].startswith('ours, best') or c[0] == 'report, best run']
    out.append(Block('table', data=per_class[shown or list(per_class.columns)],
                     caption='Per-class IoU, Acc and Dice on val (%), ours and the report\'s best run (every run: '
                             'tables/per_class.csv; as a chart: figures/per_class_iou.png)'))
    gain = tables.get('tta_gain')
    if gain is not None:
        rows = [i for i in gain.index if str(i).startswith('gain')]
        said = '; '.join(f"{str(r)[6:-1]}: {gain.loc[r, 'mIoU']:+.2f} mIoU" for r in rows)
        out.append(Block('para', f'Test-time augmentation on val (the summary\'s TTA rows), gain over none: {said} '
                                 '(tables/tta_gain.csv).'))
    return out


def _test_blocks(figures: dict, has_screenshot: bool, rules) -> list[Block]:
    n = rules.counts[2]
    score = ('mIoU' if rules.metric == 'mIoU' else 'per-image F (0-1)')
    out = [Block('heading', 'Test result'),
           Block('todo', f'The best {score} on the {n:,} test images is __.__ (copy it from the leaderboard).')]
    out.append(Block('figure', data='score', caption='Leaderboard score') if has_screenshot else
               Block('todo', 'Paste the leaderboard screenshot here (and save it as handin/score.png).'))
    if 'predictions' in figures:  # kept out of the page budget: the student may add it
        out.append(Block('para', 'A few test images with the submitted predictions: figures/predictions.png.'))
    return out


def _discussion_blocks() -> list[Block]:
    return [Block('heading', 'Discussion'),
            Block('todo', 'In your own words: what worked, what did not, what you would try next, and why (the '
                          'curves, the per-class table and the test score above are the evidence).')]


#: nvidia-smi's GPU table ends at the first blank line; its process list says nothing about the machine
def _short_output(key: str, text: str) -> str:
    if key != 'nvidia_smi':
        return text
    lines = text.splitlines()
    cut = next((i for i, line in enumerate(lines) if i > 3 and not line.strip()), len(lines))
    return '\n'.join(lines[:cut])


def _machine_blocks(run: RunData) -> list[Block]:
    out = [Block('heading', 'Training machine')]
    sessions = [(wd.name, s) for wd, r in zip(run.stages, run.records) for s in r.get('sessions', [])]
    if not sessions:
        return out + [Block('todo', 'Add the training machine (nvcc -V, gcc --version, nvidia-smi): this run kept '
                                    'no run_record.json.')]
    machine = sessions[-1][1].get('machine', {})
    gpus = machine.get('gpus') or []
    gpu = f"{len(gpus)} x {gpus[0]['name']} ({gpus[0]['memory_gib']} GiB)" if gpus else 'no GPU (CPU only)'
    out.append(Block('para', f"Training ran on {gpu}, driver {machine.get('driver') or '-'}, CUDA (torch) "
                             f"{machine.get('cuda_torch') or '-'}, cuDNN {machine.get('cudnn') or '-'}; CPU "
                             f"{machine.get('cpu')} ({machine.get('cpu_count')} cores), "
                             f"{machine.get('memory_gib')} GiB memory" + (', on Google Colab.' if machine.get('colab')
                                                                          else '.')))
    times = '; '.join(f"{name}: iterations {s['start_iter']:,} to {s['end_iter']:,} in {_duration(s['wall_s'])} "
                      f"({s['iters_per_s'] or 0:.2f} it/s)" for name, s in sessions)
    out.append(Block('para', f'Wall time per session: {times}.'))
    for key, label in (('nvcc', 'nvcc -V'), ('gcc', 'gcc --version'), ('nvidia_smi', 'nvidia-smi')):
        entry = machine.get(key) or {}
        shown = _short_output(key, entry.get('output') or '') or f"({entry.get('absent')})"
        out.append(Block('code', f'$ {label}\n{shown}'))
    return out


def report_blocks(run: RunData, tables: dict, figures: dict, *, matric: str | None, leaderboard_name: str | None,
                  has_screenshot: bool = False, edition: str | None = None, extra: Any = None) -> list[Block]:
    """The whole draft, in order, for the course edition ``edition`` (None: the run's own)."""
    from ..edition import rules as rules_of

    rules = rules_of(edition or run.edition)
    out = [Block('title', TITLE if rules.edition == '2022' else TITLE_2025),
           Block('meta', f"Matriculation number: {matric}") if matric else
           Block('todo', 'Matriculation number: set MATRIC in 06_handin (or --matric).'),
           Block('meta', f'Leaderboard name: {leaderboard_name}') if leaderboard_name else
           Block('todo', 'Leaderboard name: set LEADERBOARD_NAME in 06_handin (or --leaderboard-name).'),
           Block('todo', 'Your name and e-mail.')]
    if rules.edition != '2022':
        from .draft2025 import blocks_2025

        return out + blocks_2025(run, tables, figures, rules, has_screenshot=has_screenshot, experiments=extra)
    out += [Block('heading', 'Background'),
            Block('para', 'A face parsing network assigns one of 19 labels (skin, eyes, brows, ears, lips, hair, ...) '
                          'to every pixel of a 512 x 512 face photo. The data is the CelebAMask-HQ mini set: 5,000 '
                          'training and 1,000 validation image/mask pairs, and 1,000 test images scored by mIoU on '
                          'the leaderboard.')]
    out += _model_blocks(run, rules) + _loss_blocks(run, tables) + _schedule_blocks(run, figures)
    out += _curve_blocks(run, figures) + _results_blocks(run, tables, figures)
    out += _test_blocks(figures, has_screenshot, rules) + _machine_blocks(run) + _discussion_blocks()
    out += [Block('heading', 'References')] + [Block('para', f'[{i}] {ref}') for i, ref in enumerate(REFERENCES, 1)]
    return out
