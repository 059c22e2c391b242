"""Trust, round 3: a checkpoint's run name and a copied trust marker run no code; settings.json is data with a
schema; a read-only, full or vanished Drive is one message and loses nothing; a code copy on Drive is checked;
a decompression-bomb mask is named by the evaluator and the inspector. (Earlier rounds: test_trust*.py.)"""
from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints, env
from utils.base import places
from utils.notebook import session, steps, workflow
from utils.core.checkpoints import config_by_run_name, config_for_checkpoint
from utils.core.config import ConfigError

SMOKE = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


def _hostile_config(marker: Path) -> str:
    return f"_x = __import__('pathlib').Path(r'{marker}').touch()\nmodel = dict(type='EncoderDecoder')\n"


def _weights(smoke_run) -> dict:
    return checkpoints.extract_state_dict(checkpoints.safe_load_checkpoint(smoke_run['checkpoint']))


# --------------------------------------------------------------------------- 1. no name or file from outside runs
def test_a_run_name_pointing_outside_configs_runs_no_code(smoke_run, tmp_path):
    """A foreign model.pth with notes.py beside it and a run name pointing there (absolute, or relative with ..):
    the name finds nothing, the message asks for the config, and notes.py never runs (its marker stays absent)."""
    from utils.core.inference import Segmenter

    marker = tmp_path / 'CODE_RAN'
    shipped = tmp_path / 'shared_folder'
    shipped.mkdir()
    (shipped / 'notes.py').write_text(_hostile_config(marker))
    configs = Path(__file__).resolve().parent.parent / 'configs'
    names = [str(shipped / 'notes'), os.path.relpath(shipped / 'notes', configs), f'../{shipped.name}/notes',
             str(shipped / 'notes') + '_20261203_101010', 'notes/../../x', '.hidden']
    weights = _weights(smoke_run)
    for name in names:
        assert config_by_run_name(name) is None, name
        path = shipped / 'model.pth'
        torch.save({'state_dict': weights, 'meta': {'experiment_name': name}}, path)
        with pytest.raises(ConfigError, match='CHECKPOINT_CONFIG'):
            Segmenter.from_checkpoint(path, device='cpu')
        plan = workflow.make_plan({'SMOKE': True, 'CHECKPOINT': str(path), 'WORK_ROOT': str(tmp_path / 'w')})
        with pytest.raises(session.StopRun, match='Which config built'):
            steps.evaluate_run(plan, path)  # 04's path, through its CHECKPOINT parameter
    assert not marker.exists()
    assert config_by_run_name(f'{SMOKE}_20261125_101010').name == f'{SMOKE}.py'  # a real name still works


def test_a_copied_marker_does_not_make_a_foreign_work_dir_trusted(smoke_run, synthetic_root, tmp_path):
    """A foreign work_dir carrying a copy of this run's own marker, a hostile config .py and a checkpoint: its .py
    is never run, its checkpoint is read weights-only (a pickle that runs code is refused), training will not
    resume from it; CHECKPOINT_CONFIG (04/05) names the config to use instead."""
    own = smoke_run['work_dir']
    assert checkpoints.work_dir_is_ours(own)
    marker = tmp_path / 'CODE_RAN'
    foreign = tmp_path / 'downloads' / own.name  # the same folder name, even
    foreign.mkdir(parents=True)
    shutil.copy(own / checkpoints.WORKDIR_MARKER, foreign / checkpoints.WORKDIR_MARKER)
    (foreign / 'notes.py').write_text(_hostile_config(marker))
    torch.save({'state_dict': _weights(smoke_run), 'meta': {'note': _Touch(marker)}}, foreign / 'iter_20.pth')
    assert not checkpoints.work_dir_is_ours(foreign) and not checkpoints.is_trusted_checkpoint(foreign / 'iter_20.pth')
    with pytest.raises(ConfigError):
        config_for_checkpoint(foreign / 'iter_20.pth', {})
    with pytest.raises(checkpoints.UnsafeCheckpointError):
        checkpoints.safe_load_checkpoint(foreign / 'iter_20.pth')
    with pytest.raises(checkpoints.UntrustedWorkDirError, match='written for another folder'):
        checkpoints.claim_work_dir(foreign)
    torch.save({'state_dict': _weights(smoke_run)}, foreign / 'iter_20.pth')  # plain weights: usable, by name
    plan = workflow.make_plan({'SMOKE': True, 'CHECKPOINT': str(foreign / 'iter_20.pth'), 'CHECKPOINT_CONFIG': SMOKE,
                               'WORK_ROOT': str(tmp_path / 'w'), 'TTA': 'none'})
    plan.data_root = synthetic_root
    assert steps.evaluate_run(plan, plan.checkpoint).plain.summary['config'] == SMOKE
    assert not marker.exists()


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), 'w')


