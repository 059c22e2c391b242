"""Trust, round 4: a checkpoint is unpickled in full only when the SHA-256 of the bytes being loaded is one that
training recorded; one training per work_dir; the trust key is never short and its changes are named.
(Earlier rounds: test_trust.py, test_trust_run.py; weights: test_trust_weights.py; inputs: test_trust_inputs.py.)"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints
from utils.base import places, trust
from utils.core.checkpoints import UntrustedCheckpointError, UntrustedWorkDirError

SMOKE = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


class _Touch:
    """A pickle that, when fully unpickled, creates ``path``: stands for any code a foreign file could run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), 'w')


def _evil(path: Path, marker: Path) -> Path:
    torch.save({'meta': {'iter': 99}, 'state_dict': {'w': torch.zeros(1)}, 'payload': _Touch(marker)}, path)
    return path


def _own_stage(smoke_run, tmp_path) -> Path:
    """A copy of the smoke run's work_dir: its checkpoints' bytes are the ones training recorded."""
    stage = tmp_path / 'stage1'
    shutil.copytree(smoke_run['work_dir'], stage)
    checkpoints.mark_work_dir(stage)  # the student's own copy (trust by bytes does not depend on the place)
    return stage


def test_a_classmates_checkpoint_copied_into_the_work_dir_is_refused_on_resume(smoke_run, synthetic_root, tmp_path):
    """A classmate's iter_99.pth (a pickle that runs code) copied into the student's own marked work_dir: resume
    (--resume auto takes the newest) refuses it with one message naming the file and --config / load_from."""
    from utils.train import train

    work = _own_stage(smoke_run, tmp_path)
    marker = tmp_path / 'CODE_RAN'
    _evil(work / 'iter_99.pth', marker)
    assert checkpoints.work_dir_is_ours(work)
    with pytest.raises(UntrustedCheckpointError, match=r'iter_99\.pth in full: training did not record') as info:
        train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=100), resume='auto')
    assert '--config' in str(info.value) and 'load_from=' in str(info.value)
    assert not marker.exists()


def test_a_hard_link_of_a_foreign_file_is_refused(smoke_run, tmp_path):
    """A hard link puts a foreign file's bytes in the student's folder under a name of theirs: the bytes decide."""
    work = _own_stage(smoke_run, tmp_path)
    marker = tmp_path / 'CODE_RAN'
    foreign = _evil(tmp_path / 'elsewhere.pth', marker)
    os.link(foreign, work / 'iter_50.pth')
    own = checkpoints.list_checkpoints(work)[1]
    with checkpoints.trusted_resume():
        assert isinstance(checkpoints._policy_local_loader(str(own)), dict)  # the student's own: loaded in full
        with pytest.raises(UntrustedCheckpointError, match='iter_50.pth'):
            checkpoints._policy_local_loader(str(work / 'iter_50.pth'))
    assert not marker.exists() and not checkpoints.is_trusted_checkpoint(work / 'iter_50.pth')


def test_a_checkpoint_swapped_between_the_check_and_the_load_is_refused(smoke_run, synthetic_root, tmp_path,
                                                                       monkeypatch):
    """Resume checks the checkpoint, then MMEngine loads it: a file swapped in between is refused, because the
    loader hashes the very bytes it unpickles (read once, loaded from memory)."""
    from utils.train import train

    stage = _own_stage(smoke_run, tmp_path)
    ckpt = checkpoints.list_checkpoints(stage)[0]
    marker = tmp_path / 'CODE_RAN'
    swapped = []
    real_block = checkpoints.trusted_resume

    @contextlib.contextmanager
    def swap_then_resume():  # entered after ParsingRunner.resume's own check passed, before MMEngine loads
        _evil(ckpt, marker)
        swapped.append(ckpt)
        with real_block():
            yield

    monkeypatch.setattr(checkpoints, 'trusted_resume', swap_then_resume)
    with pytest.raises(UntrustedCheckpointError, match=ckpt.name):
        train(SMOKE, synthetic_root, tmp_path / 'stage2', smoke=dict(size=64, max_iters=22), resume=ckpt)
    assert swapped == [ckpt] and not marker.exists()


