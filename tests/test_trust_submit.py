"""Trust in utils.submit: it replaces only files it wrote, never keeps a stale mask, and fails with one clear message."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import submit
from utils.core.inference import InferenceError, read_image
from utils.submit import SubmitError
from utils.submit.__main__ import main as submit_main
from utils.submit.common import image_size


class StubSegmenter:
    """Stands in for utils.core.inference.Segmenter: labels from brightness; can stop the run after some batches."""

    def __init__(self, interrupt_after: int | None = None) -> None:
        self.seen = 0
        self.batches = 0
        self.interrupt_after = interrupt_after

    def predict(self, images, tta='none'):
        if self.interrupt_after is not None and self.batches >= self.interrupt_after:
            raise KeyboardInterrupt
        self.batches += 1
        self.seen += len(images)
        return [labels_of(img) for img in images]


def labels_of(img: np.ndarray) -> np.ndarray:
    return (img.mean(axis=2) // 14).clip(0, 18).astype(np.uint8)


def copy_images(src: Path, dest: Path, n: int | None = None) -> Path:
    dest.mkdir(parents=True)
    for p in sorted(src.glob('*.jpg'), key=lambda p: int(p.stem))[:n]:
        shutil.copy(p, dest / p.name)
    return dest


def bomb_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (Pillow's decompression-bomb limit trips)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\0' * 64))
                     + chunk(b'IEND', b''))
    return path


def zip_masks_of(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as zf:
        return {n.split('/')[-1]: np.asarray(Image.open(io.BytesIO(zf.read(n)))) for n in zf.namelist()}


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.fixture()
def ckpt(tmp_path) -> Path:
    import torch

    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}}, path)
    return path


@pytest.fixture()
def images(synthetic_root, tmp_path) -> Path:
    return copy_images(synthetic_root / 'test' / 'test_image', tmp_path / 'imgs', n=6)


# --------------------------------------------------------------------------- 1. --out
def test_foreign_file_at_out_is_never_replaced(images, tmp_path, ckpt):
    """A file at --out that this tool did not write (a dataset zip) is refused, whatever the flags."""
    out = tmp_path / 'X.zip'
    with zipfile.ZipFile(out, 'w') as zf:
        zf.writestr('data/train/train_image/0.jpg', b'\xff\xd8' + bytes(1000))
    before = out.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(SubmitError) as info:
            submit.make_submission(ckpt, images, out, overwrite=overwrite, segmenter=StubSegmenter(), progress=False)
        msg = str(info.value)
        assert str(out) in msg and 'X-2.zip' in msg and 'move' in msg and 'Nothing was written' in msg
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['X.zip', 'imgs', 'model.pth']  # no masks folder either


def test_own_zip_is_replaced_but_not_once_edited(images, tmp_path, ckpt):
    """The zip this tool wrote last time is replaced; once its bytes change it is the user's and refused."""
    out = tmp_path / 'sub.zip'
    first = submit.make_submission(ckpt, images, out, segmenter=StubSegmenter(), progress=False)
    manifest = json.loads((tmp_path / 'sub_masks' / submit.MANIFEST).read_text())
    assert manifest['zips'] == {str(out.resolve()): first.sha256}
    second = submit.make_submission(ckpt, images, out, overwrite=True, segmenter=StubSegmenter(), progress=False)
    assert second.prediction.predicted == 6 and out.is_file()
    with zipfile.ZipFile(out, 'a') as zf:  # the user adds a file to the zip
        zf.writestr('notes.txt', 'mine')
    edited = out.read_bytes()
    with pytest.raises(SubmitError, match='SHA-256 differs'):
        submit.make_submission(ckpt, images, out, overwrite=True, segmenter=StubSegmenter(), progress=False)
    assert out.read_bytes() == edited


def test_free_name_suggested_skips_taken_names(images, tmp_path, ckpt):
    """The free name offered for a taken --out is one that does not exist yet."""
    (tmp_path / 'X.zip').write_bytes(b'mine')
    (tmp_path / 'X-2.zip').write_bytes(b'mine too')
    with pytest.raises(SubmitError, match='X-3.zip'):
        submit.make_submission(ckpt, images, tmp_path / 'X.zip', segmenter=StubSegmenter(), progress=False)