def test_a_marker_of_another_key_or_folder_is_not_trusted_and_the_owner_can_vouch(tmp_path, monkeypatch, capsys):
    """The marker is an HMAC of the folder's path under the run's key: another student's key, or the marker moved
    to another folder, does not verify; `python -m utils.core.checkpoints trust DIR` re-marks one's own folder."""
    work = tmp_path / 'run_a'
    checkpoints.mark_work_dir(work)
    (work / 'iter_2.pth').write_bytes(b'x')
    assert checkpoints.claim_work_dir(work) == work
    renamed = tmp_path / 'run_b'
    shutil.copytree(work, renamed)
    assert not checkpoints.work_dir_is_ours(renamed)
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'another_student'))
    assert not checkpoints.work_dir_is_ours(work)
    (work / checkpoints.WORKDIR_MARKER).write_text('Checkpoints in this folder were written by ... (old format)\n')
    with pytest.raises(checkpoints.UntrustedWorkDirError, match='python -m utils.core.checkpoints trust'):
        checkpoints.claim_work_dir(work)
    assert checkpoints.main(['trust', str(work)]) == 0 and 'now trusted' in capsys.readouterr().out
    assert checkpoints.claim_work_dir(work) == work


# --------------------------------------------------------------------------- 2. settings.json is data
BAD_SETTINGS = {
    'control character': ('{"RECIPE": "se\x01ed"}', 'not valid JSON'),
    'a list': ('["RECIPE", "seed"]', 'holds a JSON list, not an object'),
    'a number as recipe': ('{"RECIPE": 3}', "RECIPE = 3 in settings.json"),
    'a number as work root': ('{"WORK_ROOT": 5}', 'WORK_ROOT = 5 in settings.json'),
    'an object as value': ('{"TTA": {"mode": "flip"}}', "TTA = {'mode': 'flip'} in settings.json"),
    'a list as value': ('{"ITERS_20K": [20000]}', 'ITERS_20K = [20000] in settings.json'),
}


@pytest.mark.parametrize('case', sorted(BAD_SETTINGS))
def test_a_bad_settings_file_is_one_message_and_00_rewrites_it(case, tmp_path, capsys):
    """04 stops with one message naming settings.json's path, the key, the value and the fix; 00_setup goes on,
    says what it dropped, and writes the file again."""
    text, words = BAD_SETTINGS[case]
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'settings.json').write_text(text)
    params = {'SMOKE': True, 'WORK_ROOT': str(work)}
    with pytest.raises(session.StopRun) as info:
        session.start('04_evaluate', params)
    message = str(info.value)
    assert words in message and str(work / 'settings.json') in message, message
    assert '00_setup' in message and 'delete' in message and 'Traceback' not in message
    plan = session.start('00_setup', params)
    assert any('00_setup writes' in note for note in plan.notes), plan.notes
    kept = json.loads((work / 'settings.json').read_text())
    assert kept['SMOKE'] is True and kept['written_by'] == '00_setup'


def test_unknown_keys_are_noted_and_a_bad_parameter_names_the_parameters_cell(tmp_path):
    work = tmp_path / 'work'
    session.write_settings(work, {'RECIPE': 'improved'}, '00_setup')
    data = json.loads((work / 'settings.json').read_text())
    (work / 'settings.json').write_text(json.dumps({**data, 'LR': 0.1}))
    plan = session.start('01_data_check', {'SMOKE': True, 'WORK_ROOT': str(work), 'TTA': 'none'})
    assert plan.recipe == 'improved' and plan.sources['RECIPE'] == 'settings.json'
    assert any("unknown keys ['LR']: ignored" in note for note in plan.notes)
    for params, words in (({'RECIPE': 3}, 'RECIPE = 3 in this notebook\'s parameters cell'),
                          ({'WORK_ROOT': 5}, 'WORK_ROOT = 5 in this notebook\'s parameters cell'),
                          ({'ITERS_20K': True}, 'ITERS_20K = True in this notebook\'s parameters cell')):
        with pytest.raises(session.StopRun, match='parameters cell') as info:
            session.start('01_data_check', {'SMOKE': True, 'WORK_ROOT': str(work), **params})
        assert words in str(info.value) and 'settings.json' not in str(info.value).split('What to do')[0]


