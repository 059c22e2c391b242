"""Trust, round 4: the hand-in survives its inputs (identity checked first, any screenshot format, damaged records
named and skipped) and results say what they are (a final fit by its own record, the checkpoint compared with the
one that predicted the test masks, the weights loaded named)."""
from __future__ import annotations

import json
import shutil

import pytest

from utils.handin.kit import MISSING, PRESENT, build_handin, check_identity
from utils.handin.rundata import HandinError
from utils.plugins.record import is_final_fit, read_record


@pytest.fixture(scope='module')
def handed(resumed_run, synthetic_root, tmp_path_factory):
    """The resumed run submitted as 05 does, its stage folders copied so that they can be damaged."""
    from utils.core.checkpoints import best_or_newest
    from utils.submit import make_submission

    root = tmp_path_factory.mktemp('handin4')
    stages = []
    for r in resumed_run:
        stages.append(root / r['work_dir'].name)
        shutil.copytree(r['work_dir'], stages[-1])
    ckpt = best_or_newest(*reversed(stages))
    sub = make_submission(ckpt, synthetic_root / 'test' / 'test_image', root / 'submission-seed.zip', tta='none',
                          strict=False)
    return {'stages': stages, 'ckpt': ckpt, 'root': root, 'submission': sub.zip_path}


@pytest.mark.parametrize('matric, name, words', [
    ('G' + '1' * 300, None, '301 characters'), ('G1\nx', None, 'line breaks'),
    ('G1234567A', 'me\nMatriculation number: A0000000Z', 'line break'), ('G1234567A', 'x' * 65, '65 long')])
def test_matric_and_leaderboard_name_are_checked_before_anything_is_built(matric, name, words, tmp_path):
    with pytest.raises(HandinError, match=words):
        check_identity(matric, name)
    with pytest.raises(HandinError):
        build_handin([tmp_path / 'none'], tmp_path / 'handin', matric=matric, leaderboard_name=name)
    assert list(tmp_path.iterdir()) == []  # refused before anything was written
    assert check_identity(' G1234567A ', ' face parser ') == ('G1234567A', 'face parser')


def test_a_webp_screenshot_is_converted_and_an_unreadable_one_named(handed, tmp_path):
    """A WebP saved as score.png goes into the report as a PNG copy (it used to be UnrecognizedImageError with an
    empty message); bytes Pillow cannot read are named in the notes and the screenshot counted as missing."""
    from PIL import Image

    folder = tmp_path / 'handin'
    folder.mkdir()
    Image.new('RGB', (40, 20), (200, 10, 10)).save(folder / 'score.png', format='WEBP')
    result = build_handin(handed['stages'], folder, matric='G1234567A', submission=handed['submission'])
    status = {item: s for item, s, _ in result.checks}
    assert status['leaderboard screenshot'] == PRESENT and any('WEBP' in n for n in result.notes)
    with Image.open(folder / 'score-converted.png') as im:
        assert im.format == 'PNG'
    (folder / 'score.png').write_bytes(b'not an image at all')
    result = build_handin(handed['stages'], folder, matric='G1234567A', submission=handed['submission'])
    assert {i: s for i, s, _ in result.checks}['leaderboard screenshot'] == MISSING
    assert any('score.png is not an image Pillow can read' in n for n in result.notes)


def test_damaged_records_are_named_and_skipped_and_the_rest_built(handed, tmp_path):
    """val_per_class.csv cut by a disconnect and appended by the resume, an empty class_weights.csv, a hand-edited
    run_record.json: each is named in a warning, skipped, and the hand-in is built (they were tracebacks)."""
    stages = []
    for wd in handed['stages']:
        stages.append(tmp_path / wd.name)
        shutil.copytree(wd, stages[-1])
    per_class = stages[0] / 'val_per_class.csv'
    text = per_class.read_text()
    lines = text.splitlines()
    per_class.write_text('\n'.join(lines[:5]) + '\n' + lines[5][:7] + '\n'.join(lines[5:]) + '\n')  # cut + appended
    (stages[0] / 'class_weights.csv').write_text('')
    record = json.loads((stages[1] / 'run_record.json').read_text())
    record['recipe']['max_iters'] = 'lots'
    (stages[1] / 'run_record.json').write_text(json.dumps(record))
    with pytest.warns(UserWarning) as caught:
        result = build_handin(stages, tmp_path / 'handin', matric='G1234567A', submission=handed['submission'])
    said = ' | '.join(str(w.message) for w in caught)
    assert 'val_per_class.csv: 1 damaged rows' in said and 'class_weights.csv is damaged' in said
    assert 'run_record.json is damaged or edited by hand (max_iters' in said
    assert result.zip_path.is_file() and (result.folder / 'report_draft.docx').is_file()


