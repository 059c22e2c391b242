"""The transformer recipes (UperNet + Swin-B, SegFormer MiT-B3) and the Lovasz rung: configs, parameter counts by the
course formula, the combined CE + Lovasz loss against an independent computation, the schedule.

Their smoke training on CPU runs in tests/test_notebooks_recipes.py (02_train_20k trains each recipe there, so a
second smoke run here would only add a minute of CI)."""
from __future__ import annotations

import pytest
from facts import RECIPE_PARAMS
import torch

from utils.base.labels import NUM_CLASSES

SWIN = 'upernet_swin-b-w12-in1k_flipswap-aug-isw-lovasz_1xb4-16k_celebamask-512x512'
MIT = 'segformer_mit-b3_flipswap-aug-isw-lovasz_1xb4-30k_celebamask-512x512'
R50_LOVASZ = 'deeplabv3plus_r50-d8_flipswap-aug-isw-lovasz_1xb4-20k_celebamask-512x512'
#: the course formula: sum(p.numel() for p in model.parameters() if p.requires_grad) (issue 18's figures)
PARAMS = {SWIN: RECIPE_PARAMS['swin-b'], MIT: RECIPE_PARAMS['segformer-b3']}


def _cfg(name, **kw):
    from utils.core.config import load_config

    return load_config(name, work_dir='/tmp/unused', **kw)


def _heads(model):
    return [h for h in (model.decode_head, getattr(model, 'auxiliary_head', None)) if h is not None]


@pytest.mark.parametrize('name', [SWIN, MIT])
def test_parameter_count_by_the_course_formula(name):
    from utils.core.model import build_segmentor

    model = build_segmentor(_cfg(name))
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == PARAMS[name]
    assert all(h.num_classes == NUM_CLASSES for h in _heads(model))


@pytest.mark.parametrize('name', [SWIN, MIT, R50_LOVASZ])
def test_recipe_settings(name):
    cfg = _cfg(name)
    ce, lovasz = cfg.model.decode_head.loss_decode
    assert (ce.type, ce.class_weight, ce.loss_weight) == ('PixelMeanCrossEntropyLoss', 'inv_sqrt', 1.0)
    assert (lovasz.type, lovasz.loss_type, lovasz.per_image, lovasz.loss_weight) == ('LovaszLoss', 'multi_class',
                                                                                     False, 2.0)
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_cfg.val_interval == 2000 and cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert any(t['type'] == 'RandomFlip' and t.get('swap_seg_labels') for t in cfg.train_pipeline)
    if name == R50_LOVASZ:
        return
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert keys['norm'] == dict(decay_mult=0.) and keys['relative_position_bias_table'] == dict(decay_mult=0.)
    assert ('head' in keys) == (name == MIT) and (name != MIT or keys['head'] == dict(lr_mult=10.))
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.end, poly.type, poly.end) == ('LinearLR', 1500, 'PolyLR', cfg.train_cfg.max_iters)