# --------------------------------------------------------------------------- 3. Drive faults are one message
class _Storage:
    """Writes under ``folder`` fail as a read-only (``EROFS``), full (``ENOSPC``, after ``after`` bytes of each
    file) or vanished (``ENOTCONN``) Drive would make them fail; reads and other folders work."""

    def __init__(self, monkeypatch, folder: Path, code: int, after: int = 0) -> None:
        self.folder, self.code, self.after = Path(folder).resolve(), code, after
        for name in ('DRIVE_MOUNT', 'DRIVE_ROOT'):  # the folder stands for Google Drive's mount
            monkeypatch.setattr(places, name, self.folder)
        real_open = builtins.open

        def fake_open(file, mode='r', *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in 'wax+') \
                    and Path(file).resolve().is_relative_to(self.folder):
                if self.code != errno.ENOSPC:
                    raise OSError(self.code, os.strerror(self.code), str(file))
                return _FillsUp(real_open(file, mode, *args, **kwargs), self.after, str(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, 'open', fake_open)
        monkeypatch.setattr(io, 'open', fake_open)

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.folder).as_posix(): p.read_bytes() for p in self.folder.rglob('*') if p.is_file()}


class _FillsUp:
    def __init__(self, fh, after: int, name: str) -> None:
        self._fh, self._left, self.name = fh, after, name

    def write(self, data) -> int:
        if len(data) > self._left:
            self._fh.write(data[:self._left])
            self._left = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


@pytest.mark.parametrize('code,words', [(errno.EROFS, 'cannot be used from here'), (errno.ENOSPC, 'free space on Google Drive'),
                                        (errno.ENOTCONN, 'Google Drive was disconnected')])
def test_a_drive_fault_while_keeping_the_dataset_keeps_the_old_copy_and_no_temp(code, words, synthetic_root, tmp_path,
                                                                                monkeypatch):
    """01 keeps the dataset on a Drive that is read-only, fills up mid-archive, or goes away: one message naming
    the folder, the free space seen and the fix; the archive kept before is unchanged; no temporary file stays."""
    plan = workflow.make_plan({'SMOKE': True, 'WORK_ROOT': str(tmp_path / 'work'), 'DATA_ROOT': str(synthetic_root),
                               'DATA_SOURCE': 'synthetic'})
    plan.keep_dir = tmp_path / 'drive'
    session.keep_dataset(plan, progress=False)
    plan.data_source = 'another source'  # so that the copy is written again
    storage = _Storage(monkeypatch, plan.keep_dir, code, after=5000)
    before = storage.files()
    with pytest.raises(session.StopRun) as info:
        session.keep_dataset(plan, progress=False)
    message = str(info.value)
    assert str(plan.keep_dir / 'data') in message and 'GB free there' in message and words in message, message
    assert storage.files() == before  # the old archive and its description, byte for byte; no temp file


@pytest.mark.parametrize('code', [errno.EROFS, errno.ENOSPC, errno.ENOTCONN])
def test_a_drive_fault_while_writing_settings_keeps_the_old_file(code, tmp_path, monkeypatch):
    old = session.write_settings(tmp_path / 'drive', {'RECIPE': 'seed', 'SMOKE': True}, '00_setup')
    storage = _Storage(monkeypatch, tmp_path / 'drive', code, after=10)
    before = storage.files()
    with pytest.raises(session.StopRun, match='Could not use .*drive'):
        session.write_settings(tmp_path / 'drive', {'RECIPE': 'improved'}, '00_setup')
    assert storage.files() == before and json.loads(old.read_text())['RECIPE'] == 'seed'


def test_a_full_drive_while_saving_a_checkpoint_leaves_no_half_file(synthetic_root, tmp_path, monkeypatch):
    """Training whose second checkpoint save hits a full Drive: one message; the first checkpoint is intact and
    the half-written one is gone, so nothing damaged is resumed or evaluated later."""
    from mmengine.fileio.backends import LocalBackend

    from utils.train import train

    work = tmp_path / 'work'
    real_put, saves = LocalBackend.put, []

    def put(self, obj, filepath):
        if str(filepath).endswith('.pth'):
            saves.append(Path(filepath).name)
            if Path(filepath).name == 'iter_4.pth':  # half of it lands, then the disk is full
                Path(filepath).write_bytes(obj[:len(obj) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filepath))
        return real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put)
    with pytest.raises(session.StopRun, match='(?s)No space left.*GB free there') as info:
        with session.guard(work, kept=False):  # as 02/03 train: MMEngine drops its oldest checkpoint first
            train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=4), resume='none', quiet=True)
    assert 'What was there before is kept' not in str(info.value)
    assert saves[-1] == 'iter_4.pth' and 'iter_2.pth' in saves and not (work / 'iter_4.pth').exists()
    checkpoints.verify_checkpoint(work / 'iter_2.pth')
    assert checkpoints.find_resume_checkpoint(work) == work / 'iter_2.pth'