def test_the_handin_checks_its_checkpoint_is_the_one_that_predicted_the_test_masks(handed, tmp_path):
    """The masks' manifest records the SHA-256 of the checkpoint that predicted them: the check table says whether
    the handed-in checkpoint is that one."""
    from utils.core.checkpoints import list_checkpoints

    result = build_handin(handed['stages'], tmp_path / 'a', matric='G1', submission=handed['submission'],
                          checkpoint=handed['ckpt'])
    rows = {item: (s, d) for item, s, d in result.checks}
    row = rows['checkpoint = the one that predicted the test masks']
    assert row[0] == PRESENT and 'matches' in row[1]
    other = next(p for p in list_checkpoints(handed['stages'][0]) if p.read_bytes() != handed['ckpt'].read_bytes())
    result = build_handin(handed['stages'], tmp_path / 'b', matric='G1', submission=handed['submission'],
                          checkpoint=other)
    status, detail = {i: (s, d) for i, s, d in result.checks}['checkpoint = the one that predicted the test masks']
    assert status == MISSING and 'is NOT the checkpoint that predicted' in detail


def test_a_final_fit_is_known_from_its_record_not_its_folder_name(handed, synthetic_root, tmp_path):
    """The run record carries final_fit (from the config) and the weights loaded; a final fit in a folder without
    `_trainval` is still one, a folder named `_trainval` whose record says otherwise is not."""
    record = read_record(handed['stages'][0])
    assert record['final_fit'] is False and isinstance(record['weights_loaded'], list)
    odd = tmp_path / 'my_final_model'
    shutil.copytree(handed['stages'][0], odd)
    record['final_fit'] = True
    record['weights_loaded'] = [{'setting': 'model.pretrained', 'source': 'open-mmlab://resnet50_v1c',
                                 'sha256': 'ab' * 32}]
    (odd / 'run_record.json').write_text(json.dumps(record))
    assert is_final_fit(odd) and is_final_fit(odd / 'iter_4.pth')
    from utils.core.checkpoints import list_checkpoints
    from utils.evaluate import evaluate

    with pytest.warns(UserWarning, match=r'final fit, trained on train \+ val: its val scores are NOT honest'):
        scored = evaluate(list_checkpoints(odd)[0], synthetic_root, split='val', tta='none', out_dir=tmp_path / 'ev',
                          flops=False, progress=False)
    assert scored.summary['final_fit'] is True
    named = tmp_path / 'seed_trainval'
    shutil.copytree(handed['stages'][0], named)
    assert not is_final_fit(named)
    result = build_handin([odd], tmp_path / 'handin', matric='G1', submission=handed['submission'])
    readme = (result.folder / 'Readme.txt').read_text()
    assert f'model.pretrained: open-mmlab://resnet50_v1c (SHA-256 {"ab" * 32})' in readme
    import docx

    text = '\n'.join(p.text for p in docx.Document(str(result.folder / 'report_draft.docx')).paragraphs)
    assert f'the run loaded resnet50_v1c (SHA-256 {"ab" * 6}...)' in text
    assert 'final fit on train + val' in text  # known from its record, though its folder is not named _trainval


def test_a_full_disk_names_the_folder_being_written_and_its_own_free_space(handed, tmp_path, monkeypatch):
    """The zip's disk fills up (zipfile's error names no file): the one message names the zip's folder and the free
    space there, not the working folder's (it used to name the current folder and the wrong disk)."""
    import errno
    import os
    import zipfile

    from utils.notebook import session

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')

    out = tmp_path / 'zips'
    out.mkdir()
    monkeypatch.setattr(zipfile.ZipFile, 'write', full)
    monkeypatch.chdir(handed['root'])
    with pytest.raises(session.StopRun) as info:
        with session.guard():  # as 06_handin runs it
            build_handin(handed['stages'], tmp_path / 'handin', matric='G1', submission=handed['submission'],
                         zip_path=out / 'G1.zip')
    message = str(info.value)
    assert message.startswith(f'Could not use {out}: No space left on device') and 'GB free there' in message
    assert os.getcwd() not in message.split('\n')[0]
