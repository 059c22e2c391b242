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


def _fmt(value: Any, digits: int = 2) -> str:
    return f'{value:.{digits}f}' if isinstance(value, (int, float)) else str(value)


def _duration(seconds: float | None) -> str:
    seconds = float(seconds or 0)
    return f'{seconds / 3600:.2f} h' if seconds >= 3600 else f'{seconds / 60:.1f} min' if seconds >= 60 else \
        f'{seconds:.0f} s'


def _final_fit(run: RunData) -> bool:
    """Whether the run is a final fit: its own record says so (``final_fit``, from its config); the folder's name
    (``_trainval``) only for runs recorded before the flag existed."""
    flag = (getattr(run, 'record', None) or {}).get('final_fit')
    return flag if isinstance(flag, bool) else run.checkpoint.parent.name.endswith(FINAL_FIT_SUFFIX)


def _weights_loaded(rec: dict) -> str | None:
    """The pre-trained weights the run recorded loading: file and SHA-256 (the record's ``weights_loaded``), else the
    recipe's setting (runs recorded before that)."""
    loaded = [w for w in rec.get('weights_loaded') or [] if isinstance(w, dict) and w.get('setting') != 'load_from']
    if not loaded:
        return (rec.get('recipe') or {}).get('pretrained')
    return '; '.join(f"{Path(str(w.get('source'))).name}" + (f" (SHA-256 {w['sha256'][:12]}...)" if w.get('sha256')
                                                             else '') for w in loaded)


def _model_blocks(run: RunData) -> list[Block]:
    rec = run.record
    recipe = rec.get('recipe') or {}
    heads = recipe.get('heads') or {}
    backbone = recipe.get('backbone') or {}
    if not recipe:
        return [Block('heading', 'Model'), Block('todo', 'Describe the model: this run kept no run_record.json '
                                                 '(trained before utils.record existed).')]
    text = (f"The segmentor is {recipe.get('segmentor')} with a {backbone.get('type')} backbone of depth "
            f"{backbone.get('depth')}, initialised from {_weights_loaded(rec) or 'random weights (smoke run)'}. "
            f"The decode head is {heads.get('decode_head', {}).get('type', '-')}")
    if 'auxiliary_head' in heads:
        text += f" and an auxiliary {heads['auxiliary_head']['type']} supervises stage 3 during training only"
    text += (f". Batch size {recipe.get('batch_size')}, {recipe.get('max_iters'):,} iterations in the last stage, "
             f"mixed precision {'on' if recipe.get('amp') else 'off'}.")
    params = rec.get('parameters')
    out = [Block('heading', 'Model'), Block('para', text), Block('heading2', 'Number of parameters')]
    if params:
        out += [Block('para', f'The model has {params:,} trainable parameters, counted with the course formula:'),
                Block('code', f'{FORMULA}\nprint(parameters)\n{params}')]
    else:
        out.append(Block('todo', 'Add the parameter count (run the course formula on the model).'))
    return out


def _loss_blocks(run: RunData, tables: dict) -> list[Block]:
    heads = (run.record.get('recipe') or {}).get('heads') or {}
    out = [Block('heading', 'Loss function')]
    decode = heads.get('decode_head') or {}
    losses = ', '.join(f"{x['type']} (weight {x['loss_weight']:g})" for x in decode.get('losses', [])) or '-'
    out.append(Block('para', f'The decode head is trained with {losses}. The class-weighted cross-entropy, averaged '
                             'over all pixels P of a batch, is:'))
    out.append(Block('equation', 'L = -(1/|P|) Σ_p w(y_p) · log softmax(z_p)[y_p]',
                     r'L = -\frac{1}{|P|}\sum_{p \in P} w_{y_p} \log \frac{e^{z_{p,y_p}}}{\sum_{k=1}^{K} e^{z_{p,k}}}'))
    out.append(Block('para', 'where z_p are the K = 19 logits of pixel p, y_p its label and w_c the weight of class '
                             'c (table below, with the train pixels it compensates for).'))
    aux = heads.get('auxiliary_head')
    if aux:
        out.append(Block('para', 'The auxiliary head adds the same loss with weight '
                                 f"{', '.join(_fmt(x['loss_weight'], 1) for x in aux.get('losses', []))}."))
    sampler = decode.get('sampler')
    if sampler:
        out.append(Block('para', f"Online hard example mining ({sampler['type']}) keeps only pixels predicted with a "
                                 f"confidence below {sampler['thresh']}, and at least {sampler['min_kept']:,} pixels "
                                 'per batch.'))
    if tables.get('class_weights') is not None:
        out.append(Block('table', data=tables['class_weights'], caption='Class weights and the train pixels'))
    return out