def test_a_failed_save_of_a_new_best_keeps_the_previous_best(tmp_path):
    """MMEngine deletes the old best_*.pth before writing the new one; SafeCheckpointHook puts it back when the new
    one cannot be written, keeps it when the score did not improve, and drops it once a new best is complete."""
    from mmengine.hooks import CheckpointHook

    from utils.plugins.checkpoint_hook import SafeCheckpointHook

    old = tmp_path / 'best_mIoU_iter_2.pth'

    class Runner:
        work_dir = str(tmp_path)

    def mmengine_like(write_new: bool, fails: bool):
        def save(hook, runner, metrics):
            if not write_new:
                return
            if os.path.isfile(hook.best_ckpt_path):
                os.remove(hook.best_ckpt_path)
            hook.best_ckpt_path = str(tmp_path / 'best_mIoU_iter_4.pth')
            Path(hook.best_ckpt_path).write_bytes(b'PK\x03\x04 half')
            if fails:
                raise OSError(errno.ENOSPC, 'No space left on device')
            torch.save({'state_dict': {'w': torch.zeros(1)}}, hook.best_ckpt_path)
        return save

    for write_new, fails, survivor in ((True, True, old.name), (False, False, old.name),
                                       (True, False, 'best_mIoU_iter_4.pth')):
        for p in tmp_path.glob('*best*'):
            p.unlink()
        torch.save({'state_dict': {'w': torch.ones(1)}}, old)
        hook = SafeCheckpointHook(interval=2, save_best='mIoU')
        hook.best_ckpt_path = str(old)
        original = CheckpointHook._save_best_checkpoint
        CheckpointHook._save_best_checkpoint = mmengine_like(write_new, fails)
        try:
            if fails:
                with pytest.raises(OSError):
                    hook._save_best_checkpoint(Runner(), {'mIoU': 1.0})
            else:
                hook._save_best_checkpoint(Runner(), {'mIoU': 1.0})
        finally:
            CheckpointHook._save_best_checkpoint = original
        assert sorted(p.name for p in tmp_path.iterdir()) == [survivor], (write_new, fails)
        checkpoints.verify_checkpoint(tmp_path / survivor)


def test_a_full_drive_while_zipping_or_saving_results_keeps_the_previous_ones(smoke_run, synthetic_root, tmp_path,
                                                                              monkeypatch):
    """05's zip and 04's result files on a Drive that fills up: one message; the previous zip and results stay."""
    from utils.evaluate import evaluate, save_result
    from utils.submit import make_submission

    images = synthetic_root / 'test' / 'test_image'
    out = tmp_path / 'work' / 'submission-seed.zip'
    first = make_submission(smoke_run['checkpoint'], images, out, tta='none', progress=False)
    result = evaluate(smoke_run['checkpoint'], synthetic_root, tta='none', out_dir=tmp_path / 'work' / 'eval',
                      flops=False, progress=False, save_masks=False)
    storage = _Storage(monkeypatch, tmp_path / 'work', errno.ENOSPC, after=300)
    before = storage.files()
    with pytest.raises(session.StopRun, match='free space on Google Drive'):
        with session.guard(tmp_path / 'work'):
            make_submission(smoke_run['checkpoint'], images, out, tta='flip', progress=False, replace_other_run=True)
    with pytest.raises(session.StopRun, match='free space on Google Drive'):
        with session.guard(tmp_path / 'work'):
            save_result(result, tmp_path / 'work' / 'eval')
    after = storage.files()
    assert after[out.relative_to(storage.folder).as_posix()] == before[out.relative_to(storage.folder).as_posix()]
    assert {k: v for k, v in after.items() if k.startswith('eval/')} == \
        {k: v for k, v in before.items() if k.startswith('eval/')}
    assert not [k for k in after if '.part-' in k or k.endswith('.tmp')], sorted(after)
    assert zipfile.ZipFile(out).testzip() is None and first.sha256


