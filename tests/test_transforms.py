"""utils.plugins.transforms: the Fast* drop-ins give byte-identical results to MMSeg's RandomCrop and PhotoMetricDistortion,
with the same random draws, on face-like masks, ignored regions, hopeless crops and non-uint8 inputs."""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

import utils  # noqa: F401  (the mmcv-lite shim, before mmseg)
from mmseg.datasets.transforms import PhotoMetricDistortion, RandomCrop

from utils.plugins.transforms import FastPhotoMetricDistortion, FastRandomCrop


def _face(h: int, w: int, seed: int, ignore_band: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A noisy picture and a face-like label map: skin ellipse, eyes, brows, nose, lips, hair band."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = np.zeros((h, w), np.uint8)
    cx, cy = w // 2 + int(rng.integers(-w // 8, w // 8 + 1)), h // 2
    cv2.ellipse(seg, (cx, cy), (w // 4, h // 3), 0, 0, 360, 1, -1)
    for label, dx in ((4, -1), (5, 1)):
        cv2.circle(seg, (cx + dx * w // 10, cy - h // 12), max(2, w // 40), label, -1)
    for label, dx in ((6, -1), (7, 1)):
        cv2.rectangle(seg, (cx + dx * w // 10 - w // 30, cy - h // 7), (cx + dx * w // 10 + w // 30, cy - h // 8), label, -1)
    cv2.circle(seg, (cx, cy), max(2, w // 30), 10, -1)
    cv2.ellipse(seg, (cx, cy + h // 6), (w // 12, h // 40 + 1), 0, 0, 360, 12, -1)
    seg[: h // 10] = 17
    if ignore_band:
        seg[-h // 6:] = 255
    return img, seg


def _results(img: np.ndarray, seg: np.ndarray) -> dict:
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'], img_shape=img.shape[:2])


def _same(original, fast, results: dict, seed: int) -> None:
    np.random.seed(seed)
    want = original(copy.deepcopy(results))
    want_state = np.random.get_state()[1].copy(), np.random.get_state()[2]
    np.random.seed(seed)
    got = fast(copy.deepcopy(results))
    got_state = np.random.get_state()[1].copy(), np.random.get_state()[2]
    for key in ('img', 'gt_seg_map'):
        assert got[key].dtype == want[key].dtype and got[key].shape == want[key].shape
        np.testing.assert_array_equal(got[key], want[key], err_msg=f'{key}, seed {seed}')
    assert got['img_shape'] == want['img_shape']
    # the same number of draws: every later transform sees the same random numbers too
    assert got_state[1] == want_state[1]
    np.testing.assert_array_equal(got_state[0], want_state[0])


CROPS = [dict(crop_size=(512, 512), cat_max_ratio=0.75), dict(crop_size=(256, 384), cat_max_ratio=0.5),
         dict(crop_size=(512, 512), cat_max_ratio=1.0), dict(crop_size=(64, 64), cat_max_ratio=0.75, ignore_index=17)]


@pytest.mark.parametrize('kw', CROPS, ids=['512-0.75', '256x384-0.5', 'no-check', 'ignore-17'])
@pytest.mark.parametrize('size', [(1024, 1024), (600, 520), (400, 400), (256, 256)])
def test_fast_random_crop_is_mmseg_random_crop(kw, size):
    original, fast = RandomCrop(**kw), FastRandomCrop(**kw)
    for seed in range(12):
        img, seg = _face(*size, seed, ignore_band=seed % 2 == 1)
        _same(original, fast, _results(img, seg), seed)


def test_fast_random_crop_keeps_the_last_draw_when_no_crop_is_balanced():
    """A mask of one class fails all ten checks: both keep the eleventh draw (and draw as often)."""
    img = np.zeros((900, 700, 3), np.uint8)
    for seg in (np.full((900, 700), 3, np.uint8), np.full((900, 700), 255, np.uint8)):
        for seed in range(5):
            _same(RandomCrop((512, 512), 0.75), FastRandomCrop((512, 512), 0.75), _results(img, seg), seed)


@pytest.mark.parametrize('dtype', [np.int32, np.int64, np.uint16])
def test_fast_random_crop_on_wider_label_types(dtype):
    for seed in range(6):
        img, seg = _face(700, 700, seed, ignore_band=True)
        _same(RandomCrop((512, 512), 0.75), FastRandomCrop((512, 512), 0.75), _results(img, seg.astype(dtype)), seed)


@pytest.mark.parametrize('kw', [{}, dict(brightness_delta=80, contrast_range=(0.2, 2.5), saturation_range=(0.1, 3.0),
                                         hue_delta=90)], ids=['defaults', 'strong'])
@pytest.mark.parametrize('size', [(512, 512), (37, 53)])
def test_fast_photometric_distortion_is_mmseg_photometric_distortion(kw, size):
    original, fast = PhotoMetricDistortion(**kw), FastPhotoMetricDistortion(**kw)
    for seed in range(40):  # every branch: each of the four steps is on or off, contrast first or last
        img, seg = _face(*size, seed)
        _same(original, fast, _results(img, seg), seed)


def test_fast_photometric_distortion_on_a_float_image_uses_mmseg_arithmetic():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)
    for seed in range(10):
        _same(PhotoMetricDistortion(), FastPhotoMetricDistortion(), _results(img, np.zeros((64, 64), np.uint8)), seed)


def test_fast_photometric_distortion_leaves_the_mask_and_the_input_alone():
    img, seg = _face(128, 128, 3)
    results = _results(img.copy(), seg.copy())
    np.random.seed(1)
    out = FastPhotoMetricDistortion(brightness_delta=64)(results)
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    assert not np.array_equal(out['img'], img)  # seed 1 changes it (checked against MMSeg above)


def test_the_improved_pipeline_gives_the_same_batches_as_mmseg_transforms(synthetic_root):
    """The improved config's whole train pipeline on real JPG/PNG files, with the Fast* steps and with MMSeg's."""
    from mmseg.registry import TRANSFORMS

    from utils.core.config import load_config
    from utils.base.layout import image_dir, list_files, mask_dir
    from utils.core.model import init_registries

    init_registries()
    cfg = load_config('deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', data_root=synthetic_root)
    fast_steps = [copy.deepcopy(dict(t)) for t in cfg.train_dataloader.dataset.pipeline]
    assert {'FastRandomCrop', 'FastPhotoMetricDistortion'} <= {t['type'] for t in fast_steps}
    plain_steps = [dict(t, type=t['type'].removeprefix('Fast')) for t in copy.deepcopy(fast_steps)]
    fast = [TRANSFORMS.build(t) for t in fast_steps]
    plain = [TRANSFORMS.build(t) for t in plain_steps]
    names = list_files(image_dir(synthetic_root, 'train'), ('.jpg',))
    assert names
    for seed, name in enumerate(names * 3):
        sample = dict(img_path=str(image_dir(synthetic_root, 'train') / name),
                      seg_map_path=str(mask_dir(synthetic_root, 'train') / name.replace('.jpg', '.png')),
                      reduce_zero_label=False, seg_fields=[])
        outs, states = [], []
        for steps in (plain, fast):
            np.random.seed(seed)
            r = copy.deepcopy(sample)
            for step in steps:
                r = step(r)
            outs.append(r)
            states.append(np.random.get_state()[1].copy())
        np.testing.assert_array_equal(states[0], states[1])  # the next sample's draws are the same too
        assert outs[0]['inputs'].equal(outs[1]['inputs'])
        assert outs[0]['data_samples'].gt_sem_seg.data.equal(outs[1]['data_samples'].gt_sem_seg.data)


@pytest.mark.parametrize('ignore_index', [255.0, None, -1, 300])
def test_fast_random_crop_with_unusual_ignore_index(ignore_index):
    kw = dict(crop_size=(256, 256), cat_max_ratio=0.75, ignore_index=ignore_index)
    for seed in range(6):
        img, seg = _face(400, 400, seed, ignore_band=True)
        _same(RandomCrop(**kw), FastRandomCrop(**kw), _results(img, seg), seed)


def test_fast_random_crop_shares_one_crop_inside_cache_random_params():
    """MMCV's cache_random_params (used to apply one crop to several views) gives the same crop every call."""
    from mmcv.transforms.utils import cache_random_params

    img, seg = _face(700, 700, 0)
    for transform in (RandomCrop((512, 512), 0.75), FastRandomCrop((512, 512), 0.75)):
        np.random.seed(0)
        with cache_random_params(transform):
            boxes = {transform.crop_bbox(_results(img, seg)) for _ in range(3)}
        assert len(boxes) == 1
    assert RandomCrop._methods_with_randomness == ['crop_bbox']  # MMSeg's own list is left as it was


def test_fast_photometric_distortion_keeps_a_single_channel_shape():
    """A (H, W, 1) image stays (H, W, 1) when only brightness and contrast apply (MMSeg's HSV steps need 3 channels)."""
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 1), dtype=np.uint8)
    kept = 0
    for seed in range(60):
        np.random.seed(seed)
        try:
            want = PhotoMetricDistortion()(_results(img.copy(), np.zeros((32, 32), np.uint8)))
        except Exception:  # noqa: BLE001 - MMSeg's saturation/hue cannot convert one channel: not comparable
            continue
        np.random.seed(seed)
        got = FastPhotoMetricDistortion()(_results(img.copy(), np.zeros((32, 32), np.uint8)))
        assert got['img'].shape == want['img'].shape == (32, 32, 1)
        np.testing.assert_array_equal(got['img'], want['img'])
        kept += 1
    assert kept > 5