def _schedule_blocks(run: RunData, figures: dict) -> list[Block]:
    recipe = run.record.get('recipe') or {}
    opt = recipe.get('optimizer') or {}
    out = [Block('heading', 'Optimizer and scheduler')]
    if opt:
        out.append(Block('para', f"{opt.get('type')} with learning rate {opt.get('lr')}, momentum "
                                 f"{opt.get('momentum', '-')} and weight decay {opt.get('weight_decay', '-')}."))
    for sched in recipe.get('param_scheduler') or []:
        keys = ', '.join(f'{k}={v}' for k, v in sched.items() if k not in ('type', 'by_epoch'))
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
        out.append(Block('para', text + '. The val loss is the decode head\'s loss on the val set (without OHEM), '
                                        'computed at each validation from the logits the validation produced.'))
    for name, caption in (('loss', 'Training and validation loss'), ('val_metrics', 'mIoU, mAcc and aAcc on val')):
        if name in figures:
            side = ' (left: stage 1; right: the whole run, the resume marked)' if run.resume_step is not None else ''
            out.append(Block('figure', data=name, caption=caption + side))
    return out


def _results_blocks(run: RunData, tables: dict, figures: dict) -> list[Block]:
    out = [Block('heading', 'Results on the val set')]
    if run.checkpoint is not None and _final_fit(run):
        out.append(Block('todo', 'This model is a final fit on train + val: its val scores below measure images it '
                                 'was trained on and overstate it. Report the val scores of the run the recipe was '
                                 'chosen with, and say that the submitted model was retrained on train + val.'))
    out.append(Block('table', data=tables['summary'], caption='Summary on val (%)'))
    out.append(Block('table', data=tables['per_class'], caption='Per-class IoU, Acc and Dice on val (%)'))
    if 'per_class_iou' in figures:
        out.append(Block('figure', data='per_class_iou', caption='Per-class IoU on val, ours and the report\'s'))
    if tables.get('tta_gain') is not None:
        out.append(Block('table', data=tables['tta_gain'], caption='Test-time augmentation on val (%)'))
    return out


def _test_blocks(figures: dict, has_screenshot: bool) -> list[Block]:
    out = [Block('heading', 'Test result'),
           Block('todo', 'The best mIoU on the 1000 test images is __.__ (copy it from the leaderboard).')]
    out.append(Block('figure', data='score', caption='Leaderboard score') if has_screenshot else
               Block('todo', 'Paste the leaderboard screenshot here (and save it as handin/score.png).'))
    if 'predictions' in figures:
        out.append(Block('figure', data='predictions', caption='Test images with the submitted predictions'))
    return out


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
        out.append(Block('code', f"$ {label}\n{entry.get('output') or '(' + str(entry.get('absent')) + ')'}"))
    return out


def report_blocks(run: RunData, tables: dict, figures: dict, *, matric: str | None, leaderboard_name: str | None,
                  has_screenshot: bool = False) -> list[Block]:
    """The whole draft, in order."""
    out = [Block('title', TITLE),
           Block('meta', f"Matriculation number: {matric}") if matric else
           Block('todo', 'Matriculation number: set MATRIC in 06_handin (or --matric).'),
           Block('meta', f'Leaderboard name: {leaderboard_name}') if leaderboard_name else
           Block('todo', 'Leaderboard name: set LEADERBOARD_NAME in 06_handin (or --leaderboard-name).'),
           Block('todo', 'Your name and e-mail.'),
           Block('heading', 'Background'),
           Block('para', 'A face parsing network assigns one of 19 labels (skin, eyes, brows, ears, lips, hair, ...) to '
                         'every pixel of a 512 x 512 face photo. The data is the CelebAMask-HQ mini set: 5,000 training '
                         'and 1,000 validation image/mask pairs, and 1,000 test images scored by mIoU on the '
                         'leaderboard.')]
    out += _model_blocks(run) + _loss_blocks(run, tables) + _schedule_blocks(run, figures)
    out += _curve_blocks(run, figures) + _results_blocks(run, tables, figures) + _test_blocks(figures, has_screenshot)
    out += _machine_blocks(run)
    out += [Block('heading', 'References')] + [Block('para', f'[{i}] {ref}') for i, ref in enumerate(REFERENCES, 1)]
    return out