# --------------------------------------------------------------------------- 4. a code copy on Drive is checked
def test_a_code_copy_with_links_or_missing_modules_is_named(tmp_path):
    """A dangling link, a link loop and a missing module in a copy of the project: each is named, nothing hangs."""
    repo = Path(__file__).resolve().parent.parent
    copy = tmp_path / 'copy'
    for name in ('utils', 'configs'):
        shutil.copytree(repo / name, copy / name, ignore=shutil.ignore_patterns('__pycache__'))
    for name in env.CODE_FILES:
        shutil.copy(repo / name, copy)
    assert env.code_problems(copy) == []
    (copy / 'utils' / 'README.link').symlink_to(copy / 'nowhere')
    (copy / 'configs' / 'loop').symlink_to(copy / 'configs')
    (copy / 'utils' / 'core' / 'metrics.py').unlink()
    problems = env.code_problems(copy)
    assert any('2 symbolic link(s)' in p and 'configs/loop' in p and 'utils/README.link' in p for p in problems)
    assert any('utils/core/metrics.py' in p and 'missing' in p for p in problems)
    (copy / 'utils' / 'manifest.txt').unlink()
    assert any('manifest.txt is missing' in p for p in env.code_problems(copy))


def test_the_manifest_lists_every_code_file():
    """utils/manifest.txt is what every runtime checks its copy against; after adding a module, run
    `python -m utils.core.env --write-manifest`."""
    from utils.base import copycheck

    assert env.MANIFEST.read_text() == copycheck.manifest_text(env.REPO_ROOT)


# --------------------------------------------------------------------------- 5. decompression-bomb masks
def test_a_bomb_mask_is_named_by_the_evaluator_and_shown_by_the_inspector(tmp_path, synthetic_root):
    from test_trust_submit import bomb_png

    from utils.evaluate import EvaluationError, read_mask
    from utils.notebook.widgets import _load

    bomb = bomb_png(tmp_path / '7.png')
    with pytest.raises(EvaluationError, match='7.png claims far more pixels'):
        read_mask(bomb)
    (tmp_path / '8.png').write_bytes((synthetic_root / 'val' / 'val_mask' / '0.png').read_bytes()[:60])
    with pytest.raises(EvaluationError, match='Cannot read mask .*8.png'):
        read_mask(tmp_path / '8.png')
    assert 'decompression bomb' in _load(bomb, mask=True)  # the inspector's panel says why instead of failing


def test_a_storage_message_survives_a_vanished_mount_and_names_drive_only_on_drive(tmp_path, monkeypatch):
    """pathlib lets ENOTCONN through is_dir(): the message must not crash on the very error it explains; and a
    full local disk is not called Google Drive."""
    from utils.base.report import storage_problem

    def gone(*args, **kwargs):
        raise OSError(errno.ENOTCONN, 'Transport endpoint is not connected')

    err = OSError(errno.ENOTCONN, 'Transport endpoint is not connected', str(tmp_path / 'drive' / 'x.json'))
    monkeypatch.setattr(places, 'DRIVE_MOUNT', tmp_path / 'drive')
    monkeypatch.setattr(os.path, 'isdir', gone)
    text = storage_problem(err, kept=True)
    assert 'Google Drive was disconnected' in text and 'free space cannot be read' in text
    monkeypatch.undo()
    full = storage_problem(OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'x')))
    assert 'free space on that disk' in full and 'Google Drive' not in full


def test_a_previous_best_left_aside_by_a_killed_run_is_put_back(tmp_path):
    """A disconnect between moving the old best aside and writing the new one left it hidden; the next training
    puts it back (or drops it when a best of that name exists)."""
    from utils.plugins.checkpoint_hook import restore_previous_best

    (tmp_path / '.best_mIoU_iter_2.pth.previous').write_bytes(b'old best')
    (tmp_path / '.best_mIoU_iter_4.pth.previous').write_bytes(b'stale copy')
    (tmp_path / 'best_mIoU_iter_4.pth').write_bytes(b'the real one')
    assert restore_previous_best(tmp_path) == [tmp_path / 'best_mIoU_iter_2.pth']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['best_mIoU_iter_2.pth', 'best_mIoU_iter_4.pth']
    assert (tmp_path / 'best_mIoU_iter_4.pth').read_bytes() == b'the real one'


def test_a_link_to_a_trusted_checkpoint_takes_no_config_from_beside_the_link(smoke_run, tmp_path):
    """A shared folder holding a link to the student's own (trusted) checkpoint and a hostile .py: the config is
    the one training wrote beside the real file, never the .py beside the link (found by a review)."""
    marker = tmp_path / 'CODE_RAN'
    shared = tmp_path / 'shared'
    shared.mkdir()
    (shared / 'model.pth').symlink_to(smoke_run['checkpoint'])
    (shared / 'evil.py').write_text(_hostile_config(marker))
    found = config_for_checkpoint(shared / 'model.pth', {})
    assert found.parent == Path(smoke_run['checkpoint']).resolve().parent and found.name != 'evil.py'
    assert not marker.exists()
