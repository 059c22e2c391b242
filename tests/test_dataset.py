"""The registered CelebAMask dataset: course layout, masks read as indices, clear errors for broken data."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import utils.plugins.dataset  # noqa: F401  (registers)
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from utils.base.labels import CLASSES
from utils.core.synthetic import make_synthetic_dataset

init_default_scope('mmseg')
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', imdecode_backend='pillow'),
            dict(type='CheckSegLabels')]


def _dataset(root, split='train', pipeline=PIPELINE, masks=True):
    prefix = dict(img_path=f'{split}/{split}_image')
    if masks:
        prefix['seg_map_path'] = f'{split}/{split}_mask'
    return DATASETS.build(dict(type='CelebAMaskDataset', data_root=str(root), data_prefix=prefix, pipeline=pipeline))


@pytest.fixture()
def root(tmp_path):
    return make_synthetic_dataset(tmp_path / 'd', 12, 3, 2, size=32, progress=False, with_test_masks=False)


def test_masks_load_as_indices_not_colours(root):
    ds = _dataset(root)
    assert ds.metainfo['classes'] == CLASSES and len(ds) == 12
    item = ds[0]
    raw = np.array(Image.open(item['seg_map_path']))
    assert np.array_equal(item['gt_seg_map'], raw)
    assert item['gt_seg_map'].max() <= 18 and item['gt_seg_map'].ndim == 2
    # natural order: 10.jpg after 2.jpg
    names = [ds.get_data_info(i)['img_path'].rsplit('/', 1)[1] for i in range(len(ds))]
    assert names[:3] == ['0.jpg', '1.jpg', '2.jpg'] and names[-1] == '11.jpg'


def test_test_split_without_masks(root):
    ds = _dataset(root, 'test', pipeline=[dict(type='LoadImageFromFile')], masks=False)
    assert len(ds) == 2 and 'seg_map_path' not in ds.get_data_info(0)


def test_out_of_range_label_names_the_file(root):
    bad = root / 'train' / 'train_mask' / '4.png'
    m = np.array(Image.open(bad))
    m[0, 0] = 19
    Image.fromarray(m, mode='L').save(bad)
    ds = _dataset(root)
    with pytest.raises(ValueError, match=r'4\.png has labels \[19\]'):
        ds[4]


def test_a_bad_label_beside_255_is_caught(root):
    """The check looks at every value once the maximum is out of range: 255 (ignore) does not hide a 30."""
    bad = root / 'train' / 'train_mask' / '5.png'
    m = np.array(Image.open(bad))
    m[0, 0], m[0, 1] = 255, 30
    Image.fromarray(m, mode='L').save(bad)
    ok = root / 'train' / 'train_mask' / '6.png'
    m = np.array(Image.open(ok))
    m[0, 0] = 255
    Image.fromarray(m, mode='L').save(ok)
    ds = _dataset(root)
    with pytest.raises(ValueError, match=r'5\.png has labels \[30\]'):
        ds[5]
    assert int(ds[6]['gt_seg_map'].max()) == 255  # ignore alone is fine


def test_rgb_mask_is_explained(root):
    bad = root / 'train' / 'train_mask' / '2.png'
    Image.open(bad).convert('RGB').save(bad)
    ds = _dataset(root)
    with pytest.raises(ValueError, match=r'2\.png .*RGB picture'):
        ds[2]


def test_missing_mask_and_missing_split(root):
    (root / 'train' / 'train_mask' / '3.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'1 of 12 images .* no mask, e\.g\. .*3\.png'):
        _dataset(root)
    with pytest.raises(FileNotFoundError, match='Image folder not found: .*val2/val2_image'):
        _dataset(root, 'val2')
