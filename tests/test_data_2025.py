"""The 2025-26 data: synthetic faces in its layout, the three zips (and the 2025 copy's folders) fetched into the
course layout, its check, the holdout (split.json) and the dataset copy kept on Drive."""
from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils.data import DataError, check_dataset, dataset_counts, fetch_sources, split_sources
from utils.data.__main__ import main
from utils.data.split import SplitError, holdout_files, holdout_size, make_holdout, read_split, write_split
from utils.base.labels import CLASSES
from utils.core.synthetic import RARE_ORDER, make_synthetic_dataset

N_TRAIN, N_VAL, N_TEST = 40, 8, 8
HEX32 = re.compile(r'^[0-9a-f]{32}$')
RARE_IDS = {c: CLASSES.index(c) for c in ('eye_g', 'hat', 'ear_r', 'neck_l')}


def ids(path: Path) -> set[int]:
    """The class ids a mask file holds, read as a plain array (the palette indices)."""
    return set(np.unique(np.array(Image.open(path))).tolist())


def stems(folder: Path, suffix: str) -> list[str]:
    return sorted(p.stem for p in folder.glob(f'*{suffix}'))


@pytest.fixture(scope='module')
def ds25(tmp_path_factory) -> Path:
    """The 2025 smoke set (64 px, 40/8/8, val without masks), shared read-only."""
    return make_synthetic_dataset(tmp_path_factory.mktemp('d25') / 'ds', N_TRAIN, N_VAL, N_TEST, size=64,
                                  progress=False, edition='2025')


@pytest.fixture
def fresh(tmp_path) -> Path:
    """A small 2025 set (32 px) that a test may damage."""
    return make_synthetic_dataset(tmp_path / 'ds', 12, 4, 4, size=32, progress=False, edition='2025')


# --------------------------------------------------------------------------- synthetic faces
def test_synthetic_2025_layout(ds25, tmp_path):
    train = ds25 / 'train' / 'train_image'
    names = stems(train, '.jpg')
    assert len(names) == N_TRAIN and all(HEX32.match(s) for s in names)
    assert names == stems(ds25 / 'train' / 'train_mask', '.png')
    assert not (ds25 / 'val' / 'val_mask').exists() and len(stems(ds25 / 'val' / 'val_image', '.jpg')) == N_VAL
    assert len(set(names) | set(stems(ds25 / 'val' / 'val_image', '.jpg'))
               | set(stems(ds25 / 'test' / 'test_image', '.jpg'))) == N_TRAIN + N_VAL + N_TEST
    again = make_synthetic_dataset(tmp_path / 'again', N_TRAIN, N_VAL, N_TEST, size=64, progress=False,
                                   edition='2025')
    assert stems(again / 'train' / 'train_image', '.jpg') == names  # seeded: same names, same bytes
    assert all((again / 'train' / 'train_mask' / f'{s}.png').read_bytes()
               == (ds25 / 'train' / 'train_mask' / f'{s}.png').read_bytes() for s in names)
    other = make_synthetic_dataset(tmp_path / 'other', 4, 1, 1, size=32, seed=1, progress=False, edition='2025')
    assert not set(stems(other / 'train' / 'train_image', '.jpg')) & set(names)
    with_val = make_synthetic_dataset(tmp_path / 'v', 4, 3, 1, size=32, progress=False, edition='2025', val_masks=True)
    assert stems(with_val / 'val' / 'val_mask', '.png') == stems(with_val / 'val' / 'val_image', '.jpg')


def test_synthetic_2025_holds_every_rare_class_in_small_sets(ds25):
    masks = sorted((ds25 / 'train' / 'train_mask').glob('*.png'))
    held = [ids(m) for m in masks]
    for name, cid in RARE_IDS.items():
        assert sum(cid in h for h in held) >= N_TRAIN // 10, name
    # the forced face of each class holds it, at 32 px too
    from utils.core.synthetic import sample

    for i, name in enumerate(RARE_ORDER):
        for split in ('train', 'val', 'test'):
            assert RARE_IDS[name] in set(np.unique(sample(0, split, i, 32, '2025')[1]).tolist()), (split, name)