def test_a_second_training_on_one_work_dir_refuses_at_once_naming_the_first(synthetic_root, tmp_path):
    """Another process holds the work_dir's training lock: a training refuses before doing anything, naming its
    process, host and start time; its own lock is given back when a training ends."""
    from utils.train import train

    work = tmp_path / 'w'
    checkpoints.claim_work_dir(work)
    first = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        (work / trust.LOCK).write_text(json.dumps({'pid': first.pid, 'host': socket.gethostname(),
                                                   'started': '2026-12-07 04:00:00 UTC'}))
        with pytest.raises(trust.WorkDirBusyError) as info:
            train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=2), resume='none')
    finally:
        first.kill()
        first.wait()
    message = str(info.value)
    assert f'process {first.pid} on {socket.gethostname()}, started 2026-12-07 04:00:00 UTC' in message
    assert not list(work.glob('*.pth'))
    (work / trust.LOCK).unlink()
    lock = trust.acquire_lock(work)
    trust.release_lock(lock)
    assert not lock.exists()


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    """A lock of a process that is gone (this host) or not refreshed for long (another runtime) is taken over with
    a warning; a fresh one of another host is not."""
    work = tmp_path / 'w'
    work.mkdir()
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (work / trust.LOCK).write_text(json.dumps({'pid': dead.pid, 'host': socket.gethostname(), 'started': 'then'}))
    with pytest.warns(UserWarning, match=f'process {dead.pid} .* no longer running'):
        lock = trust.acquire_lock(work)
    assert json.loads(lock.read_text())['pid'] == os.getpid()
    lock.write_text(json.dumps({'pid': 1, 'host': 'another-runtime', 'started': 'now'}))
    with pytest.raises(trust.WorkDirBusyError, match='another-runtime'):
        trust.acquire_lock(work)
    old = time.time() - trust.LOCK_STALE_S - 60
    os.utime(lock, (old, old))
    with pytest.warns(UserWarning, match='another-runtime'):
        trust.acquire_lock(work)


@pytest.mark.parametrize('content', ['', 'abc\n', '0' * 31])
def test_a_short_trust_key_is_made_again_and_never_used(content, tmp_path, monkeypatch):
    """An empty or short key file: nothing verifies with it; training makes a full key (with a note) before marking."""
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'state'))
    key = places.trust_key_path()
    key.parent.mkdir(parents=True)
    key.write_text(content)
    assert trust.trust_key(create=False) is None
    with pytest.warns(UserWarning, match='too short'):
        checkpoints.mark_work_dir(tmp_path / 'w')
    assert len(key.read_text().strip()) == 64 and checkpoints.work_dir_is_ours(tmp_path / 'w')


def test_trust_checks_its_own_result_and_fails_loudly(tmp_path, monkeypatch, capsys):
    """`python -m utils.core.checkpoints trust DIR` whose key cannot be written, or whose records do not verify, says so
    with exit code 1 (it used to print 'is now trusted')."""
    work = tmp_path / 'w'
    work.mkdir()
    (work / 'iter_2.pth').write_bytes(b'x')
    blocker = tmp_path / 'not_a_folder'
    blocker.write_text('')
    monkeypatch.setenv('CELEBAMASK_STATE', str(blocker / 'state'))  # the key's folder cannot be made
    assert checkpoints.main(['trust', str(work)]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'trust key' in err and 'now trusted' not in err
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'state'))
    monkeypatch.setattr(checkpoints, 'record_file', lambda path: None)  # a ledger that does not take
    assert checkpoints.main(['trust', str(work)]) == 1
    assert 'did not take' in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'state'))
    assert checkpoints.main(['trust', str(work)]) == 0 and checkpoints.is_trusted_checkpoint(work / 'iter_2.pth')


def test_a_refusal_after_a_key_change_names_the_key(tmp_path, monkeypatch):
    """The key was replaced (another runtime, a deleted file): the refusal names both keys, not a copied marker."""
    work = tmp_path / 'w'
    checkpoints.mark_work_dir(work)
    (work / 'iter_2.pth').write_bytes(b'x')
    old = trust.key_id(trust.trust_key(create=False))
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'new_state'))
    trust.trust_key(create=True)
    new = trust.key_id(trust.trust_key(create=False))
    with pytest.raises(UntrustedWorkDirError, match=f'another trust key \\(key {old}.* is {new}\\)') as info:
        checkpoints.claim_work_dir(work)
    assert str(places.trust_key_path()) in str(info.value) and 'utils.core.checkpoints trust' in str(info.value)


def test_the_students_own_checkpoint_in_a_moved_folder_offers_trust(smoke_run, tmp_path, capsys):
    """The student moved their work_dir: the refusal says it was moved and offers `trust`, after which resume loads;
    a hostile config .py put beside it is still never taken (only the config whose bytes training recorded)."""
    from utils.core.checkpoints import config_for_checkpoint

    moved = tmp_path / 'moved'
    shutil.copytree(smoke_run['work_dir'], moved)
    with pytest.raises(UntrustedWorkDirError, match='written for another folder.*utils.core.checkpoints trust'):
        checkpoints.claim_work_dir(moved)
    (moved / 'aaa_notes.py').write_text("raise SystemExit('ran')\n")
    assert config_for_checkpoint(moved / 'iter_20.pth', {}).name != 'aaa_notes.py'
    assert checkpoints.main(['trust', str(moved)]) == 0 and 'now trusted' in capsys.readouterr().out
    assert checkpoints.claim_work_dir(moved) == moved
    with checkpoints.trusted_resume():
        assert 'state_dict' in checkpoints._policy_local_loader(str(moved / 'iter_20.pth'))
