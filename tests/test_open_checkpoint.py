"""One object per checkpoint (utils.core.checkpoints.open_checkpoint): a submission reads the checkpoint file once, evaluate,
submit and the hand-in name it by the same SHA-256, and the bytes that are hashed and checked are the bytes loaded."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints
from utils.core.checkpoints import OpenedCheckpoint, UntrustedCheckpointError, open_checkpoint

#: Real paths whose reads the audit hook counts (it counts only while this is not empty: a hook cannot be removed).
WATCHED: list[str] = []
#: One entry per ``open`` of a watched file for reading.
READS: list[str] = []
_HOOKED: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if event != 'open' or not WATCHED or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    try:
        path = os.path.realpath(os.fsdecode(args[0]))
    except (TypeError, ValueError):
        return
    mode, flags = (list(args[1:]) + [None, None])[:2]
    reading = (not any(c in mode for c in 'wax+')) if isinstance(mode, str) else \
        isinstance(flags, int) and not flags & (os.O_WRONLY | os.O_RDWR)
    if path in WATCHED and reading:
        READS.append(path)


class count_reads:
    """``with count_reads(path) as reads:`` -- the reads of ``path`` within the block (a list, one entry per open)."""

    def __init__(self, path: Path) -> None:
        self.path = os.path.realpath(path)
        if not _HOOKED:
            sys.addaudithook(_audit)
            _HOOKED.append(True)

    def __enter__(self) -> list[str]:
        READS.clear()
        WATCHED[:] = [self.path]
        return READS

    def __exit__(self, *exc) -> None:
        WATCHED.clear()


class count_config_parses:
    """``with count_config_parses() as parses:`` -- each ``mmengine.config.Config.fromfile`` call within the block."""

    def __enter__(self) -> list[str]:
        from mmengine.config import Config

        self.calls: list[str] = []
        self.real = Config.__dict__['fromfile']
        real = self.real.__func__

        def counted(filename, *args, **kwargs):
            self.calls.append(str(filename))
            return real(filename, *args, **kwargs)

        Config.fromfile = staticmethod(counted)
        return self.calls

    def __exit__(self, *exc) -> None:
        from mmengine.config import Config

        Config.fromfile = self.real


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture()
def images(synthetic_root, tmp_path) -> Path:
    dest = tmp_path / 'test_image'
    dest.mkdir()
    for p in sorted((synthetic_root / 'test' / 'test_image').glob('*.jpg'))[:4]:
        shutil.copy(p, dest / p.name)
    return dest


# --------------------------------------------------------------------------- 1. one read per submission
@pytest.mark.parametrize('edition', ['2022', '2025'])
def test_one_submission_reads_the_checkpoint_once(smoke_run, images, tmp_path, edition, capsys):
    """``python -m utils.submit`` (the entry of 05's zip) with the smoke model opens the checkpoint file once and
    parses its config once: the check, the hash, the trust, the config lookup and the model all use one object."""
    from utils.submit.__main__ import main as submit_main

    ckpt = Path(smoke_run['checkpoint'])
    out = tmp_path / 'out' / f'submission-{edition}.zip'
    argv = [str(ckpt), '--images', str(images), '--out', str(out), '--device', 'cpu', '--quiet', '--edition', edition]
    with count_reads(ckpt) as reads, count_config_parses() as parses:
        code = submit_main(argv)
    assert code == 0, capsys.readouterr()
    assert len(reads) == 1, reads
    assert [Path(p).parent for p in parses if 'configs/_base_' not in p] == [ckpt.parent], parses  # the config
    # training wrote beside it, once (default_runtime.py is the registries' list of modules, read apart)
    manifest = json.loads((out.parent / f'{out.stem}_masks' / 'manifest.json').read_text())
    assert manifest['checkpoint_sha256'] == _sha(ckpt) and manifest['checkpoint'] == str(ckpt.resolve())


def test_evaluate_reads_the_checkpoint_once_and_a_loaded_model_not_at_all(smoke_run, synthetic_root, tmp_path):
    from utils.evaluate import evaluate
    from utils.core.inference import Segmenter

    ckpt = Path(smoke_run['checkpoint'])
    common = dict(split='val', tta='none', save_masks=False, flops=False, progress=False)
    with count_reads(ckpt) as reads:
        evaluate(ckpt, synthetic_root, out_dir=tmp_path / 'a', **common)
    assert len(reads) == 1, reads
    seg = Segmenter.from_checkpoint(ckpt, device='cpu')
    with count_reads(ckpt) as reads:
        result = evaluate(ckpt, synthetic_root, out_dir=tmp_path / 'b', segmenter=seg, **common)
    assert reads == [] and result.summary['checkpoint_sha256'] == _sha(ckpt)


# --------------------------------------------------------------------------- 2. one identity
def test_evaluate_submit_and_the_handin_name_the_checkpoint_alike(smoke_run, synthetic_root, images, tmp_path):
    """evaluate's summary, submit's manifest and the hand-in's check give the same identity: the checkpoint's path
    and the SHA-256 of its bytes (no longer its size and time)."""
    from utils.evaluate import evaluate, load_result
    from utils.handin.kit import PRESENT, checkpoint_vs_predictions
    from utils.submit import make_submission

    ckpt = Path(smoke_run['checkpoint'])
    opened = open_checkpoint(ckpt)
    assert isinstance(opened, OpenedCheckpoint) and opened.sha256 == _sha(ckpt) and opened.size == ckpt.stat().st_size
    assert opened.identity == checkpoints.checkpoint_identity(ckpt) == {'checkpoint': str(ckpt.resolve()),
                                                                         'checkpoint_sha256': _sha(ckpt)}
    result = evaluate(opened, synthetic_root, tta='none', out_dir=tmp_path / 'eval', save_masks=False, flops=False,
                      progress=False)
    sub = make_submission(ckpt, images, tmp_path / 'submission.zip', tta='none', progress=False)
    manifest = json.loads((tmp_path / 'submission_masks' / 'manifest.json').read_text())
    summary = load_result(result.out_dir).summary
    assert {k: summary[k] for k in opened.identity} == {k: manifest[k] for k in opened.identity} == opened.identity
    assert 'checkpoint_mtime' not in summary and 'checkpoint_size' not in summary
    run = types.SimpleNamespace(checkpoint=ckpt, submission=sub.zip_path)
    _, status, detail = checkpoint_vs_predictions(run)
    assert status == PRESENT and _sha(ckpt)[:12] in detail


def test_the_flop_count_is_kept_for_the_same_bytes_only(smoke_run, synthetic_root, tmp_path, monkeypatch):
    """The cached FLOP count of an earlier evaluation is keyed by the checkpoint's SHA-256: the same bytes with another
    time keep it, other bytes at the same path are counted again."""
    import utils.evaluate as ev

    ckpt = tmp_path / 'model.pth'
    shutil.copy(smoke_run['checkpoint'], ckpt)
    counted = []
    monkeypatch.setattr(ev, 'count_flops', lambda model, size: (counted.append(size), (1234, 'counted'))[1])
    written = next(Path(smoke_run['work_dir']).glob('*.py'))  # the config training wrote (64 px: fast on a CPU)
    common = dict(tta='none', out_dir=tmp_path / 'eval', save_masks=False, progress=False, config=written)
    first = ev.evaluate(ckpt, synthetic_root, **common)
    os.utime(ckpt, (1e9, 1e9))  # another time (a copy, a Drive sync), the same bytes: kept
    ev.evaluate(ckpt, synthetic_root, **common)
    assert len(counted) == 1 and first.summary['flops'] == 1234
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    state.setdefault('meta', {})['note'] = 'other bytes'
    torch.save(state, ckpt)
    again = ev.evaluate(ckpt, synthetic_root, **common)
    assert len(counted) == 2 and again.summary['checkpoint_sha256'] == _sha(ckpt) != first.summary['checkpoint_sha256']


# --------------------------------------------------------------------------- 3. the bytes hashed are the bytes loaded
class _Touch:
    """A pickle that, when fully unpickled, creates ``path``: stands for any code a foreign file could run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), 'w')


