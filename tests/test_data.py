"""utils.data: fetch (zip, folder, mocked Google Drive, synthetic), safe unzip, convert, check, fix-rgb, CLI."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import data
from utils.data import DataError, check_dataset, fetch
from utils.data.__main__ import main
from utils.base.labels import CLASSES, PALETTE, colorize
from utils.core.synthetic import make_synthetic_dataset, save_mask

N_TRAIN, N_VAL, N_TEST = 6, 3, 3


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture
def ds(tmp_path) -> Path:
    """A fresh 32 px synthetic dataset (6/3/3) that a test may damage."""
    return make_synthetic_dataset(tmp_path / 'ds', N_TRAIN, N_VAL, N_TEST, size=32, progress=False)


def run_cli(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert 'Traceback' not in out + err
    return rc, out, err


# --------------------------------------------------------------------------- check: good data
def test_check_passes_on_synthetic(ds, capsys):
    before = snapshot(ds)
    report = check_dataset(ds, expect=None, progress=False)
    assert report.ok
    assert {r.status for r in report.results} == {'PASS'}
    assert report.counts['train'] == {'images': N_TRAIN, 'masks': N_TRAIN}
    assert report.counts['val'] == {'images': N_VAL, 'masks': N_VAL}
    assert report.sizes == {'32x32': N_TRAIN + N_VAL + N_TEST}
    frame = report.to_frame()
    assert list(frame['status']) == ['PASS'] * len(report.results)
    assert 'mask values' in frame.index
    assert 'PASSED' in report._repr_html_()
    # the real-data counts are only a warning
    default = check_dataset(ds, progress=False)
    assert default.ok and default['counts'].status == 'WARN' and '5000' in default['counts'].summary
    rc, out, _ = run_cli(['check', str(ds), '--quiet', '--expect', f'{N_TRAIN},{N_VAL},{N_TEST}'], capsys)
    assert rc == 0 and 'PASSED' in out
    assert snapshot(ds) == before


def test_check_process_pool_matches_inline(ds):
    (ds / 'train' / 'train_image' / '2.jpg').write_bytes((ds / 'train' / 'train_image' / '2.jpg').read_bytes()[:300])
    inline = check_dataset(ds, expect=None, workers=0, progress=False)
    pooled = check_dataset(ds, expect=None, workers=2, progress=False)
    assert [(r.name, r.status, r.files) for r in inline.results] == \
           [(r.name, r.status, r.files) for r in pooled.results]
    assert not pooled.ok


# --------------------------------------------------------------------------- check: bad data
@pytest.mark.parametrize('keep', ['half', 'no_eoi'])
def test_check_truncated_jpg(ds, capsys, keep):
    path = ds / 'train' / 'train_image' / '3.jpg'
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2] if keep == 'half' else raw[:-2])
    before = snapshot(ds)
    report = check_dataset(ds, expect=None, progress=False)
    res = report['images decode']
    assert res.status == 'FAIL' and not report.ok
    assert len(res.files) == 1 and res.files[0].startswith(os.path.join('train', 'train_image', '3.jpg'))
    rc, out, _ = run_cli(['check', str(ds), '--quiet', '--expect', 'none'], capsys)
    assert rc == 1
    assert '3.jpg' in out and 'fetch the dataset again' in out and 'FAILED' in out
    assert snapshot(ds) == before


def test_check_rgb_mask(ds, capsys):
    path = ds / 'val' / 'val_mask' / '1.png'
    Image.fromarray(colorize(np.asarray(Image.open(path)))).save(path)
    before = snapshot(ds)
    report = check_dataset(ds, expect=None, progress=False)
    res = report['mask format']
    assert res.status == 'FAIL'
    assert res.files == [os.path.join('val', 'val_mask', '1.png') + ': RGB, CelebAMask palette colours']
    assert 'fix-rgb' in res.fix and 'palette' in res.fix
    assert report['mask values'].status == 'PASS'  # the other masks are fine
    rc, out, _ = run_cli(['check', str(ds), '--quiet', '--expect', 'none'], capsys)
    assert rc == 1 and 'saved as colours' in out and 'val_mask' in out
    assert snapshot(ds) == before


@pytest.mark.parametrize('value', [19, 255])
def test_check_out_of_range_mask(ds, value):
    path = ds / 'train' / 'train_mask' / '4.png'
    mask = np.asarray(Image.open(path)).copy()
    mask[0, :5] = value
    save_mask(mask, path)
    report = check_dataset(ds, expect=None, progress=False)
    res = report['mask values']
    assert res.status == 'FAIL'
    assert len(res.files) == 1 and '4.png' in res.files[0] and str(value) in res.files[0]
    assert '0..18' in res.fix


def test_check_binary_mask(ds):
    path = ds / 'train' / 'train_mask' / '0.png'
    Image.fromarray(np.where(np.asarray(Image.open(path)) == 1, 255, 0).astype(np.uint8), mode='L').save(path)
    res = check_dataset(ds, expect=None, progress=False)['mask values']
    assert res.status == 'FAIL' and 'binary' in res.summary and '0.png' in res.files[0]
    assert 'utils.data convert' in res.fix


def test_check_missing_mask_and_extra_mask(ds, capsys):
    (ds / 'val' / 'val_mask' / '2.png').unlink()
    shutil.copy(ds / 'train' / 'train_mask' / '0.png', ds / 'train' / 'train_mask' / '99.png')
    before = snapshot(ds)
    res = check_dataset(ds, expect=None, progress=False)['pairs']
    assert res.status == 'FAIL' and len(res.files) == 2
    assert any('val_image' in f and '2.jpg' in f and 'no mask' in f for f in res.files)
    assert any('99.png' in f and 'no image' in f for f in res.files)
    rc, out, _ = run_cli(['check', str(ds), '--quiet', '--expect', 'none'], capsys)
    assert rc == 1 and '2.jpg' in out
    assert snapshot(ds) == before


def test_check_duplicate_names(ds):
    folder = ds / 'train' / 'train_image'
    shutil.copy(folder / '1.jpg', folder / '1.JPG')
    shutil.copy(folder / '2.jpg', folder / '2.jpeg')
    report = check_dataset(ds, expect=None, progress=False)
    dup = report['duplicate names']
    assert dup.status == 'FAIL' and len(dup.files) == 2
    assert any('1.JPG' in f and '1.jpg' in f for f in dup.files)
    assert report['file names'].status == 'FAIL'


def test_check_split_overlap(ds):
    shutil.copy(ds / 'train' / 'train_image' / '0.jpg', ds / 'val' / 'val_image' / '50.jpg')
    shutil.copy(ds / 'train' / 'train_mask' / '0.png', ds / 'val' / 'val_mask' / '50.png')
    res = check_dataset(ds, expect=None, progress=False)['split overlap']
    assert res.status == 'FAIL' and len(res.files) == 1
    assert 'train_image' in res.files[0] and '50.jpg' in res.files[0]


def test_check_size_mismatch(ds):
    path = ds / 'val' / 'val_mask' / '0.png'
    save_mask(np.zeros((16, 16), np.uint8), path)
    res = check_dataset(ds, expect=None, progress=False)['sizes']
    assert res.status == 'FAIL' and '0.jpg' in res.files[0] and '16x16' in res.files[0]


def test_check_missing_split(ds, capsys):
    shutil.rmtree(ds / 'val')
    report = check_dataset(ds, expect=None, progress=False)
    res = report['folders']
    assert res.status == 'FAIL'
    assert sorted(res.files) == sorted([os.path.join('val', 'val_image') + '/', os.path.join('val', 'val_mask') + '/'])
    rc, out, _ = run_cli(['check', str(ds), '--quiet'], capsys)
    assert rc == 1 and 'val_image' in out


def test_check_empty_and_missing_folder(tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    rc, out, _ = run_cli(['check', str(tmp_path / 'empty'), '--quiet'], capsys)
    assert rc == 1 and 'is empty' in out and 'utils.data fetch' in out
    assert list((tmp_path / 'empty').iterdir()) == []
    rc, _, err = run_cli(['check', str(tmp_path / 'nope'), '--quiet'], capsys)
    assert rc == 2 and err.startswith('error:') and 'does not exist' in err


def test_check_points_at_wrapped_dataset(tmp_path):
    make_synthetic_dataset(tmp_path / 'wrap' / 'inner', 2, 2, 2, size=32, progress=False)
    res = check_dataset(tmp_path / 'wrap', progress=False)['folders']
    assert res.status == 'FAIL' and 'inner' in res.fix and 'fetch' in res.fix


# --------------------------------------------------------------------------- safe unzip
def _bad_zip(path: Path, kind: str) -> Path:
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('data/train/train_image/0.jpg', b'fine')  # a good entry first: must not be extracted
        if kind == 'parent':
            zf.writestr('data/../../evil.txt', b'evil')
        elif kind == 'absolute':
            zf.writestr(zipfile.ZipInfo('/tmp/evil-abs.txt'), b'evil')
        elif kind == 'symlink':
            info = zipfile.ZipInfo('data/link')
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, '/etc/passwd')
    return path


@pytest.mark.parametrize('kind,why', [('parent', '..'), ('absolute', 'absolute path'), ('symlink', 'symbolic link')])
def test_fetch_rejects_unsafe_zip(tmp_path, capsys, kind, why):
    zpath = _bad_zip(tmp_path / 'bad.zip', kind)
    zbytes = zpath.read_bytes()
    out = tmp_path / 'out' / 'data'
    with pytest.raises(DataError) as e:
        fetch(zpath, out, progress=False)
    assert 'unsafe zip' in str(e.value) and why in str(e.value) and 'Nothing was extracted' in str(e.value)
    assert not out.exists()
    assert list((tmp_path / 'out').iterdir()) == []  # no staging folder left behind
    assert not (tmp_path / 'evil.txt').exists()
    rc, _, err = run_cli(['fetch', str(zpath), '--out', str(out), '--quiet'], capsys)
    assert rc == 2 and err.startswith('error: unsafe zip') and 'bad.zip' in err
    assert zpath.read_bytes() == zbytes


def test_safe_extract_checks_everything_first(tmp_path):
    zpath = _bad_zip(tmp_path / 'bad.zip', 'parent')
    dest = tmp_path / 'dest'
    with pytest.raises(DataError):
        data.safe_extract(zpath, dest, progress=False)
    assert not dest.exists() or list(dest.rglob('*')) == []


def test_fetch_not_a_zip(tmp_path):
    bogus = tmp_path / 'data.zip'
    bogus.write_bytes(b'<html>quota exceeded</html>')
    with pytest.raises(DataError, match='neither a folder nor a zip'):
        fetch(bogus, tmp_path / 'out', progress=False)


# --------------------------------------------------------------------------- fetch: zip, folder, Drive, synthetic
def _zip_wrapped(src: Path, zpath: Path) -> Path:
    """Zip ``src`` under an extra top folder, with other folder names, .jpeg files and __MACOSX junk."""
    rename = {'train/train_image': 'train/images', 'train/train_mask': 'train/masks',
              'val/val_image': 'Val/Image', 'val/val_mask': 'Val/Label', 'test/test_image': 'test/imgs',
              'test/test_mask': 'test/labels'}
    with zipfile.ZipFile(zpath, 'w') as zf:
        for f in sorted(src.rglob('*')):
            if not f.is_file():
                continue
            rel = f.relative_to(src).as_posix()
            folder, name = rel.rsplit('/', 1)
            if folder == 'train/train_image' and name == '0.jpg':
                name = '0.jpeg'
            arc = f'CelebAMask-mini/{rename[folder]}/{name}'
            zf.write(f, arc)
            zf.writestr(f'__MACOSX/CelebAMask-mini/{rename[folder]}/._{name}', b'junk')
    return zpath


def test_fetch_zip_with_wrapper_normalises_layout(ds, tmp_path, capsys):
    zpath = _zip_wrapped(ds, tmp_path / 'mini.zip')
    zhash = snapshot(tmp_path)['mini.zip']
    out = tmp_path / 'local' / 'celebamask'
    root = fetch(zpath, out, progress=False)
    assert root == out.absolute()
    assert data.is_dataset(out)
    assert data.dataset_counts(out) == {'train': N_TRAIN, 'val': N_VAL, 'test': N_TEST}
    assert (out / 'train' / 'train_image' / '0.jpg').read_bytes() == (ds / 'train' / 'train_image' / '0.jpg').read_bytes()
    assert (out / 'val' / 'val_mask' / '2.png').read_bytes() == (ds / 'val' / 'val_mask' / '2.png').read_bytes()
    assert (out / 'test' / 'test_mask').is_dir()
    assert not list(out.rglob('._*'))
    assert check_dataset(out, expect=None, progress=False).ok
    assert sorted(p.name for p in (tmp_path / 'local').iterdir()) == ['celebamask']  # no staging left
    assert snapshot(tmp_path)['mini.zip'] == zhash
    # second fetch: nothing is redone or touched
    before = snapshot(out)
    rc, out_txt, _ = run_cli(['fetch', str(zpath), '--out', str(out), '--quiet'], capsys)
    assert rc == 0 and 'already' in out_txt
    assert snapshot(out) == before


def test_fetch_folder_copies_and_leaves_source(ds, tmp_path):
    before = snapshot(ds)
    out = fetch(ds, tmp_path / 'copy', progress=False)
    assert snapshot(out) == before  # same layout and bytes
    assert snapshot(ds) == before


def test_fetch_never_overwrites_existing_files(ds, tmp_path):
    out = tmp_path / 'target'
    (out / 'train').mkdir(parents=True)
    (out / 'train' / 'notes.txt').write_text('my notes')
    before = snapshot(out)
    with pytest.raises(DataError, match='Nothing was changed'):
        fetch(ds, out, progress=False)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds', 'target']


def test_fetch_into_folder_with_other_files(ds, tmp_path):
    out = tmp_path / 'target'
    out.mkdir()
    (out / 'README.txt').write_text('keep me')
    fetch(ds, out, progress=False)
    assert (out / 'README.txt').read_text() == 'keep me' and data.is_dataset(out)


def test_fetch_missing_split_in_source(ds, tmp_path):
    shutil.rmtree(ds / 'val')
    with pytest.raises(DataError) as e:
        fetch(ds, tmp_path / 'out', progress=False)
    assert 'val_image' in str(e.value) and 'val_mask' in str(e.value)
    assert not (tmp_path / 'out').exists()


def test_fetch_empty_folder(tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    rc, _, err = run_cli(['fetch', str(tmp_path / 'empty'), '--out', str(tmp_path / 'out'), '--quiet'], capsys)
    assert rc == 2 and err.startswith('error:') and 'No images at all' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty']


def test_fetch_full_release_points_to_convert(tmp_path):
    (tmp_path / 'rel' / 'CelebA-HQ-img').mkdir(parents=True)
    Image.new('RGB', (8, 8)).save(tmp_path / 'rel' / 'CelebA-HQ-img' / '0.jpg')
    (tmp_path / 'rel' / 'CelebAMask-HQ-mask-anno' / '0').mkdir(parents=True)
    with pytest.raises(DataError, match='utils.data convert'):
        fetch(tmp_path / 'rel', tmp_path / 'out', progress=False)


@pytest.mark.parametrize('source', ['1AbCdEfGhIjKlMnOpQrStUvWxYz012345',
                                    'https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view?usp=sharing',
                                    'https://drive.google.com/uc?id=1AbCdEfGhIjKlMnOpQrStUvWxYz012345&export=download'])
def test_fetch_google_drive_mocked(ds, tmp_path, monkeypatch, source):
    import gdown

    zpath = _zip_wrapped(ds, tmp_path / 'served.zip')
    calls = []

    def fake_download(url=None, output=None, quiet=False, resume=False, **kw):
        calls.append({'url': url, 'output': output, 'resume': resume})
        part = output + 'XXXXXXXX.part'  # what gdown does: write a .part file, then rename
        shutil.copyfile(zpath, part)
        os.replace(part, output)
        return output

    monkeypatch.setattr(gdown, 'download', fake_download)
    out = tmp_path / 'data'
    fetch(source, out, progress=False)
    assert len(calls) == 1
    assert calls[0]['url'].endswith('1AbCdEfGhIjKlMnOpQrStUvWxYz012345') and calls[0]['resume'] is True
    assert Path(calls[0]['output']).parent == tmp_path
    assert data.dataset_counts(out) == {'train': N_TRAIN, 'val': N_VAL, 'test': N_TEST}
    fetch(source, out, progress=False)  # already there: no second download
    assert len(calls) == 1


def test_fetch_google_drive_failure_keeps_partial(tmp_path, monkeypatch, capsys):
    import gdown

    def failing(url=None, output=None, **kw):
        Path(output + 'abcdefgh.part').write_bytes(b'partial')
        raise ConnectionError('connection reset')

    monkeypatch.setattr(gdown, 'download', failing)
    rc, _, err = run_cli(['fetch', '1AbCdEfGhIjKlMnOpQrStUvWxYz012345', '--out', str(tmp_path / 'data'), '--quiet'],
                         capsys)
    assert rc == 2 and 'connection reset' in err and 'resume' in err
    parts = list(tmp_path.glob('*.part'))
    assert len(parts) == 1 and parts[0].read_bytes() == b'partial'
    assert not (tmp_path / 'data').exists()


def test_fetch_google_drive_html_instead_of_zip(tmp_path, monkeypatch):
    import gdown

    def html(url=None, output=None, **kw):
        Path(output).write_text('<html>Google Drive - Quota exceeded</html>')
        return output

    monkeypatch.setattr(gdown, 'download', html)
    with pytest.raises(DataError, match='not a zip'):
        fetch('1AbCdEfGhIjKlMnOpQrStUvWxYz012345', tmp_path / 'data', progress=False)


def test_parse_drive_source():
    assert data.parse_drive_source('https://drive.google.com/drive/folders/1XyZ_abc-123?usp=sharing') == \
        ('folder', '1XyZ_abc-123')
    assert data.parse_drive_source('synthetic') is None
    assert data.parse_drive_source('data/mini.zip') is None
    with pytest.raises(DataError, match='not a Google Drive URL'):
        data.parse_drive_source('https://example.com/data.zip')


def test_fetch_synthetic_cli(tmp_path, capsys):
    out = tmp_path / 'syn'
    rc, txt, _ = run_cli(['fetch', 'synthetic', '--out', str(out), '--counts', '4,2,3', '--size', '32', '--quiet'],
                         capsys)
    assert rc == 0 and 'dataset ready' in txt
    assert data.dataset_counts(out) == {'train': 4, 'val': 2, 'test': 3}
    assert Image.open(out / 'val' / 'val_image' / '1.jpg').size == (32, 32)


def test_fetch_synthetic_defaults(tmp_path):
    out = fetch('synthetic', tmp_path / 'syn', progress=False)
    assert data.dataset_counts(out) == dict(zip(('train', 'val', 'test'), data.SYNTHETIC_DEFAULTS['counts']))
    assert Image.open(out / 'train' / 'train_image' / '0.jpg').size == (64, 64)
    assert data.SYNTHETIC_FULL == {'size': 512, 'counts': (5000, 1000, 1000)}


# --------------------------------------------------------------------------- convert from the full release
# parts per image: (name, box y0, y1, x0, x1) on a 32 px canvas
_PARTS = [('cloth', 24, 32, 0, 32), ('neck', 18, 28, 12, 20), ('skin', 4, 24, 6, 26), ('hair', 0, 10, 4, 28),
          ('nose', 10, 16, 14, 18), ('l_eye', 8, 11, 18, 22), ('r_eye', 8, 11, 10, 14), ('hat', 0, 3, 8, 24)]
_IDS = [0, 1, 2, 3, 4, 5, 6, 2000, 2001, 4005]


def _fake_release(root: Path, size: int = 32) -> dict[int, np.ndarray]:
    """A tiny full release; returns the expected label map per id (the highest label covering each pixel)."""
    rng = np.random.default_rng(0)
    img_dir, anno = root / 'CelebAMask-HQ' / 'CelebA-HQ-img', root / 'CelebAMask-HQ' / 'CelebAMask-HQ-mask-anno'
    img_dir.mkdir(parents=True)
    expected = {}
    for i in _IDS:
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(img_dir / f'{i}.jpg')
        k = anno / str(i // 2000)
        k.mkdir(parents=True, exist_ok=True)
        exp = np.zeros((size, size), np.uint8)
        for j, (part, y0, y1, x0, x1) in enumerate(_PARTS):
            if part == 'hat' and i % 2:  # not every image has every part
                continue
            m = np.zeros((size, size), np.uint8)
            m[y0:y1, x0 + (i % 3):x1] = 255
            Image.fromarray(m, mode='L').save(k / f'{i:05d}_{part}.png')
            exp = np.maximum(exp, np.where(m > 0, CLASSES.index(part), 0).astype(np.uint8))
        expected[i] = exp
    return expected


def test_convert_combines_parts_in_label_order(tmp_path):
    expected = _fake_release(tmp_path / 'src')
    split = {'train': [0, 1, 2, 2000, 2001], 'val': [3, 4], 'test': [5, 6, 4005]}
    before = snapshot(tmp_path / 'src')
    out = data.convert(tmp_path / 'src', tmp_path / 'mini', split, size=32, workers=0, progress=False)
    for s, ids in split.items():
        assert sorted(int(p.stem) for p in (out / s / f'{s}_image').iterdir()) == sorted(ids)
        for i in ids:
            m = Image.open(out / s / f'{s}_mask' / f'{i}.png')
            assert m.mode == 'P' and m.getpalette()[:57] == [v for c in PALETTE for v in c]
            np.testing.assert_array_equal(np.asarray(m), expected[i])
            assert Image.open(out / s / f'{s}_image' / f'{i}.jpg').size == (32, 32)
    assert check_dataset(out, expect=None, progress=False).ok
    assert snapshot(tmp_path / 'src') == before


def test_convert_cli_split_file_and_size(tmp_path, capsys):
    _fake_release(tmp_path / 'src')
    split_file = tmp_path / 'split.txt'
    split_file.write_text('image split\n0 train\n1 0\n2000 train\n2 val\n3 1\n4005 test\n')
    rc, txt, _ = run_cli(['convert', str(tmp_path / 'src'), '--out', str(tmp_path / 'mini'), '--split-file',
                          str(split_file), '--size', '48', '--workers', '0', '--quiet'], capsys)
    assert rc == 0, txt
    assert data.dataset_counts(tmp_path / 'mini') == {'train': 3, 'val': 2, 'test': 1}
    assert Image.open(tmp_path / 'mini' / 'val' / 'val_mask' / '3.png').size == (48, 48)
    rc, _, err = run_cli(['convert', str(tmp_path / 'src'), '--out', str(tmp_path / 'mini'), '--quiet'], capsys)
    assert rc == 2 and 'not empty' in err


def test_convert_default_split_and_process_pool(tmp_path):
    _fake_release(tmp_path / 'src')
    out = data.convert(tmp_path / 'src', tmp_path / 'mini', size=32, workers=2, progress=False)
    counts = data.dataset_counts(out)
    assert counts == {'train': 7, 'val': 1, 'test': 1}  # 10 images in the course's 5:1:1 proportions
    names = [{p.name for p in (out / s / f'{s}_image').iterdir()} for s in ('train', 'val', 'test')]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])


def test_resolve_split():
    ids = list(range(100))
    a = data.resolve_split((60, 20, 20), ids, seed=1)
    assert [len(a[s]) for s in ('train', 'val', 'test')] == [60, 20, 20]
    assert sorted(a['train'] + a['val'] + a['test']) == ids
    assert a == data.resolve_split((60, 20, 20), ids, seed=1) != data.resolve_split((60, 20, 20), ids, seed=2)
    r = data.resolve_split((0.5, 0.25, 0.25), ids)
    assert [len(r[s]) for s in ('train', 'val', 'test')] == [50, 25, 25]
    big = data.resolve_split(None, range(30000))
    assert [len(big[s]) for s in ('train', 'val', 'test')] == [5000, 1000, 1000]
    with pytest.raises(DataError, match='both'):
        data.resolve_split({'train': [1, 2], 'val': [2]}, ids)
    with pytest.raises(DataError, match='only 100'):
        data.resolve_split((90, 10, 10), ids)


def test_split_file_json(tmp_path):
    f = tmp_path / 'split.json'
    f.write_text(json.dumps({'train': ['3.jpg', 4], 'val': [5], 'test': []}))
    assert data.resolve_split(f, range(10)) == {'train': [3, 4], 'val': [5], 'test': []}


# --------------------------------------------------------------------------- fix-rgb
def test_fix_rgb_restores_labels(ds, tmp_path, capsys):
    src = tmp_path / 'rgb'
    src.mkdir()
    originals = {}
    for p in (ds / 'train' / 'train_mask').iterdir():
        originals[p.name] = np.asarray(Image.open(p))
        Image.fromarray(colorize(originals[p.name])).save(src / p.name)
    before = snapshot(src)
    rc, _, _ = run_cli(['fix-rgb', str(src), '--out', str(tmp_path / 'fixed'), '--quiet'], capsys)
    assert rc == 0
    for name, label in originals.items():
        m = Image.open(tmp_path / 'fixed' / name)
        assert m.mode == 'P'
        np.testing.assert_array_equal(np.asarray(m), label)
    assert snapshot(src) == before


def test_fix_rgb_unknown_colour(tmp_path, capsys):
    src = tmp_path / 'rgb'
    src.mkdir()
    Image.new('RGB', (8, 8), (1, 2, 3)).save(src / '7.png')
    rc, _, err = run_cli(['fix-rgb', str(src), '--out', str(tmp_path / 'fixed'), '--quiet'], capsys)
    assert rc == 2 and '7.png' in err and 'not CelebAMask-HQ classes' in err
    assert not (tmp_path / 'fixed').exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rgb']


def test_help_runs():
    with pytest.raises(SystemExit) as e:
        main(['--help'])
    assert e.value.code == 0


def test_check_empty_split_fails(ds):
    for p in (ds / 'test' / 'test_image').iterdir():
        p.unlink()
    res = check_dataset(ds, progress=False)['counts']
    assert res.status == 'FAIL' and res.files == [os.path.join('test', 'test_image') + '/']
