"""Trust, round 4: one way to read every input (utils.base.imageio: EXIF orientation ignored everywhere, 16-bit masks
converted exactly or refused), and the dataset's record on Drive (a SHA-256 per file) enforced on every runtime."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from utils.base import imageio
from utils.data.archive import keep_copy, restore_copy
from utils.data.common import DataError


def _tag_orientation(path, value: int = 6) -> None:
    """Re-save a JPEG with an EXIF orientation tag (6: a viewer rotates it 90 degrees); the pixels stay as stored."""
    with Image.open(path) as im:
        rgb = im.convert('RGB')
    exif = Image.Exif()
    exif[0x0112] = value
    rgb.save(path, format='JPEG', quality=95, exif=exif.tobytes())


@pytest.fixture
def tagged(synthetic_root, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    path = root / 'train' / 'train_image' / '0.jpg'
    _tag_orientation(path)
    return root, path


def test_an_exif_orientation_tag_is_ignored_by_every_reader_and_named_by_the_check(tagged):
    """Training's loader, inference, evaluation's inspector and the check read the pixels as stored (OpenCV told to
    ignore the tag is the oracle; OpenCV's default, which training used before, rotates them); the check names it."""
    from utils.data.check import check_dataset
    from utils.plugins.dataset import CelebAMaskDataset
    from utils.core.inference import read_image as inference_read
    from utils.notebook.widgets import _load

    root, path = tagged
    stored = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)[..., ::-1]
    rotated = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    assert stored.shape != rotated.shape or not np.array_equal(stored, rotated)  # the tag really rotates in OpenCV
    dataset = CelebAMaskDataset(data_root=str(root), data_prefix=dict(img_path='train/train_image',
                                seg_map_path='train/train_mask'),
                                pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    sample = next(dataset[i] for i in range(len(dataset)) if dataset[i]['img_path'] == str(path))
    for got in (imageio.read_image(path), inference_read(path), _load(path, mask=False), sample['img'][..., ::-1]):
        assert np.abs(got.astype(int) - stored.astype(int)).max() <= 2  # JPEG decoders may differ by a level
    assert sample['gt_seg_map'].shape == stored.shape[:2]  # image and mask stay aligned
    report = check_dataset(root, expect=None, progress=False, workers=1)
    row = next(r for r in report.results if r.name == 'image orientation')
    assert any('train/train_image/0.jpg: EXIF orientation 6' in f for f in row.files) and report.ok


def test_a_16_bit_mask_is_converted_exactly_or_refused_naming_it(synthetic_root, tmp_path):
    """A 16-bit PNG of labels reads as the same labels in training, evaluation and the statistics; one with values
    beyond 255 is refused naming the file (it used to read as 255s, or modulo 256)."""
    from utils.plugins.dataset import LoadFaceMask
    from utils.evaluate import EvaluationError, read_mask
    from utils.core.stats import count_mask

    with Image.open(synthetic_root / 'train' / 'train_mask' / '0.png') as im:
        labels = np.array(im)
    wide = tmp_path / 'wide.png'
    Image.fromarray(labels.astype(np.uint16)).save(wide)
    with Image.open(wide) as im:
        assert im.mode.startswith('I')  # really a 16-bit PNG
    loaded = LoadFaceMask()(dict(seg_map_path=str(wide), reduce_zero_label=False, seg_fields=[]))['gt_seg_map']
    for got in (imageio.read_label_mask(wide), read_mask(wide), loaded):
        assert got.dtype == np.uint8 and np.array_equal(got, labels)
    assert count_mask(wide)[:19].sum() == labels.size
    big = tmp_path / 'big.png'
    Image.fromarray((labels.astype(np.uint16) * 300)).save(big)
    with pytest.raises(imageio.ImageReadError, match='big.png is a I;16.* values up to'):
        imageio.read_label_mask(big)
    with pytest.raises(EvaluationError, match='big.png'):
        read_mask(big)


def _kept(synthetic_root, tmp_path):
    drive = tmp_path / 'drive'
    keep_copy(synthetic_root, drive, source='synthetic', progress=False)
    runtime = tmp_path / 'runtime' / 'data'
    restore_copy(runtime, drive, progress=False)
    return drive, runtime


def test_the_runtime_copy_is_checked_against_the_record_by_hash_and_count(synthetic_root, tmp_path, capsys):
    """The record beside the archive holds a SHA-256 per file: on the next notebook of the same runtime a swapped
    mask, a removed image or an extra one stops with the files named (it used to be counted only)."""
    drive, runtime = _kept(synthetic_root, tmp_path)
    capsys.readouterr()
    restore_copy(runtime, drive, progress=False)
    assert 'every file\'s SHA-256 matches the record' in capsys.readouterr().out
    masks = runtime / 'train' / 'train_mask'
    a, b = masks / '0.png', masks / '1.png'
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)  # same names, same counts, labels of another face
    with pytest.raises(DataError, match=r'2 files differ from the record \(train/train_mask/0.png'):
        restore_copy(runtime, drive, progress=False)
    a.write_bytes(da)
    b.write_bytes(db)
    img = runtime / 'test' / 'test_image' / '0.jpg'
    img.unlink()
    with pytest.raises(DataError, match="'test': 11.* 'test': 12"):
        restore_copy(runtime, drive, progress=False)


def test_a_failed_check_stays_failed_until_the_data_changes(synthetic_root, tmp_path):
    """The copy unpacked from Drive fails its check (a mask with label 30): the next Run all on the same runtime,
    finding the files in place, fails the same way instead of passing."""
    data = tmp_path / 'bad'
    shutil.copytree(synthetic_root, data)
    bad = data / 'val' / 'val_mask' / '0.png'
    with Image.open(bad) as im:
        arr = np.array(im)
        palette = im.getpalette()
    arr[0, 0] = 30
    out = Image.fromarray(arr, mode='P')
    out.putpalette(palette)
    out.save(bad)
    drive = tmp_path / 'drive'
    keep_copy(data, drive, source='synthetic', progress=False)
    runtime = tmp_path / 'runtime' / 'data'
    with pytest.raises(DataError, match='failed its check'):
        restore_copy(runtime, drive, progress=False)
    with pytest.raises(DataError, match='unchanged since that check'):
        restore_copy(runtime, drive, progress=False)
    arr[0, 0] = 0
    Image.fromarray(arr).save(runtime / 'val' / 'val_mask' / '0.png')  # changed: judged again (by the record)
    with pytest.raises(DataError, match='differ from the record'):
        restore_copy(runtime, drive, progress=False)