# --------------------------------------------------------------------------- check
def test_check_2025_passes_and_says_val_masks(ds25, tmp_path):
    report = check_dataset(ds25, expect=(N_TRAIN, N_VAL, N_TEST), edition='2025', size=64, progress=False, workers=0)
    assert report.ok and {r.status for r in report.results} == {'PASS'}, report.format()
    assert 'without masks' in report['val masks'].summary
    with_val = make_synthetic_dataset(tmp_path / 'v', 6, 3, 2, size=32, progress=False, edition='2025',
                                      val_masks=True)
    report = check_dataset(with_val, expect=None, edition='2025', size=32, progress=False, workers=0)
    assert report.ok and 'with 3 masks' in report['val masks'].summary
    # the 2022 rules refuse a val set without masks
    assert not check_dataset(ds25, expect=None, progress=False, workers=0).ok


def test_check_2025_defaults_expect_the_course(ds25):
    report = check_dataset(ds25, edition='2025', progress=False, workers=0)
    assert report['counts'].status == 'WARN' and '1000/100/100' in report['counts'].summary
    assert report['sizes'].status == 'FAIL' and 'not 512x512' in report['sizes'].summary
    assert not report.ok


def _fails(report, check: str, needle: str) -> str:
    line = next(f for f in report[check].files if needle in f)
    assert report[check].status == 'FAIL' and not report.ok
    return line


def test_check_2025_names_luminance_and_colour_masks(fresh):
    masks = sorted((fresh / 'train' / 'train_mask').glob('*.png'))
    Image.open(masks[0]).convert('L').save(masks[0])  # what a student's preprocessing did
    Image.open(masks[1]).convert('RGB').save(masks[1])
    report = check_dataset(fresh, expect=None, edition='2025', size=32, progress=False, workers=0)
    line = _fails(report, 'mask values', masks[0].name)
    assert 'grey levels' in line and "convert('L')" in report['mask values'].fix
    assert 'luminance' in report['mask values'].summary
    _fails(report, 'mask format', masks[1].name)
    assert 'fix-rgb' in report['mask format'].fix
    # the same file under the 2022 rules: still a failure, as before (values > 18)
    old = check_dataset(fresh, expect=None, progress=False, workers=0)
    assert any(masks[0].name in f for f in old['mask values'].files) and 'luminance' not in old['mask values'].summary


def test_check_2025_names_missing_pairs_sizes_and_stems(fresh):
    train_img, train_mask = fresh / 'train' / 'train_image', fresh / 'train' / 'train_mask'
    names = stems(train_img, '.jpg')
    (train_mask / f'{names[0]}.png').unlink()  # an image without its mask
    Image.open(train_img / f'{names[1]}.jpg').resize((30, 32)).save(train_img / f'{names[1]}.jpg')
    os.replace(train_mask / f'{names[2]}.png', train_mask / f'{names[2]}_mask.png')  # one face, two stems
    os.replace(train_img / f'{names[3]}.jpg', train_img / 'face_003.jpg')
    os.replace(train_mask / f'{names[3]}.png', train_mask / 'face_003.png')
    report = check_dataset(fresh, expect=None, edition='2025', size=32, progress=False, workers=0)
    _fails(report, 'pairs', names[0])
    assert '30x32' in _fails(report, 'sizes', names[1])
    assert f'rename the mask to {names[2]}.png' in _fails(report, 'stems', f'{names[2]}_mask.png')
    assert 'not 32 hex digits' in _fails(report, 'stems', 'face_003.jpg')


def test_check_2025_command(ds25, capsys):
    rc = main(['check', str(ds25), '--edition', '2025', '--expect', f'{N_TRAIN},{N_VAL},{N_TEST}', '--size', '64',
               '--quiet'])
    out = capsys.readouterr().out
    assert rc == 0 and 'PASSED' in out and 'without masks' in out
    assert main(['check', str(ds25), '--edition', '2025', '--quiet']) == 1  # 1000/100/100 at 512 px expected
    assert '1000/100/100' in capsys.readouterr().out


# --------------------------------------------------------------------------- fetch
def _zip(path: Path, files: dict[str, Path]) -> Path:
    with zipfile.ZipFile(path, 'w') as zf:
        for arc, src in files.items():
            zf.write(src, arc)
    return path