def _own_stage(smoke_run, tmp_path) -> Path:
    stage = tmp_path / 'stage1'
    shutil.copytree(smoke_run['work_dir'], stage)
    checkpoints.mark_work_dir(stage)
    return stage


def _swap_after_reading(monkeypatch, target: Path, replacement: bytes) -> list[bytes]:
    """Replace ``target``'s bytes on disk right after open_checkpoint has read them (when it hashes them)."""
    hashed: list[bytes] = []
    real = checkpoints.sha256_bytes

    def hash_then_swap(data: bytes) -> str:
        hashed.append(data)
        target.write_bytes(replacement)
        return real(data)

    monkeypatch.setattr(checkpoints, 'sha256_bytes', hash_then_swap)
    return hashed


def test_a_file_swapped_after_the_read_is_not_what_gets_loaded(smoke_run, tmp_path, monkeypatch):
    """The trusted bytes are read once; a foreign pickle put in their place after the read (before the load) is
    never unpickled: the object's SHA-256 is that of what was loaded, and full unpickling of it runs no code."""
    stage = _own_stage(smoke_run, tmp_path)
    ckpt = checkpoints.list_checkpoints(stage)[0]
    own = ckpt.read_bytes()
    marker = tmp_path / 'CODE_RAN'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'payload': _Touch(marker)}, evil)
    hashed = _swap_after_reading(monkeypatch, ckpt, evil.read_bytes())
    opened = open_checkpoint(ckpt, full=True)
    assert hashed == [own] and ckpt.read_bytes() == evil.read_bytes()  # swapped on disk after the read
    assert opened.trusted and opened.sha256 == hashlib.sha256(own).hexdigest() != _sha(ckpt)
    assert 'payload' not in opened.checkpoint and 'state_dict' in opened.checkpoint and not marker.exists()
    monkeypatch.undo()
    with pytest.raises(UntrustedCheckpointError, match='training did not record'):  # the swapped file, opened now
        open_checkpoint(ckpt, full=True)
    assert not marker.exists()


