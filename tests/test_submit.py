"""Tests of utils.submit: prediction into masks, resume and manifest, bad input, the zip checker, the scorer."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import submit
from utils.base.labels import NUM_CLASSES, PALETTE
from utils.base.report import FAIL, PASS, WARN
from utils.submit import SubmitError
from utils.submit.__main__ import main as submit_main


# --------------------------------------------------------------------------- helpers
class StubSegmenter:
    """Stands in for utils.core.inference.Segmenter: labels from brightness, records which images it saw."""

    def __init__(self, labels_fn=None) -> None:
        self.calls: list[tuple[int, str]] = []
        self.labels_fn = labels_fn or (lambda img: (img.mean(axis=2) // 14).clip(0, 18).astype(np.uint8))
        self.seen = 0

    def predict(self, images, tta='none'):
        self.calls.append((len(images), tta))
        self.seen += len(images)
        return [self.labels_fn(img) for img in images]


def fake_checkpoint(path: Path, value: float = 0.0) -> Path:
    import torch

    torch.save({'state_dict': {'w': torch.full((2,), value)}}, path)
    return path


def copy_images(synthetic_root: Path, dest: Path, n: int | None = None) -> Path:
    src = sorted((synthetic_root / 'test' / 'test_image').glob('*.jpg'))[:n]
    dest.mkdir(parents=True)
    for p in src:
        shutil.copy(p, dest / p.name)
    return dest


def gt_entries(synthetic_root: Path, folder: str = 'sub') -> dict[str, bytes]:
    """A correct submission's entries: the synthetic test ground truth, one folder."""
    return {f'{folder}/{p.name}': p.read_bytes() for p in (synthetic_root / 'test' / 'test_mask').glob('*.png')}


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, 'w') as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue()


def image_dir_of(synthetic_root: Path) -> Path:
    return synthetic_root / 'test' / 'test_image'


@pytest.fixture(scope='module')
def segmenter(smoke_run):
    from utils.core.inference import Segmenter

    return Segmenter.from_checkpoint(smoke_run['checkpoint'], device='cpu')


@pytest.fixture()
def ckpt(tmp_path) -> Path:
    return fake_checkpoint(tmp_path / 'model.pth')


# --------------------------------------------------------------------------- end to end with the smoke model
def test_smoke_checkpoint_gives_a_zip_that_passes(smoke_run, synthetic_root, segmenter, tmp_path, capsys):
    images = image_dir_of(synthetic_root)
    out = tmp_path / 'out' / 'submission.zip'
    res = submit.make_submission(smoke_run['checkpoint'], images, out, segmenter=segmenter, progress=False,
                                 reference=synthetic_root / 'val' / 'val_mask')
    assert res.report.ok, res.report.format()
    assert out.is_file() and res.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert res.bytes == out.stat().st_size and res.masks == 12
    assert res.prediction.predicted == 12 and res.prediction.skipped == 0
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert sorted(names) == sorted(f'submission/{p.stem}.png' for p in images.glob('*.jpg'))
        for name in names:
            with Image.open(io.BytesIO(zf.read(name))) as im:
                assert im.mode == 'P' and im.size == (64, 64)
                assert im.getpalette()[:6] == [*PALETTE[0], *PALETTE[1]]
                assert np.asarray(im).max() < NUM_CLASSES
    manifest = json.loads((tmp_path / 'out' / 'submission_masks' / submit.MANIFEST).read_text())
    assert manifest['tta'] == 'flip' and manifest['status'] == 'complete'  # the config's test_tta, the default
    assert manifest['checkpoint_sha256'] == hashlib.sha256(Path(smoke_run['checkpoint']).read_bytes()).hexdigest()
    assert not list(out.parent.glob('.*'))  # no temporary zip or mask left behind

    # The command's default action on the same output resumes: nothing left to predict, no model loaded.
    code = submit_main([str(smoke_run['checkpoint']), '--images', str(images), '--out', str(out), '--quiet'])
    text = capsys.readouterr().out
    assert code == 0 and '0 predicted, 12 kept' in text and 'PASSED' in text
    assert submit_main(['check', str(out), '--images', str(images), '--quiet']) == 0

    # Local score with the leaderboard formula equals a direct confusion-matrix computation.
    score = submit.score_submission(out, synthetic_root / 'test' / 'test_mask', progress=False)
    inter = np.zeros(NUM_CLASSES)
    union = np.zeros(NUM_CLASSES)
    with zipfile.ZipFile(out) as zf:
        for gt_path in (synthetic_root / 'test' / 'test_mask').glob('*.png'):
            pred = np.asarray(Image.open(io.BytesIO(zf.read(f'submission/{gt_path.name}'))))
            gt = np.asarray(Image.open(gt_path))
            for c in range(NUM_CLASSES):
                inter[c] += np.sum((pred == c) & (gt == c))
                union[c] += np.sum((pred == c) | (gt == c))
    expected = 100 * np.mean(inter[union > 0] / union[union > 0])
    assert score.miou == pytest.approx(expected) and score.images == 12
    assert submit_main(['score', str(out), '--masks', str(synthetic_root / 'test' / 'test_mask'), '--quiet']) == 0
    assert 'mIoU' in capsys.readouterr().out