def _course_zips(ds: Path, folder: Path, names=('train.zip', 'val.zip', 'test.zip')) -> list[Path]:
    """The three zips as the course hands them out: images/ (+ masks/) at their top, no split folder inside."""
    folder.mkdir(parents=True, exist_ok=True)
    tr = {f'images/{p.name}': p for p in (ds / 'train' / 'train_image').iterdir()}
    tr |= {f'masks/{p.name}': p for p in (ds / 'train' / 'train_mask').iterdir()}
    va = {f'images/{p.name}': p for p in (ds / 'val' / 'val_image').iterdir()}
    te = {f'images/{p.name}': p for p in (ds / 'test' / 'test_image').iterdir()}
    return [_zip(folder / n, z) for n, z in zip(names, (tr, va, te))]


def _same_dataset(out: Path, ds: Path, val_masks: bool = False) -> None:
    for split, role in (('train', 'image'), ('train', 'mask'), ('val', 'image'), ('test', 'image')):
        folder = f'{split}/{split}_{role}'
        assert stems(out / folder, '.*') == stems(ds / folder, '.*'), folder
    assert (out / 'val' / 'val_mask').is_dir() == val_masks
    report = check_dataset(out, expect=(N_TRAIN, N_VAL, N_TEST), edition='2025', size=64, progress=False, workers=0)
    assert report.ok, report.format()


def test_fetch_three_zips_named_in_any_order(ds25, tmp_path):
    train, val, test = _course_zips(ds25, tmp_path / 'zips')
    out = fetch_sources([test, train, val], tmp_path / 'data', '2025', progress=False)  # their names say which
    _same_dataset(out, ds25)
    assert list(tmp_path.joinpath('zips').iterdir())  # the sources are left as they were
    again = fetch_sources(f'{train},{val},{test}', tmp_path / 'data2', '2025', progress=False)  # one string
    _same_dataset(again, ds25)


def test_fetch_three_unnamed_zips_by_place(ds25, tmp_path):
    zips = _course_zips(ds25, tmp_path / 'zips', names=('a.zip', 'b.zip', 'c.zip'))
    _same_dataset(fetch_sources(zips, tmp_path / 'data', '2025', progress=False), ds25)


def test_fetch_one_folder_or_zip_holding_the_three(ds25, tmp_path):
    zips = _course_zips(ds25, tmp_path / 'bundle')
    _same_dataset(fetch_sources(tmp_path / 'bundle', tmp_path / 'a', '2025', progress=False), ds25)
    outer = _zip(tmp_path / 'all.zip', {z.name: z for z in zips})
    _same_dataset(fetch_sources(str(outer), tmp_path / 'b', '2025', progress=False), ds25)


@pytest.mark.parametrize('val_dir', ['dev-public/val/images', 'dev-public/images'])
def test_fetch_2025_copy_folders(ds25, tmp_path, val_dir):
    src = tmp_path / 'copy'
    for rel, folder in (('dev-public/train/images', 'train/train_image'), ('dev-public/train/masks', 'train/train_mask'),
                        (val_dir, 'val/val_image'), ('test-public/images', 'test/test_image')):
        shutil.copytree(ds25 / folder, src / rel)
    _same_dataset(fetch_sources(src, tmp_path / 'data', '2025', progress=False), ds25)
    assert (src / 'dev-public').is_dir()  # copied, not moved


def test_fetch_val_with_masks(tmp_path):
    ds = make_synthetic_dataset(tmp_path / 'ds', 6, 3, 2, size=32, progress=False, edition='2025', val_masks=True)
    src = tmp_path / 'src'
    for split, role in (('train', 'image'), ('train', 'mask'), ('val', 'image'), ('val', 'mask'), ('test', 'image')):
        shutil.copytree(ds / split / f'{split}_{role}', src / split / f'{role}s')
    out = fetch_sources([src], tmp_path / 'data', '2025', progress=False)
    assert stems(out / 'val' / 'val_mask', '.png') == stems(ds / 'val' / 'val_mask', '.png')