# --------------------------------------------------------------------------- 2. --masks-dir
def test_ground_truth_mask_folder_is_refused_even_with_overwrite(synthetic_root, tmp_path, ckpt):
    """--masks-dir pointing at a dataset's test_mask (ground truth) is refused, --overwrite included."""
    data = tmp_path / 'data'
    shutil.copytree(synthetic_root / 'test', data / 'test')
    before = snapshot(data)
    for overwrite in (False, True):
        with pytest.raises(SubmitError) as info:
            submit.make_submission(ckpt, data / 'test' / 'test_image', tmp_path / 'sub.zip',
                                   masks_dir=data / 'test' / 'test_mask', overwrite=overwrite,
                                   segmenter=StubSegmenter(), progress=False)
        msg = str(info.value)
        assert 'test_mask' in msg and '--masks-dir' in msg and 'Pass --overwrite' not in msg
    assert snapshot(data) == before and not (tmp_path / 'sub.zip').exists()


def test_foreign_masks_folder_is_refused_even_with_overwrite(synthetic_root, images, tmp_path, ckpt):
    """A folder of PNGs without a manifest of ours is refused, --overwrite included; a new folder is offered."""
    masks = tmp_path / 'gt'
    shutil.copytree(synthetic_root / 'test' / 'test_mask', masks)
    before = snapshot(masks)
    with pytest.raises(SubmitError) as info:
        submit.predict_folder(ckpt, images, masks, overwrite=True, segmenter=StubSegmenter(), progress=False)
    msg = str(info.value)
    assert 'no manifest.json' in msg and 'gt-new' in msg and 'not even with --overwrite' in msg
    assert snapshot(masks) == before


def test_masks_folder_with_an_old_manifest_is_refused(synthetic_root, images, tmp_path, ckpt):
    """A masks folder whose manifest does not list the PNGs it wrote (older format) is refused, not overwritten."""
    masks = tmp_path / 'masks'
    shutil.copytree(synthetic_root / 'test' / 'test_mask', masks)
    (masks / submit.MANIFEST).write_text(json.dumps({'tool': 'utils.submit', 'tta': 'none', 'status': 'complete'}))
    before = snapshot(masks)
    with pytest.raises(SubmitError, match='older format'):
        submit.predict_folder(ckpt, images, masks, overwrite=True, segmenter=StubSegmenter(), progress=False)
    assert snapshot(masks) == before


def test_overwrite_replaces_only_recorded_pngs(images, tmp_path, ckpt):
    """The manifest lists every PNG written; a PNG it does not list makes the folder foreign, --overwrite or not."""
    masks = tmp_path / 'masks'
    submit.predict_folder(ckpt, images, masks, segmenter=StubSegmenter(), progress=False)
    manifest = json.loads((masks / submit.MANIFEST).read_text())
    assert sorted(manifest['masks']) == sorted(f'{i}.png' for i in range(6))
    rec = manifest['masks']['0.png']
    data = (images / '0.jpg').read_bytes()
    assert rec == {'image': '0.jpg', 'bytes': len(data), 'blake2b': hashlib.blake2b(data, digest_size=16).hexdigest()}
    Image.new('P', (64, 64)).save(masks / 'mine.png')
    mine = (masks / 'mine.png').read_bytes()
    with pytest.raises(SubmitError, match='does not list.*mine.png'):
        submit.predict_folder(ckpt, images, masks, overwrite=True, segmenter=StubSegmenter(), progress=False)
    assert (masks / 'mine.png').read_bytes() == mine


def test_interrupted_run_stays_ours_and_resumes(images, tmp_path, ckpt):
    """A run stopped mid-way leaves a folder this tool still owns; the next run predicts only what is missing."""
    masks = tmp_path / 'masks'
    with pytest.raises(KeyboardInterrupt):
        submit.predict_folder(ckpt, images, masks, batch_size=2, segmenter=StubSegmenter(interrupt_after=1),
                              progress=False)
    manifest = json.loads((masks / submit.MANIFEST).read_text())
    assert manifest['status'] == 'interrupted' and set(manifest['masks']) == {f'{i}.png' for i in range(6)}
    stub = StubSegmenter()
    res = submit.predict_folder(ckpt, images, masks, batch_size=2, segmenter=stub, progress=False)
    assert (res.predicted, res.skipped, stub.seen) == (4, 2, 4)