def test_optimizer_groups_have_no_decay_on_norms_and_position_tables():
    from mmengine.optim import build_optim_wrapper

    from utils.core.model import build_segmentor

    cfg = _cfg(MIT)
    model = build_segmentor(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    by_param = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    for name, p in model.named_parameters():
        group = by_param[id(p)]
        no_decay = 'norm' in name or 'pos_block' in name
        assert group['weight_decay'] == (0.0 if no_decay else 0.01), name
        assert group['lr'] == pytest.approx(6e-4 if 'head' in name else 6e-5), name


def test_smoke_schedule_warms_up_to_the_real_lr():
    cfg = _cfg(MIT, smoke=dict(size=64, max_iters=4))
    warmup, poly = cfg.param_scheduler
    assert warmup.end == 2 and poly.end == 4  # a one-iteration LinearLR would never leave its start factor


def _lovasz_reference(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Lovasz-softmax (Berman et al. 2018) over the batch, classes present, written from the paper's definition.

    For class c, sort the pixels by error |[y=c] - p_c| (largest first); the k-th prefix is a mistake set M_k
    whose Jaccard loss is |M_k| / |F_c u M_k| = k / (|F_c| + #background pixels among the first k). The loss is
    sum_k e_k (J_k - J_{k-1}), averaged over the classes that occur in the (non-ignored) labels.
    """
    n_cls = probs.shape[1]
    p = probs.permute(0, 2, 3, 1).reshape(-1, n_cls)
    y = labels.reshape(-1)
    keep = y != 255
    p, y = p[keep], y[keep]
    losses = []
    for c in range(n_cls):
        fg = (y == c).double()
        if fg.sum() == 0:
            continue
        err = (fg - p[:, c].double()).abs()
        order = torch.argsort(err, descending=True)
        err, fg = err[order], fg[order]
        k = torch.arange(1, len(fg) + 1, dtype=torch.float64)
        jac = k / (fg.sum() + torch.cumsum(1 - fg, 0))
        steps = torch.diff(jac, prepend=jac.new_zeros(1))
        losses.append((err * steps).sum())
    return torch.stack(losses).mean()


@pytest.mark.parametrize('name', [MIT, R50_LOVASZ])
def test_combined_loss_matches_an_independent_computation(name):
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData

    from utils.core.model import build_segmentor

    cfg = _cfg(name)
    weights = [0.5 + 0.1 * i for i in range(NUM_CLASSES)]
    cfg.model.decode_head.loss_decode[0]['class_weight'] = weights
    if cfg.model.get('auxiliary_head'):
        cfg.model.auxiliary_head.loss_decode['class_weight'] = None
    head = build_segmentor(cfg, for_training=True).decode_head
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 16, 16, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (2, 16, 16), generator=g)
    labels[0, :4] = 255  # padding: ignored by both losses
    labels[1, :, -3:] = 255
    samples = [SegDataSample(gt_sem_seg=PixelData(data=labels[i:i + 1])) for i in range(2)]
    got = head.loss_by_feat(logits, samples)

    ce_pix = torch.nn.functional.cross_entropy(logits.double(), labels.clamp(max=NUM_CLASSES - 1), reduction='none')
    w = torch.tensor(weights, dtype=torch.float64)[labels.clamp(max=NUM_CLASSES - 1)]
    ce = (ce_pix * w * (labels != 255)).sum() / labels.numel()  # mean over ALL pixels, 255 counted as 0
    lovasz = _lovasz_reference(logits.softmax(1), labels)
    assert float(got['loss_ce']) == pytest.approx(float(ce), rel=1e-5)
    assert float(got['loss_lovasz']) == pytest.approx(2.0 * float(lovasz), rel=1e-5)
    assert torch.isfinite(got['loss_ce'] + got['loss_lovasz'])


def test_lovasz_gradient_flows_and_ignores_255():
    from mmseg.models.losses import LovaszLoss

    loss = LovaszLoss(loss_type='multi_class', per_image=False, reduction='none')
    logits = torch.randn(1, NUM_CLASSES, 8, 8, requires_grad=True)
    labels = torch.full((1, 8, 8), 255)
    labels[0, :4] = 3
    loss(logits, labels, ignore_index=255).backward()
    grad = logits.grad.abs().sum(1)[0]
    assert grad[:4].sum() > 0 and grad[4:].sum() == 0  # ignored pixels get no gradient


def test_rotation_option_keeps_labels_valid(synthetic_root):
    import numpy as np
    from mmengine.config import Config

    from utils.core.config import CONFIG_DIR
    from utils.core.model import init_registries
    from mmseg.registry import TRANSFORMS

    init_registries()
    cfg = Config.fromfile(str(CONFIG_DIR / '_base_/datasets/celebamask_flipswap-aug-rot25.py'))
    rot = [t for t in cfg.train_pipeline if t['type'] == 'RandomRotate']
    assert len(rot) == 1 and rot[0]['degree'] == 25
    assert [t['type'] for t in cfg.train_pipeline][-1] == 'PackSegInputs'
    step = TRANSFORMS.build(dict(rot[0], prob=1.0))
    mask = np.full((64, 64), 1, np.uint8)
    out = step(dict(img=np.zeros((64, 64, 3), np.uint8), gt_seg_map=mask.copy(), seg_fields=['gt_seg_map']))
    values = set(np.unique(out['gt_seg_map']).tolist())
    assert 255 in values and values <= {1, 255}  # uncovered corners ignored, nothing else invented


def test_schedule_figure_of_an_adamw_recipe():
    from utils.notebook.workflow import schedule_trace

    trace = schedule_trace(MIT, every=500)
    peak = trace['lr'].max()
    assert trace['lr'].iloc[0] == pytest.approx(6e-11) and 5e-5 < peak <= 6e-5
    assert trace.loc[trace['lr'].idxmax(), 'iter'] == pytest.approx(1500, abs=500)  # after the warm-up
    assert trace['lr'].iloc[-1] < 1e-8 and trace['momentum'].isna().all()  # poly to 0; AdamW has no momentum


def test_drive_need_counts_adamw_state():
    from utils.notebook.session import stage_need_bytes

    # measured: a MiT-B3 smoke run's iter_*.pth 536,035,699 bytes (weights + AdamW's two moments), best 178,660,215
    cfg = _cfg(MIT)
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 2
    measured = 3 * 536_035_699 + 178_660_215
    assert stage_need_bytes(MIT) == pytest.approx(measured, rel=0.02)