def test_bytes_that_differ_from_the_recorded_hash_are_refused(smoke_run, tmp_path):
    """A checkpoint of the student's own work_dir whose bytes changed since training recorded them: refused for full
    unpickling with the one message, read weights-only otherwise, and the config beside it is not trusted either."""
    stage = _own_stage(smoke_run, tmp_path)
    ckpt = checkpoints.list_checkpoints(stage)[0]
    own = open_checkpoint(ckpt)
    assert own.trusted and own.config_path.parent == stage  # the config training wrote beside it
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    state['meta']['note'] = 'changed after training'
    torch.save(state, ckpt)
    with pytest.raises(UntrustedCheckpointError) as info:
        open_checkpoint(ckpt, full=True)
    assert str(info.value) == checkpoints.not_recorded_message(ckpt, _sha(ckpt))
    changed = open_checkpoint(ckpt)
    assert not changed.trusted and changed.sha256 == _sha(ckpt) != own.sha256
    assert changed.config_path.parent != stage  # found by the run's name in configs/, not the .py beside it
    assert 'optimizer' not in changed.checkpoint and changed.meta['note'] == 'changed after training'


def test_an_opened_checkpoint_is_passed_on_not_read_again(smoke_run):
    """open_checkpoint of an OpenedCheckpoint is that object (another config: a copy, the file still not read)."""
    ckpt = Path(smoke_run['checkpoint'])
    opened = open_checkpoint(ckpt)
    with count_reads(ckpt) as reads:
        assert open_checkpoint(opened) is opened
        other = open_checkpoint(opened, 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64')
        assert other is not opened and other.sha256 == opened.sha256 and other.config_path.parent.name == 'configs'
    assert reads == []


def test_a_smoke_model_named_by_its_config_is_built_as_training_built_it(smoke_run):
    """CHECKPOINT_CONFIG (04/05) naming the smoke config in configs/ builds the model as training did: its own
    ``smoke`` size applies (64 px, not the 512 of the recipe it is based on), so the model and the test pipeline are
    those of the config training wrote beside the checkpoint."""
    from utils.core.inference import _test_size

    beside = open_checkpoint(Path(smoke_run['checkpoint']))
    named = open_checkpoint(beside, 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64')
    assert named.config_path.parent.name == 'configs' and beside.config_path.parent.name != 'configs'
    assert _test_size(named.cfg) == _test_size(beside.cfg) == (64, 64)
    assert named.cfg.model.to_dict() == beside.cfg.model.to_dict()
    assert named.cfg.test_dataloader.dataset.pipeline == beside.cfg.test_dataloader.dataset.pipeline