# --------------------------------------------------------------------------- 3. stale masks
def test_other_images_with_the_same_names_are_predicted_again(synthetic_root, images, tmp_path, ckpt):
    """A second run with other --images (same file names) re-predicts them and zips only the new masks."""
    out = tmp_path / 'sub.zip'
    submit.make_submission(ckpt, images, out, segmenter=StubSegmenter(), progress=False)
    other = tmp_path / 'other'
    other.mkdir()
    for i, p in enumerate(sorted((synthetic_root / 'val' / 'val_image').glob('*.jpg'), key=lambda p: int(p.stem))[:6]):
        shutil.copy(p, other / f'{i}.jpg')
    stub = StubSegmenter()
    res = submit.make_submission(ckpt, other, out, segmenter=stub, progress=False)
    assert stub.seen == 6 and res.prediction.predicted == 6 and res.prediction.skipped == 0
    assert sorted(res.prediction.changed) == sorted(f'{i}.jpg' for i in range(6))
    assert '6 images changed' in str(res.prediction)
    for name, arr in zip_masks_of(out).items():
        np.testing.assert_array_equal(arr, labels_of(read_image(other / name.replace('.png', '.jpg'))))


def test_one_changed_image_is_named_and_stale_masks_are_not_zipped(synthetic_root, images, tmp_path, ckpt, capsys):
    """One edited image is re-predicted and named in the output; masks of removed images stay out of the zip."""
    out = tmp_path / 'sub.zip'
    submit.make_submission(ckpt, images, out, segmenter=StubSegmenter(), progress=False)
    shutil.copy(synthetic_root / 'val' / 'val_image' / '0.jpg', images / '2.jpg')
    (images / '5.jpg').unlink()
    stub = StubSegmenter()
    res = submit.make_submission(ckpt, images, out, segmenter=stub, progress=True)
    assert (res.prediction.predicted, res.prediction.skipped, stub.seen) == (1, 4, 1)
    assert res.prediction.changed == ['2.jpg'] and res.prediction.unused == ['5.png']
    printed = capsys.readouterr().out
    assert '1 images changed since their masks were predicted (2.jpg)' in printed
    assert sorted(zip_masks_of(out)) == [f'{i}.png' for i in range(5)]
    assert (tmp_path / 'sub_masks' / '5.png').is_file()  # kept, never deleted, but not zipped


# --------------------------------------------------------------------------- 4. a decompression bomb
def test_huge_image_is_listed_unreadable_and_the_rest_predicted(images, tmp_path, ckpt):
    """A 20000x20000 image is an InferenceError naming file and size; the others are predicted, nothing crashes."""
    bomb = bomb_png(images / '99.png')
    with pytest.raises(InferenceError) as info:
        read_image(bomb)
    assert '99.png' in str(info.value) and '20000x20000' in str(info.value) and 'Replace it' in str(info.value)
    assert image_size(bomb) == (20000, 20000)
    stub = StubSegmenter()
    with pytest.raises(submit.UnreadableImagesError) as err:
        submit.make_submission(ckpt, images, tmp_path / 'sub.zip', segmenter=stub, progress=False)
    assert [Path(p).name for p, _ in err.value.bad] == ['99.png'] and stub.seen == 6
    assert '20000x20000' in str(err.value)
    report = submit.check_submission(tmp_path / 'sub_masks', images, progress=False)
    assert not report.ok and report['all masks present'].files == ['99.png']
    shutil.copytree(tmp_path / 'sub_masks', tmp_path / 'check')
    Image.new('P', (64, 64)).save(tmp_path / 'check' / '99.png')  # a mask for the huge image: wrong size, no crash
    report = submit.check_submission(tmp_path / 'check', images, progress=False)
    assert report['sizes'].files == ['99.png (64x64, image 20000x20000)']