def test_fetch_names_what_is_missing(ds25, tmp_path):
    train, _, test = _course_zips(ds25, tmp_path / 'zips')
    with pytest.raises(DataError, match=r'not found: val_image.*Nothing was written'):
        fetch_sources([train, test], tmp_path / 'data', '2025', progress=False)
    assert not (tmp_path / 'data').exists() and not [p for p in tmp_path.iterdir() if p.name.startswith('.data')]
    with pytest.raises(DataError, match='does not exist'):
        fetch_sources([train, tmp_path / 'nope.zip', test], tmp_path / 'data', '2025', progress=False)
    with pytest.raises(DataError, match='2022 data is one zip'):
        fetch_sources([train, test], tmp_path / 'data', '2022', progress=False)


def test_split_sources():
    assert split_sources('a.zip, b.zip ,c.zip') == ['a.zip', 'b.zip', 'c.zip']
    assert split_sources(['x', Path('y')]) == ['x', 'y']
    assert split_sources('synthetic') == ['synthetic']
    with pytest.raises(DataError, match='no data source'):
        split_sources(' , ')


def test_fetch_drive_ids_mocked(ds25, tmp_path, monkeypatch):
    import gdown

    zips = _course_zips(ds25, tmp_path / 'served', names=('t.zip', 'v.zip', 's.zip'))
    ids_ = ['1TrainTrainTrainTrainTrain0', '1ValValValValValValValValVal', '1TestTestTestTestTestTest0']
    served = dict(zip(ids_, zips))
    calls = []

    def fake_download(url=None, output=None, quiet=False, resume=False, **kw):
        calls.append(url)
        shutil.copyfile(served[url.rsplit('=', 1)[1]], output)
        return output

    monkeypatch.setattr(gdown, 'download', fake_download)
    links = [f'https://drive.google.com/file/d/{i}/view?usp=sharing' for i in ids_]
    out = fetch_sources(', '.join(links), tmp_path / 'data', '2025', progress=False)
    _same_dataset(out, ds25)
    assert len(calls) == 3


def test_fetch_synthetic_command(tmp_path, capsys):
    assert main(['fetch', 'synthetic', '--out', str(tmp_path / 'syn'), '--edition', '2025', '--quiet']) == 0
    assert dataset_counts(tmp_path / 'syn') == {'train': 40, 'val': 8, 'test': 8}
    assert not (tmp_path / 'syn' / 'val' / 'val_mask').exists()
    assert all(HEX32.match(s) for s in stems(tmp_path / 'syn' / 'train' / 'train_image', '.jpg'))
    assert 'val without masks' in capsys.readouterr().out


# --------------------------------------------------------------------------- the holdout
def _rare_images(root: Path, names: list[str]) -> dict[str, int]:
    held = [ids(root / 'train' / 'train_mask' / f'{s}.png') for s in names]
    return {c: sum(cid in h for h in held) for c, cid in RARE_IDS.items()}


def test_holdout_seeded_disjoint_complete(ds25):
    split = make_holdout(ds25, n=holdout_size(N_TRAIN), seed=0)
    assert set(split) == {'edition', 'seed', 'train', 'holdout'} and split['edition'] == '2025'
    assert len(split['holdout']) == 4 == holdout_size(N_TRAIN) and holdout_size(1000) == 100
    assert not set(split['train']) & set(split['holdout'])
    assert sorted(split['train'] + split['holdout']) == stems(ds25 / 'train' / 'train_image', '.jpg')
    assert make_holdout(ds25, n=4, seed=0) == split
    files = holdout_files(ds25, split)
    assert [f[0] for f in files] == split['holdout'] and all(f[1].is_file() and f[2].is_file() for f in files)
    assert any(make_holdout(ds25, n=4, seed=s)['holdout'] != split['holdout'] for s in (1, 2, 3))


