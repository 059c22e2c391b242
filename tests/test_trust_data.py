"""Trust in utils.data and utils.core.stats: foreign files are never followed or run, leftovers are cleaned up, damaged
input is named with its fix, and every command-line failure is one message."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import data
from utils.core import stats
from utils.data import DataError, fetch
from utils.data.__main__ import main
from utils.data.common import STAGING_MARK
from utils.data.unpack import BIG_ENTRY, MAX_TOTAL_RATIO, RATIO_FLOOR, _copy_entry
from utils.core.synthetic import make_synthetic_dataset, save_mask


@pytest.fixture
def ds(tmp_path) -> Path:
    """A fresh 32 px synthetic dataset (4/2/2) that a test may damage."""
    return make_synthetic_dataset(tmp_path / 'ds', 4, 2, 2, size=32, progress=False)


def zip_folder(src: Path, zpath: Path, compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(zpath, 'w', compression=compression) as zf:
        for f in sorted(src.rglob('*')):
            if f.is_file():
                zf.write(f, f'mini/{f.relative_to(src).as_posix()}')
    return zpath


def run_cli(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert 'Traceback' not in out + err
    return rc, out, err


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def leftover(parent: Path, name: str, pid: int | None, kind: str = 'fetch', size: int = 1 << 20,
             child: str = 'raw') -> Path:
    """A staging folder as a killed run of ``kind`` leaves it, holding ``size`` bytes."""
    folder = parent / name
    (folder / child).mkdir(parents=True)
    (folder / child / 'part.bin').write_bytes(bytes(size))
    if pid is not None:
        (folder / STAGING_MARK).write_text(f'{{"tool": "utils.data", "kind": "{kind}", "pid": {pid}, '
                                           f'"host": "{__import__("socket").gethostname()}"}}')
    return folder


# --------------------------------------------------------------------------- 6. symbolic links in a folder source
def test_link_to_a_file_outside_the_source_is_refused(ds, tmp_path):
    """A symlinked file pointing outside the source folder (e.g. /etc/hostname as 99.jpg) is refused, nothing copied."""
    secret = tmp_path / 'secret.txt'
    secret.write_text('not an image')
    os.symlink(secret, ds / 'test' / 'test_image' / '99.jpg')
    with pytest.raises(DataError) as info:
        fetch(ds, tmp_path / 'out', progress=False)
    msg = str(info.value)
    assert '99.jpg' in msg and 'secret.txt' in msg and 'outside' in msg and 'Nothing was copied' in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds', 'secret.txt']


def test_link_to_a_split_folder_outside_is_refused(ds, tmp_path):
    """A symlinked split folder pointing outside the source is refused (not silently ignored)."""
    (tmp_path / 'elsewhere').mkdir()
    os.replace(ds / 'val', tmp_path / 'elsewhere' / 'val')
    os.symlink(tmp_path / 'elsewhere' / 'val', ds / 'val')
    with pytest.raises(DataError, match=r'val -> .*elsewhere'):
        fetch(ds, tmp_path / 'out', progress=False)
    assert not (tmp_path / 'out').exists()


def test_links_inside_the_source_are_followed_and_reported(ds, tmp_path):
    """Symlinks (a split folder, a file) whose targets lie inside the source are followed, with a warning naming them."""
    (ds / '.store').mkdir()
    os.replace(ds / 'val', ds / '.store' / 'val')
    os.symlink(Path('.store') / 'val', ds / 'val')
    os.symlink(Path('..') / '..' / 'train' / 'train_image' / '0.jpg', ds / 'test' / 'test_image' / '99.jpg')
    with pytest.warns(UserWarning, match=r'2 symbolic links.*followed them') as rec:
        out = fetch(ds, tmp_path / 'out', progress=False)
    text = str(rec[0].message)
    assert 'val -> .store/val' in text and '99.jpg' in text
    assert data.dataset_counts(out) == {'train': 4, 'val': 2, 'test': 3}
    copied = out / 'test' / 'test_image' / '99.jpg'
    assert not copied.is_symlink() and copied.read_bytes() == (ds / 'train' / 'train_image' / '0.jpg').read_bytes()


# --------------------------------------------------------------------------- 7. leftover staging folders
def test_fetch_removes_leftover_staging_and_reports_it(tmp_path, capsys):
    """A staging folder of a killed fetch is removed by the next fetch into the same parent, with its size."""
    dead = leftover(tmp_path, '.data.fetch-abcd1234', dead_pid())
    old = leftover(tmp_path, '.other.fetch-old_0001', None, child='dataset')  # an earlier version's, no mark
    os.utime(old, (0, 0))
    live = leftover(tmp_path, '.data.fetch-live0001', os.getpid())  # a fetch still running: never touched
    mine = tmp_path / '.notes.fetch-12345678'  # the user's folder that merely looks similar
    mine.mkdir()
    (mine / 'notes.txt').write_text('keep')
    fetch('synthetic', tmp_path / 'data', counts=(2, 1, 1), size=16, progress=False)
    printed = capsys.readouterr().out
    assert not dead.exists() and not old.exists() and live.exists() and (mine / 'notes.txt').exists()
    assert f'removed {dead} (1.0 MB)' in printed and f'removed {old}' in printed
    assert str(live) in printed and 'still running' in printed


@pytest.mark.parametrize('kind', ['convert', 'fix'])
def test_convert_and_fix_rgb_remove_their_own_leftovers(tmp_path, capsys, kind):
    """convert and fix-rgb remove their own kind of leftover staging folder, and leave other kinds alone."""
    mine = leftover(tmp_path, f'.new.{kind}-abcd1234', dead_pid(), kind=kind, child='x')
    other = leftover(tmp_path, '.new.fetch-abcd1234', dead_pid(), kind='fetch')
    (tmp_path / 'src').mkdir()
    with pytest.raises(DataError):  # the job itself fails (no source), but the cleanup came first
        if kind == 'convert':
            data.convert(tmp_path / 'src', tmp_path / 'new', progress=False)
        else:
            data.fix_rgb_masks(tmp_path / 'src', tmp_path / 'new', progress=False)
    assert not mine.exists() and other.exists()
    assert f'removed {mine} (1.0 MB)' in capsys.readouterr().out


# --------------------------------------------------------------------------- 8. damaged zips
def test_corrupt_zip_is_named_with_the_fix(ds, tmp_path, capsys):
    """A zip with a damaged entry (bad CRC) fails with the zip's path and 'download it again'; nothing is left."""
    zpath = zip_folder(ds, tmp_path / 'mini.zip')
    raw = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo('mini/train/train_image/2.jpg')
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF
    zpath.write_bytes(bytes(raw))
    out = tmp_path / 'local' / 'data'
    with pytest.raises(DataError) as e:
        fetch(zpath, out, progress=False)
    msg = str(e.value)
    assert str(zpath) in msg and 'damaged' in msg and '2.jpg' in msg and 'download it again' in msg
    assert list((tmp_path / 'local').iterdir()) == []
    rc, _, err = run_cli(['fetch', str(zpath), '--out', str(out), '--quiet'], capsys)
    assert rc == 2 and err.startswith('error: ') and 'mini.zip' in err and len(err.strip().splitlines()) == 1