def test_bomb_or_broken_masks_are_one_message_when_counting_scoring_and_previewing(synthetic_root, tmp_path):
    """class_counts, score_submission and preview_grid name an oversized or truncated mask instead of crashing."""
    gt = synthetic_root / 'test' / 'test_mask'
    names = sorted(p.name for p in gt.glob('*.png'))
    expected = {'bomb': 'decompression bomb', 'truncated': 'Cannot read mask', 'text': 'not an image Pillow can read'}
    for damage, words in expected.items():
        sub = tmp_path / damage
        shutil.copytree(gt, sub)
        victim = sub / names[2]
        if damage == 'bomb':
            bomb_png(victim)
        elif damage == 'truncated':
            victim.write_bytes(victim.read_bytes()[:60])
        else:
            victim.write_text('not a mask')
        packed = tmp_path / f'{damage}.zip'
        with zipfile.ZipFile(packed, 'w') as zf:
            for p in sorted(sub.iterdir()):
                zf.write(p, f'submission/{p.name}')
        for call in (lambda: submit.class_counts(sub), lambda: submit.class_counts(packed),
                     lambda: submit.score_submission(packed, gt, progress=False),
                     lambda: submit.score_submission(gt, sub, progress=False)):  # the damaged file as ground truth
            with pytest.raises(SubmitError) as info:
                call()
            message = str(info.value)
            assert names[2] in message and words in message and 'BytesIO' not in message
            assert 'predict it again' in message and 're-extract the dataset' in message
        with pytest.raises(SubmitError, match=names[2]):
            submit.preview_grid(packed, synthetic_root / 'test' / 'test_image', names=[names[2].replace('.png', '.jpg')])
    assert submit.class_counts(gt).sum() > 0  # the intact masks still count


# --------------------------------------------------------------------------- 5. one message per CLI failure
def _cli(argv, capsys) -> tuple[int, str]:
    code = submit_main([*argv, '--quiet'])
    captured = capsys.readouterr()
    assert 'Traceback' not in captured.out + captured.err
    return code, captured.err


def test_cli_failures_are_one_message(images, tmp_path, ckpt, capsys, synthetic_root):
    """Missing/unreadable checkpoint, foreign --out or --masks-dir, missing --images: 'error: ...', exit 2."""
    garbage = tmp_path / 'garbage.pth'
    garbage.write_text('not a checkpoint')
    cut = tmp_path / 'cut.pth'
    with zipfile.ZipFile(cut, 'w') as zf:
        zf.writestr('archive/data.pkl', b'\x80\x02}q\x00(X')  # a checkpoint cut off mid-pickle
    foreign_zip = tmp_path / 'dataset.zip'
    foreign_zip.write_bytes(b'PK\x05\x06' + bytes(18))
    gt = tmp_path / 'gt'
    shutil.copytree(synthetic_root / 'test' / 'test_mask', gt)
    cases = [
        ([str(tmp_path / 'missing.pth'), '--images', str(images), '--out', str(tmp_path / 'a.zip')], 'missing.pth'),
        ([str(garbage), '--images', str(images), '--out', str(tmp_path / 'a.zip')], 'garbage.pth'),
        ([str(cut), '--images', str(images), '--out', str(tmp_path / 'a.zip')], 'copy this one again'),
        ([str(ckpt), '--images', str(images), '--out', str(foreign_zip)], 'dataset-2.zip'),
        ([str(ckpt), '--images', str(images), '--out', str(tmp_path / 'a.zip'), '--masks-dir', str(gt),
          '--overwrite'], 'gt-new'),
        ([str(ckpt), '--images', str(tmp_path / 'nope'), '--out', str(tmp_path / 'a.zip')], 'nope'),
    ]
    for argv, expected in cases:
        code, err = _cli(argv, capsys)
        assert code == 2 and err.startswith('error: ') and expected in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / 'a.zip').exists() and not (tmp_path / 'a_masks').exists()


@pytest.mark.parametrize('value', ['0', '-3', 'many'])
def test_cli_rejects_bad_batch_size(images, tmp_path, ckpt, capsys, value):
    """--batch-size must be a positive integer; argparse names the option."""
    with pytest.raises(SystemExit) as info:
        submit_main([str(ckpt), '--images', str(images), '--out', str(tmp_path / 'a.zip'), '--batch-size', value])
    err = capsys.readouterr().err
    assert info.value.code == 2 and 'argument --batch-size' in err and 'Traceback' not in err


def test_cli_check_rejects_bad_max_files(images, tmp_path, capsys):
    """check --max-files must be a positive integer; argparse names the option."""
    with pytest.raises(SystemExit) as info:
        submit_main(['check', str(tmp_path / 'a.zip'), '--images', str(images), '--max-files', '0'])
    assert info.value.code == 2 and 'argument --max-files' in capsys.readouterr().err


def test_cli_debug_shows_the_traceback(images, tmp_path, ckpt):
    """--debug re-raises the error (full traceback) instead of the one-line message."""
    (tmp_path / 'X.zip').write_bytes(b'mine')
    with pytest.raises(SubmitError, match='X-2.zip'):
        submit_main([str(ckpt), '--images', str(images), '--out', str(tmp_path / 'X.zip'), '--debug', '--quiet'])