@pytest.mark.parametrize('seed', [0, 1, 7])
@pytest.mark.parametrize('n', [4, 8])
def test_holdout_holds_every_rare_class_and_train_keeps_most(ds25, seed, n):
    split = make_holdout(ds25, n=n, seed=seed)
    everywhere = _rare_images(ds25, split['train'] + split['holdout'])
    held = _rare_images(ds25, split['holdout'])
    for c, k in everywhere.items():
        if k >= 2:
            assert held[c] >= 1, (c, held)
        assert k - held[c] >= held[c], (c, k, held[c])  # training keeps at least half of each rare class
    if n == 8:  # room for more: still each class present, and never more than the rule's count
        assert all(held[c] <= max(3, -(-everywhere[c] * n // N_TRAIN)) for c in held), held


def test_holdout_of_a_class_in_one_face_stays_in_training(tmp_path):
    ds = make_synthetic_dataset(tmp_path / 'ds', 30, 1, 1, size=32, progress=False)  # 2022 faces: no forcing
    hat = [p for p in sorted((ds / 'train' / 'train_mask').glob('*.png')) if RARE_IDS['hat'] in ids(p)]
    for p in hat[1:]:  # keep one face with a hat: the others lose theirs
        a = np.array(Image.open(p))
        a[a == RARE_IDS['hat']] = 0
        im = Image.fromarray(a, 'P')
        im.putpalette(Image.open(p).getpalette())
        im.save(p)
    split = make_holdout(ds, n=3, seed=0)
    assert hat[0].stem in split['train']


def test_holdout_size_refused(ds25):
    with pytest.raises(SplitError, match='1 <= n < 40'):
        make_holdout(ds25, n=40)


def test_split_json_round_trip_and_damage(ds25, tmp_path):
    split = make_holdout(ds25, n=4, seed=3)
    path = write_split(split, tmp_path / 'work')
    assert path == tmp_path / 'work' / 'split.json' and json.loads(path.read_text()) == split
    assert read_split(tmp_path / 'work', ds25) == split
    damaged = [('{"train": [', 'cannot be read as JSON'),
               (json.dumps({**split, 'holdout': split['holdout'] + split['train'][:1]}), 'in both train and holdout'),
               (json.dumps({**split, 'train': split['train'] + ['0' * 32]}), 'have no image/mask pair'),
               (json.dumps({**split, 'train': split['train'][1:]}), 'in neither list'),
               (json.dumps({**split, 'holdout': 'abc'}), 'lists of file stems')]
    for text, why in damaged:
        path.write_text(text)
        with pytest.raises(SplitError) as e:
            read_split(tmp_path / 'work', ds25)
        assert str(path) in str(e.value) and why in str(e.value) and 'What to do' in str(e.value)
    with pytest.raises(SplitError, match='does not exist'):
        read_split(tmp_path / 'elsewhere')
    with pytest.raises(SplitError, match='will not write'):
        write_split({**split, 'holdout': split['train'][:2]}, tmp_path / 'w2')


def test_split_command(ds25, tmp_path, capsys):
    assert main(['split', str(ds25), '--work-dir', str(tmp_path / 'w'), '--seed', '2']) == 0
    assert 'holdout 4 pairs' in capsys.readouterr().out
    assert read_split(tmp_path / 'w', ds25) == make_holdout(ds25, n=4, seed=2)


# --------------------------------------------------------------------------- the copy kept on Drive
def test_drive_copy_of_a_2025_dataset(ds25, tmp_path):
    from utils.data.archive import archive_paths, keep_copy, restore_copy

    data = tmp_path / 'local'
    shutil.copytree(ds25, data)
    keep_copy(data, tmp_path / 'drive', 'synthetic', progress=False, edition='2025')
    assert json.loads(archive_paths(tmp_path / 'drive')[1].read_text())['edition'] == '2025'
    counts = restore_copy(tmp_path / 'other' / 'data', tmp_path / 'drive', progress=False)  # edition from the copy
    assert counts == {'train': N_TRAIN, 'val': N_VAL, 'test': N_TEST}
    assert not (tmp_path / 'other' / 'data' / 'val' / 'val_mask').exists()
    assert restore_copy(tmp_path / 'other' / 'data', tmp_path / 'drive', progress=False) == counts  # already there


def test_synthetic_command_2025(tmp_path):
    from utils.core.synthetic import main as synthetic_main

    root = tmp_path / 's'
    assert synthetic_main(['--out', str(root), '--edition', '2025', '--train', '4', '--val', '2', '--test', '1',
                           '--size', '32', '--val-masks']) == 0
    assert all(HEX32.match(s) for s in stems(root / 'val' / 'val_mask', '.png'))
    assert stems(root / 'val' / 'val_mask', '.png') == stems(root / 'val' / 'val_image', '.jpg')