def test_truncated_zip_is_diagnosed_as_an_incomplete_download(ds, tmp_path):
    """A zip cut short (starts with PK\\x03\\x04, no central directory) is an incomplete download, not 'use tar'."""
    zpath = zip_folder(ds, tmp_path / 'mini.zip')
    zpath.write_bytes(zpath.read_bytes()[: zpath.stat().st_size * 6 // 10])
    with pytest.raises(DataError) as e:
        fetch(zpath, tmp_path / 'out', progress=False)
    msg = str(e.value)
    assert 'incomplete' in msg and 'download it again' in msg and 'tar xf' not in msg and str(zpath) in msg


# --------------------------------------------------------------------------- 9. diagnosed as what they are
def test_zip_inside_a_zip_is_named(ds, tmp_path):
    """A zip that holds only another zip says so, names inner.zip and says to fetch that after unzipping."""
    inner = zip_folder(ds, tmp_path / 'inner.zip')
    outer = tmp_path / 'outer.zip'
    with zipfile.ZipFile(outer, 'w') as zf:
        zf.write(inner, 'inner.zip')
    with pytest.raises(DataError) as e:
        fetch(outer, tmp_path / 'out', progress=False)
    msg = str(e.value)
    assert 'inner.zip' in msg and 'unzip' in msg.lower() and 'fetch' in msg and 'No images at all' not in msg


def test_jpg_masks_are_diagnosed(ds, tmp_path):
    """JPG masks are reported as such (masks must be PNG), not as 'some images have no mask'."""
    for p in (ds / 'train' / 'train_mask').glob('*.png'):
        Image.open(p).convert('L').save(p.with_suffix('.jpg'))
        p.unlink()
    with pytest.raises(DataError) as e:
        fetch(ds, tmp_path / 'out', progress=False)
    msg = str(e.value)
    assert 'train_mask' in msg and 'must be PNG' in msg and '0.jpg' in msg and 'no mask' not in msg


@pytest.mark.parametrize('entries, named', [
    ([('d/train/train_image/0.jpg', b'a'), ('d/train/train_image/0.jpg', b'b')], "'d/train/train_image/0.jpg' (2 times)"),
    ([('d/x', b'a'), ('d/x/y.jpg', b'b')], "'d/x' (a file and a folder)"),
], ids=['same-name-twice', 'file-and-folder'])
def test_duplicate_zip_entries_are_named(tmp_path, entries, named):
    """Duplicate entries, or a file and a folder with one name, are named before anything is extracted."""
    zpath = tmp_path / 'dup.zip'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with zipfile.ZipFile(zpath, 'w') as zf:
            for name, payload in entries:
                zf.writestr(name, payload)
    with pytest.raises(DataError) as e:
        fetch(zpath, tmp_path / 'out', progress=False)
    assert 'duplicate entries' in str(e.value) and named in str(e.value) and 'Nothing was extracted' in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['dup.zip']


# --------------------------------------------------------------------------- 10. zip bombs
@pytest.mark.parametrize('layout', ['one-entry', 'many-entries'])
def test_zip_bomb_is_refused_before_writing(tmp_path, layout):
    """A zip of zeros that expands far beyond JPG/PNG ratios is refused before anything is written."""
    total = RATIO_FLOOR + (8 << 20)
    zpath = tmp_path / 'bomb.zip'
    with zipfile.ZipFile(zpath, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        if layout == 'one-entry':
            zf.writestr('d/train/train_image/0.jpg', bytes(total))
        else:
            per = BIG_ENTRY // 2  # each entry below the single-entry limit: only the total ratio catches it
            for i in range(total // per):
                zf.writestr(f'd/train/train_image/{i}.jpg', bytes(per))
    assert zpath.stat().st_size * MAX_TOTAL_RATIO < total
    dest = tmp_path / 'dest'
    with pytest.raises(DataError, match='zip bomb') as e:
        data.safe_extract(zpath, dest, progress=False)
    assert 'bomb.zip' in str(e.value) and 'Nothing was extracted' in str(e.value)
    assert not dest.exists()


def test_entry_larger_than_declared_is_stopped(tmp_path):
    """An entry that yields more bytes than its declared size stops the extraction (and names the zip)."""
    info = zipfile.ZipInfo('d/a.bin')
    info.file_size = 10
    with pytest.raises(DataError, match='more than the 10 bytes'):
        _copy_entry(tmp_path / 'x.zip', info, io.BytesIO(bytes(100)), io.BytesIO())
    zpath = tmp_path / 'forged.zip'
    with zipfile.ZipFile(zpath, 'w') as zf:
        zf.writestr('d/a.bin', bytes(1000))
    raw = zpath.read_bytes()
    size_1000 = (1000).to_bytes(4, 'little')
    # the declared uncompressed size, in the local header and in the central directory: 1000 -> 100
    lh = raw.index(b'PK\x03\x04') + 22
    cd = raw.index(b'PK\x01\x02') + 24
    assert raw[lh:lh + 4] == size_1000 and raw[cd:cd + 4] == size_1000
    forged = bytearray(raw)
    forged[lh:lh + 4] = forged[cd:cd + 4] = (100).to_bytes(4, 'little')
    zpath.write_bytes(bytes(forged))
    with pytest.raises(DataError, match='forged.zip'):
        data.safe_extract(zpath, tmp_path / 'dest', progress=False)
    assert not (tmp_path / 'dest').exists()


# --------------------------------------------------------------------------- 11. convert
def fake_release(root: Path, ids=(0, 1, 2, 3, 4, 5, 6), size: int = 16) -> Path:
    img_dir = root / 'CelebAMask-HQ' / 'CelebA-HQ-img'
    anno = root / 'CelebAMask-HQ' / 'CelebAMask-HQ-mask-anno' / '0'
    img_dir.mkdir(parents=True)
    anno.mkdir(parents=True)
    for i in ids:
        Image.new('RGB', (size, size), (i * 30, 80, 120)).save(img_dir / f'{i}.jpg')
        for part in ('skin', 'nose'):
            m = np.zeros((size, size), np.uint8)
            m[2:10, 2:10] = 255
            Image.fromarray(m, mode='L').save(anno / f'{i:05d}_{part}.png')
    return root


def test_convert_refuses_two_files_for_one_id(tmp_path):
    """5.jpg and 00005.jpg are both image 5: convert names both instead of dropping one."""
    src = fake_release(tmp_path / 'src')
    img_dir = src / 'CelebAMask-HQ' / 'CelebA-HQ-img'
    Image.new('RGB', (16, 16)).save(img_dir / '00005.jpg')
    with pytest.raises(DataError) as e:
        data.convert(src, tmp_path / 'mini', size=16, workers=0, progress=False)
    assert '5.jpg and 00005.jpg' in str(e.value) and 'keep one file per id' in str(e.value)
    assert not (tmp_path / 'mini').exists()


def test_convert_reports_part_masks_of_another_size(tmp_path):
    """Part masks of a different size are resized as before, but a warning names them (they are not silent)."""
    src = fake_release(tmp_path / 'src')
    odd = src / 'CelebAMask-HQ' / 'CelebAMask-HQ-mask-anno' / '0' / '00003_nose.png'
    Image.new('L', (8, 8), 255).save(odd)
    with pytest.warns(UserWarning, match=r'1 part masks differ in size.*00003_nose.png \(8x8, not 16x16'):
        out = data.convert(src, tmp_path / 'mini', (3, 2, 2), size=16, workers=0, progress=False)
    assert data.dataset_counts(out) == {'train': 3, 'val': 2, 'test': 2}


# --------------------------------------------------------------------------- 12. stats
def test_stats_warns_about_out_of_range_pixels(ds, capsys):
    """Pixels outside 0..18 are counted, named (files and count) and pointed at `utils.data check`."""
    path = ds / 'train' / 'train_mask' / '1.png'
    mask = np.asarray(Image.open(path)).copy()
    mask[0, :7] = 255
    save_mask(mask, path)
    with pytest.warns(UserWarning, match=r'7 pixels in 1 masks .* \(1.png\).*python -m utils.data check'):
        stats.class_pixel_counts(ds, 'train', progress=False)
    assert stats.main([str(ds), '--quiet']) == 0
    err = capsys.readouterr().err
    assert err.count('warning: 7 pixels') == 1 and 'utils.data check' in err


def test_stats_names_a_truncated_mask(ds, capsys):
    """A truncated mask gives an error naming the file and the fix, in the API and the CLI."""
    path = ds / 'val' / 'val_mask' / '1.png'
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataError) as e:
        stats.class_pixel_counts(ds, 'val', cache=False, progress=False)
    assert '1.png' in str(e.value) and 'utils.data check' in str(e.value)
    assert stats.main([str(ds), '--quiet', '--no-cache']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and '1.png' in err and 'Traceback' not in err
    with pytest.raises(DataError):
        stats.main([str(ds), '--quiet', '--no-cache', '--debug'])


# --------------------------------------------------------------------------- 13. fix-rgb
def test_fix_rgb_unreadable_file_gives_the_fix(tmp_path, capsys):
    """fix-rgb names an unreadable mask and says what to do; nothing is written."""
    src = tmp_path / 'rgb'
    src.mkdir()
    Image.new('RGB', (8, 8), (0, 0, 0)).save(src / '1.png')
    (src / '2.png').write_bytes(b'\x89PNG\r\n\x1a\n broken')
    rc, _, err = run_cli(['fix-rgb', str(src), '--out', str(tmp_path / 'fixed'), '--quiet'], capsys)
    assert rc == 2 and '2.png' in err and 'copy it again' in err and 'nothing was written' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rgb']


# --------------------------------------------------------------------------- 14. option values
@pytest.mark.parametrize('argv, option', [
    (['fetch', 'synthetic', '--out', 'X', '--size', '0'], '--size'),
    (['fetch', 'synthetic', '--out', 'X', '--size', '-8'], '--size'),
    (['fetch', 'synthetic', '--out', 'X', '--counts', '4,0,3'], '--counts'),
    (['fetch', 'synthetic', '--out', 'X', '--counts', '4,2'], '--counts'),
    (['convert', 'SRC', '--out', 'X', '--size', '0'], '--size'),
    (['convert', 'SRC', '--out', 'X', '--workers', '-1'], '--workers'),
    (['convert', 'SRC', '--out', 'X', '--split', '-1,2,3'], '--split'),
    (['check', 'X', '--expect', 'a,b,c'], '--expect'),
    (['check', 'X', '--expect', '-1,2,3'], '--expect'),
    (['check', 'X', '--workers', '-2'], '--workers'),
    (['check', 'X', '--max-files', '0'], '--max-files'),
])
def test_cli_rejects_bad_option_values(tmp_path, capsys, argv, option):
    """Bad --size/--counts/--expect/--workers/--max-files/--split values are refused by argparse, naming the option."""
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / a) if a in ('X', 'SRC') else a for a in argv])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f'argument {option}' in err and 'Traceback' not in err
    assert list(tmp_path.iterdir()) == []


def test_size_zero_is_not_the_default(tmp_path):
    """size=0 is an error, not 'not given' (no `size or default`)."""
    with pytest.raises(DataError, match='size=0'):
        fetch('synthetic', tmp_path / 'syn', size=0, progress=False)
    with pytest.raises(DataError, match='counts'):
        fetch('synthetic', tmp_path / 'syn', counts=(4, 0, 2), progress=False)
    with pytest.raises(DataError, match='size=0'):
        data.combine_parts({}, size=0)
    assert not (tmp_path / 'syn').exists()


# --------------------------------------------------------------------------- 15. one message, --debug anywhere
def test_cli_failure_is_one_message_and_debug_works_after_the_command(tmp_path, capsys):
    """A failure prints one 'error:' line (exit 2); --debug before or after the command shows the traceback."""
    missing = tmp_path / 'missing.zip'
    argv = ['fetch', str(missing), '--out', str(tmp_path / 'out'), '--quiet']
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and err.startswith('error: ') and 'missing.zip' in err and len(err.strip().splitlines()) == 1
    with pytest.raises(DataError, match='missing.zip'):
        main(argv + ['--debug'])
    with pytest.raises(DataError, match='missing.zip'):
        main(['--debug'] + argv)


def test_cli_os_error_names_the_file(ds, tmp_path, capsys):
    """An operating-system error (here: --out below a file) is one message naming the path and what to check."""
    (tmp_path / 'file.txt').write_text('x')
    rc, _, err = run_cli(['fetch', str(ds), '--out', str(tmp_path / 'file.txt' / 'data'), '--quiet'], capsys)
    assert rc == 2 and err.startswith('error: cannot access') and 'file.txt' in err and 'permissions' in err