def test_other_image_size_is_predicted_at_its_own_size(smoke_run, synthetic_root, segmenter, tmp_path):
    images = copy_images(synthetic_root, tmp_path / 'imgs', n=2)
    odd = images / '1.jpg'
    Image.open(odd).resize((80, 48), Image.BILINEAR).save(odd)
    res = submit.predict_folder(smoke_run['checkpoint'], images, tmp_path / 'masks', segmenter=segmenter,
                                progress=False)
    assert res.predicted == 2
    assert Image.open(tmp_path / 'masks' / '1.png').size == (80, 48)
    assert Image.open(tmp_path / 'masks' / '0.png').size == (64, 64)
    assert submit.check_submission(tmp_path / 'masks', images, progress=False).ok


# --------------------------------------------------------------------------- resume and manifest
def test_resume_skips_finished_masks_and_redoes_broken_ones(synthetic_root, tmp_path, ckpt):
    images, masks = image_dir_of(synthetic_root), tmp_path / 'masks'
    stub = StubSegmenter()
    first = submit.predict_folder(ckpt, images, masks, segmenter=stub, batch_size=5, progress=False)
    assert (first.predicted, first.skipped, stub.seen) == (12, 0, 12)
    kept = (masks / '3.png').stat().st_mtime_ns
    (masks / '0.png').unlink()                                   # never written
    data = (masks / '1.png').read_bytes()
    (masks / '1.png').write_bytes(data[:len(data) // 2])         # half-written (a crash without atomic rename)
    Image.new('P', (32, 32)).save(masks / '2.png')               # wrong size
    (masks / '.5.png.part-999-1').write_bytes(b'partial')        # temporary file of an interrupted run
    stub2 = StubSegmenter()
    second = submit.predict_folder(ckpt, images, masks, segmenter=stub2, progress=False)
    assert (second.predicted, second.skipped, stub2.seen) == (3, 9, 3)
    assert (masks / '3.png').stat().st_mtime_ns == kept
    assert not list(masks.glob('.*part*'))
    assert submit.check_submission(masks, images, progress=False).ok
    stub3 = StubSegmenter()
    third = submit.predict_folder(ckpt, images, masks, segmenter=stub3, overwrite=True, progress=False)
    assert (third.predicted, third.skipped, stub3.seen) == (12, 0, 12)


def test_refuses_to_mix_checkpoints_or_tta(synthetic_root, tmp_path, ckpt):
    images, masks = image_dir_of(synthetic_root), tmp_path / 'masks'
    submit.predict_folder(ckpt, images, masks, tta='none', segmenter=StubSegmenter(), progress=False)
    with pytest.raises(SubmitError, match='--overwrite') as info:
        submit.predict_folder(ckpt, images, masks, tta='flip', segmenter=StubSegmenter(), progress=False)
    assert 'tta' in str(info.value)
    other = fake_checkpoint(tmp_path / 'other.pth', value=1.0)
    with pytest.raises(SubmitError, match='two models'):
        submit.predict_folder(other, images, masks, tta='none', segmenter=StubSegmenter(), progress=False)
    moved = tmp_path / 'moved.pth'  # the same weights under another name are the same model
    shutil.copy(ckpt, moved)
    assert submit.predict_folder(moved, images, masks, tta='none', segmenter=StubSegmenter(),
                                 progress=False).skipped == 12
    res = submit.predict_folder(other, images, masks, tta='none', overwrite=True, segmenter=StubSegmenter(),
                                progress=False)
    assert res.predicted == 12
    assert json.loads((masks / submit.MANIFEST).read_text())['checkpoint'] == str(other.resolve())


def test_notebooks_replace_another_runs_masks_and_still_resume_their_own(synthetic_root, tmp_path, ckpt, capsys):
    """replace_other_run (what 05 passes): a changed checkpoint or TTA predicts every mask again, says so, and a
    rerun of the same run after that still keeps its masks."""
    images, masks = image_dir_of(synthetic_root), tmp_path / 'masks'
    submit.predict_folder(ckpt, images, masks, tta='none', segmenter=StubSegmenter(), progress=False)
    other = fake_checkpoint(tmp_path / 'other.pth', value=1.0)
    stub = StubSegmenter()
    res = submit.predict_folder(other, images, masks, tta='none', replace_other_run=True, segmenter=stub)
    assert (res.predicted, res.skipped, stub.seen) == (12, 0, 12)
    assert 'holds the masks of another run' in capsys.readouterr().out
    assert json.loads((masks / submit.MANIFEST).read_text())['checkpoint'] == str(other.resolve())
    again = submit.predict_folder(other, images, masks, tta='none', replace_other_run=True,
                                  segmenter=StubSegmenter(), progress=False)
    assert (again.predicted, again.skipped) == (0, 12)
    flip = submit.predict_folder(other, images, masks, tta='flip', replace_other_run=True,
                                 segmenter=StubSegmenter(), progress=False)
    assert flip.predicted == 12


def test_refuses_unknown_masks_without_manifest(synthetic_root, tmp_path, ckpt):
    masks = tmp_path / 'masks'
    masks.mkdir()
    shutil.copy(synthetic_root / 'test' / 'test_mask' / '0.png', masks / '0.png')
    with pytest.raises(SubmitError, match='no manifest.json'):
        submit.predict_folder(ckpt, image_dir_of(synthetic_root), masks, segmenter=StubSegmenter(), progress=False)


# --------------------------------------------------------------------------- bad input
def test_unreadable_images_fail_after_the_rest_is_predicted(synthetic_root, tmp_path, ckpt):
    images = copy_images(synthetic_root, tmp_path / 'imgs')
    for name in ('5.jpg', '11.jpg'):  # one mid-batch, one in the last batch
        data = (images / name).read_bytes()
        (images / name).write_bytes(data[:len(data) // 3])
    stub = StubSegmenter()
    out = tmp_path / 'sub.zip'
    with pytest.raises(submit.UnreadableImagesError) as info:
        submit.make_submission(ckpt, images, out, batch_size=4, segmenter=stub, progress=False)
    err = info.value
    assert {Path(p).name for p, _ in err.bad} == {'5.jpg', '11.jpg'}
    assert '5.jpg' in str(err) and '11.jpg' in str(err) and 'No zip' in str(err)
    assert err.result.predicted == 10 and stub.seen == 10
    assert sorted(p.name for p in (tmp_path / 'sub_masks').glob('*.png')) == sorted(
        f'{i}.png' for i in range(12) if i not in (5, 11))
    assert not out.exists()
    manifest = json.loads((tmp_path / 'sub_masks' / submit.MANIFEST).read_text())
    assert manifest['status'] == 'incomplete' and len(manifest['unreadable']) == 2
    # After the files are replaced, a re-run predicts only those two and writes the zip.
    for name in ('5.jpg', '11.jpg'):
        shutil.copy(synthetic_root / 'test' / 'test_image' / name, images / name)
    stub2 = StubSegmenter()
    res = submit.make_submission(ckpt, images, out, segmenter=stub2, progress=False)
    assert stub2.seen == 2 and res.report.ok and out.is_file()


def test_empty_or_missing_image_folder(tmp_path, ckpt):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('x')
    with pytest.raises(SubmitError, match='No images in'):
        submit.make_submission(ckpt, tmp_path / 'empty', tmp_path / 'sub.zip', segmenter=StubSegmenter())
    with pytest.raises(SubmitError, match='Image folder not found'):
        submit.make_submission(ckpt, tmp_path / 'nope', tmp_path / 'sub.zip', segmenter=StubSegmenter())


def test_output_inside_image_folder_is_refused(synthetic_root, tmp_path, ckpt):
    images = copy_images(synthetic_root, tmp_path / 'imgs', n=3)
    before = sorted(p.name for p in images.iterdir())
    with pytest.raises(SubmitError, match='inside the image folder'):
        submit.make_submission(ckpt, images, images / 'sub.zip', segmenter=StubSegmenter())
    with pytest.raises(SubmitError, match='inside the image folder'):
        submit.make_submission(ckpt, images, tmp_path / 'sub.zip', masks_dir=images / 'masks',
                               segmenter=StubSegmenter())
    assert sorted(p.name for p in images.iterdir()) == before


def test_missing_checkpoint_is_a_clean_cli_error(synthetic_root, tmp_path, capsys):
    code = submit_main([str(tmp_path / 'missing.pth'), '--images', str(image_dir_of(synthetic_root)),
                        '--out', str(tmp_path / 'sub.zip'), '--quiet'])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith('error: ') and 'missing.pth' in err and 'Traceback' not in err
    assert not (tmp_path / 'sub.zip').exists()


def test_bad_arguments(synthetic_root, tmp_path, ckpt):
    images = image_dir_of(synthetic_root)
    with pytest.raises(SubmitError, match='.zip'):
        submit.make_submission(ckpt, images, tmp_path / 'sub.tar', segmenter=StubSegmenter())
    with pytest.raises(SubmitError, match='Unknown TTA'):
        submit.make_submission(ckpt, images, tmp_path / 'sub.zip', tta='hflip', segmenter=StubSegmenter())


def test_failed_check_leaves_no_zip_and_keeps_the_old_one(synthetic_root, tmp_path, ckpt):
    out = tmp_path / 'sub.zip'
    first = submit.make_submission(ckpt, image_dir_of(synthetic_root), out, segmenter=StubSegmenter(), progress=False)
    previous = out.read_bytes()
    assert first.sha256 == hashlib.sha256(previous).hexdigest()
    background = StubSegmenter(lambda img: np.zeros(img.shape[:2], np.uint8))
    with pytest.raises(submit.SubmissionCheckError) as info:
        submit.make_submission(ckpt, image_dir_of(synthetic_root), out, strict=True, segmenter=background,
                               overwrite=True, progress=False)
    assert info.value.report['no empty masks'].status == FAIL
    assert out.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.pth', 'sub.zip', 'sub_masks']


# --------------------------------------------------------------------------- the checker
def test_checker_passes_a_correct_zip(synthetic_root, tmp_path):
    report = submit.check_submission(write_zip(tmp_path / 'ok.zip', gt_entries(synthetic_root)),
                                     image_dir_of(synthetic_root), reference=synthetic_root / 'val' / 'val_mask',
                                     progress=False)
    assert report.ok and not report.problems and not report.warnings, report.format()
    assert report.masks == report.images == 12
    assert set(report.to_frame()['status']) == {PASS}


def _drop(e):
    e.pop('sub/3.png')


def _extra(e):
    e['sub/notes.txt'] = b'hello'


def _rename(e):
    e['sub/4.jpg.png'] = e.pop('sub/4.png')


def _rgb(e):
    arr = np.asarray(Image.open(io.BytesIO(e['sub/2.png'])))
    e['sub/2.png'] = png_bytes(np.stack([arr] * 3, axis=-1))


def _size(e):
    e['sub/6.png'] = png_bytes(np.zeros((32, 64), np.uint8))


def _value(v):
    def mutate(e):
        arr = np.asarray(Image.open(io.BytesIO(e['sub/7.png']))).copy()
        arr[0, 0] = v
        e['sub/7.png'] = png_bytes(arr)
    return mutate


def _nested(e):
    e['sub/more/8.png'] = e['sub/8.png']


def _macosx(e):
    e['__MACOSX/sub/._8.png'] = b'\x00\x05\x16\x07'


def _no_folder(e):
    for k in list(e):
        e[k.split('/')[1]] = e.pop(k)


def _two_folders(e):
    e['other/9.png'] = e['sub/9.png']


def _clear(e):
    e.clear()


@pytest.mark.parametrize('mutate, check, offender', [
    (_drop, 'all masks present', '3.png'),
    (_extra, 'no extra files', 'sub/notes.txt'),
    (_rename, 'no extra files', '4.jpg.png'),
    (_rgb, 'single channel', 'sub/2.png'),
    (_size, 'sizes', 'sub/6.png'),
    (_value(19), 'values 0..18', 'sub/7.png'),
    (_value(255), 'values 0..18', 'sub/7.png'),
    (_nested, 'one folder', 'sub/more/8.png'),
    (_macosx, 'no junk files', '__MACOSX/sub/._8.png'),
    (_no_folder, 'one folder', '0.png'),
    (_two_folders, 'one folder', 'other/9.png'),
    (_clear, 'zip file', 'broken.zip'),
], ids=['missing', 'extra', 'wrong-name', 'rgb', 'wrong-size', 'value-19', 'value-255', 'nested', 'macosx',
        'no-folder', 'two-folders', 'empty-zip'])
def test_checker_rejects(synthetic_root, tmp_path, capsys, mutate, check, offender):
    entries = gt_entries(synthetic_root)
    mutate(entries)
    path = write_zip(tmp_path / 'broken.zip', entries)
    images = image_dir_of(synthetic_root)
    report = submit.check_submission(path, images, progress=False)
    assert not report.ok
    assert report[check].status == FAIL, report.format()
    assert any(offender in f for f in report[check].files), report[check]
    assert any(line.startswith(check) for line in report.problems)
    assert submit_main(['check', str(path), '--images', str(images), '--quiet']) == 1
    out = capsys.readouterr().out
    assert 'FAILED' in out and offender in out


def test_checker_reports_wrong_name_hint_and_not_a_zip(synthetic_root, tmp_path):
    entries = gt_entries(synthetic_root)
    _rename(entries)
    report = submit.check_submission(write_zip(tmp_path / 'z.zip', entries), image_dir_of(synthetic_root),
                                     progress=False)
    assert report['no extra files'].files == ['sub/4.jpg.png (expected 4.png)']
    (tmp_path / 'fake.zip').write_text('not a zip')
    report = submit.check_submission(tmp_path / 'fake.zip', image_dir_of(synthetic_root), progress=False)
    assert not report.ok and report['zip file'].status == FAIL
    with pytest.raises(SubmitError, match='Not found'):
        submit.check_submission(tmp_path / 'missing.zip', image_dir_of(synthetic_root))


def test_empty_predictions_warn_and_fail_when_strict(synthetic_root, tmp_path):
    entries = gt_entries(synthetic_root)
    for k in ['sub/0.png', 'sub/1.png']:
        entries[k] = png_bytes(np.zeros((64, 64), np.uint8))
    path = write_zip(tmp_path / 'z.zip', entries)
    report = submit.check_submission(path, image_dir_of(synthetic_root), progress=False)
    assert report.ok and report['no empty masks'].status == WARN
    assert sorted(f.split(' ')[0] for f in report['no empty masks'].files) == ['sub/0.png', 'sub/1.png']
    assert not submit.check_submission(path, image_dir_of(synthetic_root), strict=True, progress=False).ok


def test_left_right_collapse_is_flagged(synthetic_root, tmp_path):
    entries = gt_entries(synthetic_root)
    for k, data in entries.items():  # every right eye predicted as a left eye, as a plain flip TTA can do
        arr = np.asarray(Image.open(io.BytesIO(data))).copy()
        arr[arr == 5] = 4
        entries[k] = png_bytes(arr)
    report = submit.check_submission(write_zip(tmp_path / 'z.zip', entries), image_dir_of(synthetic_root),
                                     reference=synthetic_root / 'val' / 'val_mask', progress=False)
    assert report.ok and report['class distribution'].status == WARN
    assert any('r_eye' in f for f in report['class distribution'].files)
    assert 'WARN' in report._repr_html_() and 'r_eye' in report.format()


# --------------------------------------------------------------------------- scorer
def test_score_formula_on_crafted_masks(synthetic_root, tmp_path):
    assert submit.score_submission(write_zip(tmp_path / 'gt.zip', gt_entries(synthetic_root)),
                                   synthetic_root / 'test' / 'test_mask', progress=False).miou == pytest.approx(100)
    gt = np.zeros((4, 4), np.uint8)
    pred = gt.copy()
    pred[:, :2] = 1  # class 0: I=8, U=16; class 1: I=0, U=8; the other classes are absent and ignored
    gt2 = np.full((4, 4), 2, np.uint8)
    gt2[0, 0] = 255  # ignored pixel
    pred2 = np.full((4, 4), 2, np.uint8)  # class 2: I=15, U=15 -> pooled over both images
    res = submit.score_arrays([(pred, gt), (pred2, gt2)])
    assert res.iou[0] == pytest.approx(8 / 16) and res.iou[1] == 0 and res.iou[2] == pytest.approx(1)
    assert np.isnan(res.iou[3]) and res.miou == pytest.approx(100 * (0.5 + 0 + 1) / 3)
    assert res.aacc == pytest.approx(100 * 23 / 31)
    assert list(res.to_frame().index[:2]) == ['background', 'skin']


def test_score_names_missing_predictions(synthetic_root, tmp_path):
    entries = gt_entries(synthetic_root)
    _drop(entries)
    with pytest.raises(SubmitError, match='3.png'):
        submit.score_submission(write_zip(tmp_path / 'z.zip', entries), synthetic_root / 'test' / 'test_mask',
                                progress=False)


# --------------------------------------------------------------------------- figures and download
def test_preview_grid_and_class_histogram(synthetic_root, tmp_path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    path = write_zip(tmp_path / 'z.zip', gt_entries(synthetic_root))
    fig = submit.preview_grid(path, image_dir_of(synthetic_root), n=4, seed=1)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 8 and fig.legends and len(fig.legends[0].get_texts()) > 5
    plt.close(fig)
    fig = submit.class_histogram(path, reference=synthetic_root / 'val' / 'val_mask')
    bars = fig.axes[0].patches
    assert len(bars) == 2 * NUM_CLASSES and fig.axes[0].get_yscale() == 'log'
    counts = submit.class_counts(path)
    assert counts.sum() == 12 * 64 * 64
    plt.close(fig)


def test_offer_download_outside_and_inside_colab(synthetic_root, tmp_path, capsys, monkeypatch):
    path = write_zip(tmp_path / 'z.zip', gt_entries(synthetic_root))
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    for var in ('COLAB_RELEASE_TAG', 'COLAB_GPU'):
        monkeypatch.delenv(var, raising=False)
    submit.offer_download(path)
    out = capsys.readouterr().out
    assert 'Not in Colab' in out and str(path.resolve()) in out and hashlib.sha256(path.read_bytes()).hexdigest() in out
    calls: list[str] = []
    colab = types.ModuleType('google.colab')
    colab.files = types.SimpleNamespace(download=calls.append)
    monkeypatch.setitem(sys.modules, 'google', types.ModuleType('google'))
    monkeypatch.setitem(sys.modules, 'google.colab', colab)
    submit.offer_download(path)
    assert calls == [str(path)]


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        submit_main(['--help'])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ('predict', 'check', 'score'))


def test_the_check_the_histogram_and_the_score_table_agree_on_missing_classes(synthetic_root, tmp_path):
    """A submission that never predicts some classes: the check names each class the reference holds, the
    histogram's title the same ones, and the score table says n/a (not NaN) for a class absent from both."""
    import zipfile

    import numpy as np
    from PIL import Image

    from utils.base.labels import CLASSES
    from utils.submit.check import _content_checks
    from utils.submit.preview import class_histogram
    from utils.submit.score import score_submission

    gt = synthetic_root / 'test' / 'test_mask'
    sub = tmp_path / 'sub.zip'
    with zipfile.ZipFile(sub, 'w') as zf:
        for p in sorted(gt.glob('*.png')):
            a = np.array(Image.open(p))
            a[np.isin(a, [2, 10])] = 1  # nose and mouth never predicted
            Image.fromarray(a).save(tmp_path / p.name)
            zf.write(tmp_path / p.name, f'sub/{p.name}')
    counts = np.bincount(np.concatenate([np.array(Image.open(tmp_path / p.name)).ravel()
                                         for p in gt.glob('*.png')]), minlength=19)[:19]
    ref = np.bincount(np.concatenate([np.array(Image.open(p)).ravel() for p in gt.glob('*.png')]),
                      minlength=19)[:19]
    check = _content_checks(counts, [], 12, ref.astype(float), 'WARN')[1]
    named = {f.split(':')[0] for f in check.files if 'predicted nowhere' in f}
    title = class_histogram(sub, reference=ref.astype(float)).axes[0].get_title()
    assert named == {'nose'}  # mouth is not a part every face shows: the title names it apart, the check does not
    core_part, rare_part = title.split('(every face has them')
    assert 'nose' in core_part and 'mouth' not in core_part and 'mouth' in rare_part
    assert 'never predicted or collapsed' in check.summary and CLASSES[2] == 'nose'
    html = score_submission(sub, gt, progress=False).table().to_html()
    assert 'mIoU' in html and 'nan' not in html.lower().replace('n/a', '')
