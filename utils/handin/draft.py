"""The report draft's content, from the run: a list of blocks (headings, paragraphs, equations, code, figures,
tables, places to fill in) that ``docx_report`` and ``latex`` render the same way. Sections follow the course
specification and the reference report: model with its parameter count, loss with class weights and OHEM, optimiser
and schedule, training curves, per-class results, the test score, the training machine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.core.config import FINAL_FIT_SUFFIX
from utils.handin.block import Block
from utils.handin.draftparts import _machine_blocks, architecture, head_loss_words, short  # noqa: F401 (draft2025 and tests)
from utils.handin.rundata import RunData

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


def _fmt(value: Any, digits: int = 2) -> str:
    return f'{value:.{digits}f}' if isinstance(value, (int, float)) else str(value)


def _final_fit(run: RunData) -> bool:
    """Whether the run is a final fit: its own record says so (``final_fit``, from its config); the folder's name
    (``_trainval``) only for runs recorded before the flag existed."""
    flag = (getattr(run, 'record', None) or {}).get('final_fit')
    return flag if isinstance(flag, bool) else run.checkpoint.parent.name.endswith(FINAL_FIT_SUFFIX)


def _weights_loaded(rec: dict) -> str | None:
    """The pre-trained weights the run recorded loading: file and SHA-256 (the record's ``weights_loaded``), or None
    (none loaded, or a run recorded before the record kept them)."""
    loaded = [w for w in rec.get('weights_loaded') or [] if isinstance(w, dict) and w.get('setting') != 'load_from']
    if not loaded:
        return None
    return '; '.join(f"{Path(str(w.get('source'))).name}" + (f" (SHA-256 {w['sha256'][:12]}...)" if w.get('sha256')
                                                             else '') for w in loaded)


def _model_blocks(run: RunData, rules=None, weights: str = 'the weights the record names') -> list[Block]:
    rec = run.record
    recipe = rec.get('recipe') or {}
    heads = recipe.get('heads') or {}
    if not recipe:
        return [Block('heading', 'Model'), Block('todo', 'Describe the model: this run kept no run_record.json '
                                                 '(trained before utils.plugins.record existed).')]
    arch, backbone = architecture(recipe)
    text = (f"The model is {arch} ({recipe.get('segmentor')} in MMSegmentation) with a {backbone} backbone, "
            f"initialised from {weights}"
            + (f" (the run loaded {_weights_loaded(rec)})" if _weights_loaded(rec) else '') + ". The decode head is "
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
        from utils.core.trends import overfitting

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
    if run.checkpoint is not None and _final_fit(run):
        out.append(Block('todo', 'This model is a final fit on train + val: its val scores below measure images it '
                                 'was trained on and overstate it. Report the val scores of the run the recipe was '
                                 'chosen with, and say that the submitted model was retrained on train + val.'))
    out.append(Block('table', data=tables['summary'], caption='Summary on val (%)'))
    per_class = tables['per_class']
    columns = list(getattr(per_class, 'columns', []))
    shown = [c for c in columns if c[0].startswith('ours, best') or c[0] == 'report, best run']
    out.append(Block('table', data=per_class[shown] if shown else per_class,
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
