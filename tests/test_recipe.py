"""The improved recipe: every transform of its train pipeline on crafted masks, its class weights, its
schedule, and that every config of the family builds (model + pipeline); its smoke config trains in tests/test_final_fit.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from facts import SEED_PARAMS

from utils.base.labels import FLIP_PAIRS, NUM_CLASSES, REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
R50_TOP = 'deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512'
R101_TOP = 'deeplabv3plus_r101-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512'
SMOKE = 'deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-40it_celebamask-smoke-64x64'
IMPROVED = [
    'deeplabv3plus_r50-d8_1xb4-20k_celebamask-512x512',
    'deeplabv3plus_r50-d8_flipswap_1xb4-20k_celebamask-512x512',
    'deeplabv3plus_r50-d8_flipswap-aug_1xb4-20k_celebamask-512x512',
    R50_TOP,
    'deeplabv3plus_r50-d8_flipswap-aug-mfw_1xb4-20k_celebamask-512x512',
    R101_TOP,
    SMOKE,
]
NAME_RE = re.compile(r'^[a-z0-9]+_[a-z0-9]+-d8(_[a-z0-9-]+)?_1xb4-(\d+k|\d+it)_celebamask(-smoke)?-\d+x\d+$')


def _cfg(name: str, **kw):
    from utils.core.config import load_config

    return load_config(name, **kw)


def _transform(cfg_node: dict, **override):
    import copy

    from mmseg.registry import TRANSFORMS

    from utils.plugins import dataset  # noqa: F401  (registrations)
    from utils.core.model import init_registries

    init_registries()
    node = copy.deepcopy(dict(cfg_node))
    node.update(override)
    return TRANSFORMS.build(node)


def _step(cfg, type_name: str) -> dict:
    steps = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == type_name]
    assert len(steps) == 1, f'{type_name} should occur once in the train pipeline'
    return steps[0]


def _crafted(size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An image whose pixels encode their column, and a mask with every class, l/r parts on their own side."""
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, NUM_CLASSES, size=(size, size)).astype(np.uint8)
    mask[:, size // 2:][np.isin(mask[:, size // 2:], [5, 7, 9])] = 1  # r_* only on the picture's left
    mask[:, :size // 2][np.isin(mask[:, :size // 2], [4, 6, 8])] = 1  # l_* only on the picture's right
    img = np.zeros((size, size, 3), np.uint8)
    img[..., 0] = np.arange(size, dtype=np.uint8)[None, :] * (255 // size)
    img[..., 1] = mask * 10
    img[..., 2] = 128
    return img, mask


def _results(img: np.ndarray, mask: np.ndarray) -> dict:
    return dict(img=img.copy(), gt_seg_map=mask.copy(), seg_fields=['gt_seg_map'], img_shape=img.shape[:2],
                ori_shape=img.shape[:2])


# --------------------------------------------------------------------------- config family
@pytest.mark.parametrize('name', IMPROVED)
def test_config_names_follow_mmseg_style(name):
    assert (CONFIGS / f'{name}.py').is_file()
    assert NAME_RE.match(name), name


def test_swap_flip_is_defined_in_one_base_file_only():
    hits = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob('*.py') if 'swap_seg_labels' in p.read_text())
    assert hits == ['_base_/datasets/celebamask_flipswap.py']


@pytest.mark.parametrize('name', [n for n in IMPROVED if 'flipswap' in n])
def test_every_flipswap_config_swaps_all_three_pairs(name):
    flip = _step(_cfg(name), 'RandomFlip')
    assert sorted(tuple(p) for p in flip['swap_seg_labels']) == sorted(FLIP_PAIRS)
    assert flip['prob'] == 0.5 and flip['direction'] == 'horizontal'


def test_seed_configs_are_unchanged_by_the_family():
    cfg = _cfg('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512')
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandomFlip' not in types and 'RandomResize' not in types
    assert [s['type'] for s in cfg.param_scheduler] == ['CyclicLR', 'CyclicMomentum']


def test_apply_smoke_scales_the_aug_pipeline():
    cfg = _cfg(R50_TOP, smoke=dict(size=64, max_iters=4))
    assert tuple(_step(cfg, 'RandomResize')['scale']) == (64, 64)
    assert tuple(_step(cfg, 'FastRandomCrop')['crop_size']) == (64, 64)
    assert tuple(cfg.model.data_preprocessor['size']) == (64, 64)
    assert cfg.model.pretrained is None
    assert all(s['end'] <= 1000 for s in cfg.param_scheduler)
    assert all(s['begin'] < s['end'] for s in cfg.param_scheduler)  # no scheduler left with begin past end


def test_r101_option_uses_mmseg_imagenet_weights():
    cfg = _cfg(R101_TOP)
    assert cfg.model.backbone.depth == 101 and cfg.model.backbone.type == 'ResNetV1c'
    assert cfg.model.pretrained == 'open-mmlab://resnet101_v1c'
    from mmengine.runner.checkpoint import get_external_models

    assert get_external_models()['resnet101_v1c'].startswith('https://download.openmmlab.com/')


# --------------------------------------------------------------------------- transforms on crafted arrays
def test_swap_flip_mirrors_and_swaps_left_right_labels():
    flip = _transform(_step(_cfg(R50_TOP), 'RandomFlip'), prob=1.0)
    img, mask = _crafted()
    out = flip(_results(img, mask))
    perm = np.arange(NUM_CLASSES)
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    np.testing.assert_array_equal(out['gt_seg_map'], perm[mask[:, ::-1]])
    # after the flip, left parts are still on the picture's right: position keeps meaning the side
    right = out['gt_seg_map'][:, 32:]
    assert not np.isin(right, [5, 7, 9]).any() and np.isin(right, [4, 6, 8]).any()


def test_plain_flip_would_not_swap():
    """Control for the test above: the same flip without swap_seg_labels puts l_* labels on the wrong side."""
    flip = _transform(_step(_cfg(R50_TOP), 'RandomFlip'), prob=1.0, swap_seg_labels=None)
    img, mask = _crafted()
    out = flip(_results(img, mask))
    assert np.isin(out['gt_seg_map'][:, 32:], [5, 7, 9]).any()


def test_flip_with_prob_zero_is_identity():
    flip = _transform(_step(_cfg(R50_TOP), 'RandomFlip'), prob=0.0)
    img, mask = _crafted()
    out = flip(_results(img, mask))
    np.testing.assert_array_equal(out['gt_seg_map'], mask)


@pytest.mark.parametrize('seed', range(6))
def test_random_resize_and_crop_keep_labels_valid_and_shapes_right(seed):
    import random

    cfg = _cfg(R50_TOP, smoke=dict(size=64, max_iters=4))
    resize, crop = _transform(_step(cfg, 'RandomResize')), _transform(_step(cfg, 'FastRandomCrop'))
    np.random.seed(seed)
    random.seed(seed)
    img, mask = _crafted(64, seed)
    out = crop(resize(_results(img, mask)))
    h, w = out['img'].shape[:2]
    assert out['gt_seg_map'].shape == (h, w)
    assert 1 <= h <= 64 and 1 <= w <= 64  # crop_size 64 (512 scaled by apply_smoke); smaller when zoomed out
    assert set(np.unique(out['gt_seg_map'])) <= set(np.unique(mask))  # nearest resampling invents no label


def test_random_resize_spans_the_ratio_range():
    cfg = _cfg(R50_TOP, smoke=dict(size=64, max_iters=4))
    resize = _transform(_step(cfg, 'RandomResize'))
    np.random.seed(0)
    sizes = {resize(_results(*_crafted(64)))['img'].shape[0] for _ in range(40)}
    assert min(sizes) < 64 < max(sizes) and min(sizes) >= 32 and max(sizes) <= 128


def test_photometric_distortion_changes_image_only():
    pmd = _transform(_step(_cfg(R50_TOP), 'FastPhotoMetricDistortion'))
    np.random.seed(0)
    img, mask = _crafted()
    changed = 0
    for _ in range(8):
        out = pmd(_results(img, mask))
        np.testing.assert_array_equal(out['gt_seg_map'], mask)
        assert out['img'].shape == img.shape
        changed += int(not np.array_equal(np.asarray(out['img']).astype(np.uint8), img))
    assert changed > 0


def test_train_samples_are_random_crops_of_the_configured_size_and_val_samples_are_not(synthetic_root):
    """What the loaders give: a train sample is a random crop no larger than the configured crop, at full size when
    zoomed in and smaller when zoomed out (the preprocessor pads those: test_weighted_loss_survives_padding); a val
    sample is the same every time it is read (no augmentation at evaluation)."""
    import random

    import torch
    from mmseg.registry import DATASETS

    from utils.core.model import init_registries

    init_registries()
    cfg = _cfg(R50_TOP, data_root=synthetic_root, smoke=dict(size=64, max_iters=4))
    crop = tuple(_step(cfg, 'FastRandomCrop')['crop_size'])
    train = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    random.seed(0)
    sizes = set()
    for i in range(8):
        item = train[i]
        seg = item['data_samples'].gt_sem_seg.data
        assert item['inputs'].shape[0] == 3 and item['inputs'].shape[1:] == seg.shape[1:]
        assert seg.shape[1] <= crop[0] and seg.shape[2] <= crop[1] and int(seg.max()) < NUM_CLASSES
        sizes.add(tuple(seg.shape[1:]))
    assert crop in sizes and len(sizes) > 1, sizes
    assert not torch.equal(train[0]['inputs'], train[0]['inputs'])  # drawn afresh on every read
    val = DATASETS.build(cfg.val_dataloader.dataset)
    first, again = val[0], val[0]
    assert torch.equal(first['inputs'], again['inputs'])
    assert torch.equal(first['data_samples'].gt_sem_seg.data, again['data_samples'].gt_sem_seg.data)


# --------------------------------------------------------------------------- class weights
@pytest.mark.parametrize('method', ['inv_sqrt', 'median_freq'])
def test_data_derived_class_weights(synthetic_root, method):
    from utils.core.stats import compute_class_weights

    w = np.asarray(compute_class_weights(synthetic_root, method))
    assert w.shape == (NUM_CLASSES,) and np.all(np.isfinite(w)) and np.all(w > 0)
    assert w[0] < np.median(w)  # background, the most frequent class, weighs less than the median class


def _cross_entropy_losses(cfg) -> dict:
    """Every class-weightable loss of the config's heads, built as the model builds it: ``{head: [loss, ...]}``."""
    from mmseg.registry import MODELS

    from utils.core.model import init_registries

    init_registries()
    out = {}
    for head in ('decode_head', 'auxiliary_head'):
        nodes = cfg.model[head].loss_decode
        out[head] = [MODELS.build(n) for n in (nodes if isinstance(nodes, (list, tuple)) else [nodes])
                     if n['type'] == 'PixelMeanCrossEntropyLoss']
    return out


def _train_pixel_counts(root: Path) -> np.ndarray:
    from PIL import Image

    masks = [np.asarray(Image.open(p)) for p in sorted((root / 'train' / 'train_mask').glob('*.png'))]
    assert masks
    return np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=NUM_CLASSES)[:NUM_CLASSES]


def test_class_weights_reach_both_heads_and_make_a_rare_class_cost_more(synthetic_root):
    """The data-derived weights, resolved as training resolves them, reach the loss of both heads: with the logits
    the same, an image of the rarest train class costs more than one of the most common class (median-frequency more
    than inverse-sqrt), and without weights both cost the same."""
    import torch

    from utils.train import resolve_class_weights

    counts = _train_pixel_counts(synthetic_root)
    rare, common = int(np.where(counts > 0, counts, counts.max() + 1).argmin()), int(counts.argmax())
    assert counts[rare] < counts[common]
    logits = torch.zeros(1, NUM_CLASSES, 8, 8)

    def rare_over_common(name: str) -> dict:
        cfg = _cfg(name, data_root=synthetic_root, work_dir='/tmp/unused')
        resolve_class_weights(cfg, synthetic_root)
        out = {}
        for head, losses in _cross_entropy_losses(cfg).items():
            assert len(losses) == 1, (name, head)
            cost = [float(losses[0](logits, torch.full((1, 8, 8), c))) for c in (rare, common)]
            out[head] = cost[0] / cost[1]
        return out

    plain = rare_over_common('deeplabv3plus_r50-d8_flipswap-aug_1xb4-20k_celebamask-512x512')
    assert plain == {'decode_head': pytest.approx(1.0), 'auxiliary_head': pytest.approx(1.0)}
    isw = rare_over_common(R50_TOP)
    mfw = rare_over_common('deeplabv3plus_r50-d8_flipswap-aug-mfw_1xb4-20k_celebamask-512x512')
    swin = rare_over_common('upernet_swin-b-w12-in1k_flipswap-aug-isw-lovasz_1xb4-16k_celebamask-512x512')
    for head in ('decode_head', 'auxiliary_head'):
        assert 1.0 < isw[head] < mfw[head], (head, isw, mfw)
        assert swin[head] == pytest.approx(isw[head])  # the Swin recipe weighs its classes as the R50 one


# --------------------------------------------------------------------------- schedule
def test_poly_schedule_with_warmup():
    import torch
    from mmengine.optim.scheduler import LinearLR, PolyLR

    cfg = _cfg(R50_TOP)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr, momentum=0.9)
    kinds = {'LinearLR': LinearLR, 'PolyLR': PolyLR}
    scheds = [kinds[s['type']](opt, **{k: v for k, v in s.items() if k != 'type'}) for s in cfg.param_scheduler]
    total = cfg.train_cfg.max_iters
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    lrs = np.asarray(lrs)
    assert lrs[0] == pytest.approx(1e-5, rel=1e-3)  # 0.01 x start_factor 1e-3
    assert np.all(np.diff(lrs[:1000]) > 0)  # warm-up rises
    assert lrs.argmax() in range(990, 1010) and lrs.max() < 0.01
    assert np.all(np.diff(lrs[1001:]) <= 0)  # then decays
    for t in (2000, 10000, 19000):
        expect = 1e-4 + (0.01 - 1e-4) * (1 - t / total) ** 0.9
        assert lrs[t] == pytest.approx(expect, rel=0.06)
    assert lrs[-1] == pytest.approx(1e-4, rel=0.1)


