"""The synthetic dataset: deterministic, face-like, every class present, left/right told apart only by position."""
from __future__ import annotations

import numpy as np
from PIL import Image

from utils.base.labels import CLASSES, FLIP_PAIRS, flip_permutation
from utils.core.synthetic import make_synthetic_dataset, sample

L = {n: i for i, n in enumerate(CLASSES)}


def test_deterministic_by_seed_and_index():
    a_img, a_mask = sample(0, 'train', 3, 64)
    b_img, b_mask = sample(0, 'train', 3, 64)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    c_img, _ = sample(1, 'train', 3, 64)
    d_img, _ = sample(0, 'val', 3, 64)
    assert not np.array_equal(a_img, c_img) and not np.array_equal(a_img, d_img)


def test_every_class_occurs():
    seen = np.zeros(len(CLASSES), bool)
    for i in range(120):
        seen |= np.bincount(sample(0, 'train', i, 64)[1].ravel(), minlength=len(CLASSES)) > 0
    assert seen.all(), [c for c, s in zip(CLASSES, seen) if not s]


def test_left_right_parts_differ_only_by_position():
    img, mask = sample(0, 'train', 5, 256)
    for left, right in FLIP_PAIRS:
        lm, rm = mask == left, mask == right
        assert lm.sum() > 0 and rm.sum() > 0, (CLASSES[left], CLASSES[right])
        # same colour (up to noise) ...
        assert np.abs(img[lm].mean(0) - img[rm].mean(0)).max() < 12
        # ... on opposite sides: l_* is the person's left, the right side of the picture
        assert np.nonzero(lm)[1].mean() > np.nonzero(rm)[1].mean()


def test_flip_with_swap_gives_a_valid_face():
    """Mirroring a face and swapping l/r labels keeps l_* on the picture's right, like any sample."""
    _, mask = sample(0, 'train', 7, 128)
    flipped = flip_permutation()[mask[:, ::-1]]
    for left, right in FLIP_PAIRS:
        assert np.nonzero(flipped == left)[1].mean() > np.nonzero(flipped == right)[1].mean()


def test_course_layout_and_palette_masks(tmp_path):
    root = make_synthetic_dataset(tmp_path / 'd', 3, 2, 2, size=48, progress=False, with_test_masks=False)
    assert sorted(p.name for p in (root / 'train' / 'train_image').iterdir()) == ['0.jpg', '1.jpg', '2.jpg']
    assert sorted(p.name for p in (root / 'val' / 'val_mask').iterdir()) == ['0.png', '1.png']
    assert not (root / 'test' / 'test_mask').exists()
    m = Image.open(root / 'train' / 'train_mask' / '0.png')
    assert m.mode == 'P' and m.size == (48, 48)
    assert m.getpalette()[3:6] == [204, 0, 0]  # skin colour of the CelebAMask palette
    assert np.array(m).max() <= 18
    assert Image.open(root / 'test' / 'test_image' / '1.jpg').size == (48, 48)