# --------------------------------------------------------------------------- build + train
@pytest.mark.parametrize('name', IMPROVED)
def test_config_builds_model_and_pipeline(name):
    from mmcv.transforms import Compose

    from utils.core.model import build_segmentor, init_registries

    init_registries()
    cfg = _cfg(name, smoke=dict(size=64, max_iters=4))
    for node in (cfg.model.decode_head.loss_decode, cfg.model.auxiliary_head.loss_decode):
        if isinstance(node.get('class_weight'), str):
            node['class_weight'] = [1.0] * NUM_CLASSES  # resolved from data at train time
    model = build_segmentor(cfg, for_training=True)
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if '_r50-' in name:
        assert n == SEED_PARAMS  # the seed report's count: the family keeps the seed's architecture
    else:
        assert n > 60_000_000
        print(f'\n{name}: {n:,} trainable parameters')
    Compose(cfg.train_dataloader.dataset.pipeline)
    Compose(cfg.val_dataloader.dataset.pipeline)


def test_r101_forward_backward_on_cpu():
    import torch

    from utils.core.model import build_segmentor, init_registries

    init_registries()
    cfg = _cfg(R101_TOP, smoke=dict(size=64, max_iters=4))
    for node in (cfg.model.decode_head.loss_decode, cfg.model.auxiliary_head.loss_decode):
        node['class_weight'] = [1.0] * NUM_CLASSES
    model = build_segmentor(cfg, for_training=True).train()
    x = torch.randn(2, 3, 64, 64)
    feats = model.extract_feat(x)
    assert feats[-1].shape == (2, 2048, 8, 8)  # output stride 8
    logits = model.decode_head(feats)
    logits.float().mean().backward()
    assert model.backbone.stem[0].weight.grad is not None  # deep stem of ResNetV1c


def test_weighted_loss_survives_padding(synthetic_root):
    """A zoomed-out crop is padded with 255 by the preprocessor; the class-weighted loss ignores it, no crash."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from utils.core.model import build_segmentor, init_registries
    from utils.train import resolve_class_weights

    init_registries()
    cfg = _cfg(R50_TOP, data_root=synthetic_root, smoke=dict(size=64, max_iters=4))
    resolve_class_weights(cfg, synthetic_root)
    model = build_segmentor(cfg, for_training=True).train()
    samples = []
    for hw in ((32, 40), (64, 64)):  # the first is smaller than 64: padded
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, NUM_CLASSES, (1, *hw)))
        s.set_metainfo(dict(img_shape=hw, ori_shape=hw))
        samples.append(s)
    batch = dict(inputs=[torch.randint(0, 255, (3, 32, 40), dtype=torch.uint8),
                         torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)], data_samples=samples)
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (2, 3, 64, 64)
    padded = data['data_samples'][0].gt_sem_seg.data
    assert int((padded == 255).sum()) == 64 * 64 - 32 * 40  # the margin is ignored, not background
    losses = model._run_forward(data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce']) and torch.isfinite(losses['aux.loss_ce'])
