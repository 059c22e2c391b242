"""Trust: text and pickles from files this project did not write are data, never code; damaged checkpoints and
bad labels end in one clear message. (Data and submission cases: test_trust_data.py, test_trust_submit.py.)"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints
from utils.core.checkpoints import UntrustedWorkDirError, find_resume_checkpoint, list_checkpoints

SMOKE = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


class _Touch:
    """A pickle that, when fully unpickled, creates ``path``: stands for any code a foreign file could run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), 'w')


def _evil_config(marker: Path) -> str:
    return f"_x = __import__('pathlib').Path(r'{marker}').touch()\nmodel = dict(type='EncoderDecoder')\n"


@pytest.fixture
def foreign_checkpoint(smoke_run, tmp_path) -> tuple[Path, Path]:
    """The smoke model's weights in a downloaded file whose stored config would create a marker file if run."""
    marker = tmp_path / 'CODE_RAN'
    state = checkpoints.extract_state_dict(checkpoints.safe_load_checkpoint(smoke_run['checkpoint']))
    path = tmp_path / 'downloads' / 'from_a_forum.pth'
    path.parent.mkdir()
    torch.save({'state_dict': state, 'meta': {'cfg': _evil_config(marker)}}, path)
    return path, marker


def test_stored_config_is_never_executed_by_evaluate(foreign_checkpoint, synthetic_root, tmp_path):
    """Case a: evaluate without --config on a checkpoint whose stored config runs code: it asks for --config."""
    from utils.evaluate import EvaluationError, evaluate

    path, marker = foreign_checkpoint
    with pytest.raises(EvaluationError, match='Pass the config it was trained with'):
        evaluate(path, synthetic_root, tta='none', out_dir=tmp_path / 'o', flops=False, progress=False)
    assert not marker.exists()


def test_stored_config_is_never_executed_by_submit(foreign_checkpoint, synthetic_root, tmp_path, capsys):
    """Case a, submit command: one message asking for --config, exit 2, nothing ran."""
    from utils.submit.__main__ import main

    path, marker = foreign_checkpoint
    rc = main([str(path), '--images', str(synthetic_root / 'test' / 'test_image'), '--out', str(tmp_path / 's.zip'),
               '--quiet'])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith('error: ') and '--config' in err and 'Traceback' not in err
    assert not marker.exists()


def test_config_found_by_run_name_never_by_running_text(smoke_run, synthetic_root, tmp_path):
    """Case a: the run name in meta points at configs/<name>.py; the stored text is ignored (still not run)."""
    from utils.core.inference import Segmenter

    marker = tmp_path / 'CODE_RAN'
    state = checkpoints.extract_state_dict(checkpoints.safe_load_checkpoint(smoke_run['checkpoint']))
    path = tmp_path / 'named.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': _evil_config(marker),
                                              'experiment_name': f'{SMOKE}_20261125_101010'}}, path)
    seg = Segmenter.from_checkpoint(path, device='cpu')
    assert seg.cfg.filename.endswith(f'configs/{SMOKE}.py')
    assert not marker.exists()


def test_own_work_dir_config_is_used(smoke_run):
    """A checkpoint in this project's marked work_dir is built from the config file training wrote there."""
    from utils.core.checkpoints import config_for_checkpoint

    written = config_for_checkpoint(smoke_run['checkpoint'], {})
    assert written.parent == Path(smoke_run['work_dir']) and written.suffix == '.py'


def test_resume_auto_refuses_a_folder_of_foreign_checkpoints(smoke_run, synthetic_root, tmp_path):
    """Case b: --resume auto in a work_dir without the marker: refused before any unpickling, no marker written."""
    from utils.train import train

    work = tmp_path / 'downloaded_run'
    work.mkdir()
    marker = tmp_path / 'CODE_RAN'
    torch.save({'meta': {'iter': 9}, 'payload': _Touch(marker)}, work / 'iter_9.pth')
    with pytest.raises(UntrustedWorkDirError, match='load_from='):
        train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=12), resume='auto')
    assert not marker.exists()
    assert not (work / checkpoints.WORKDIR_MARKER).exists()


def test_train_cli_refusal_is_one_message(tmp_path, synthetic_root, capsys):
    """Case b, command line: exit 2, one line that offers load_from, no traceback."""
    from utils.train import main

    work = tmp_path / 'w'
    work.mkdir()
    torch.save({'x': torch.zeros(1)}, work / 'iter_2.pth')
    rc = main([SMOKE, '--data-root', str(synthetic_root), '--work-dir', str(work), '--smoke'])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith('error: ') and 'load_from=' in err and 'Traceback' not in err


def test_damaged_tensor_record_is_skipped_on_resume(smoke_run, tmp_path):
    """Case f: bytes flipped inside a tensor record (zip directory intact): the CRC check skips it, names it."""
    work = tmp_path / 'wd'
    checkpoints.mark_work_dir(work)
    ckpts = list_checkpoints(smoke_run['work_dir'])
    older, newest = ckpts[-1], ckpts[0]
    assert older != newest
    shutil.copy(older, work / older.name)
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the weights, far from the zip's directory at the end
    (work / newest.name).write_bytes(bytes(data))
    torch.load(work / newest.name, map_location='cpu', weights_only=False)  # torch itself does not notice
    with pytest.warns(UserWarning, match=f'{newest.name}.*CRC'):
        assert find_resume_checkpoint(work) == work / older.name


def test_bad_training_mask_is_one_message(synthetic_root, tmp_path, capsys):
    """A mask holding 255 and 30: training stops with one line naming the file, not a 17-frame traceback."""
    import numpy as np
    from PIL import Image

    from utils.train import main

    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    for name in (p.name for p in (root / 'train' / 'train_mask').glob('*.png')):
        bad = root / 'train' / 'train_mask' / name
        m = np.array(Image.open(bad))
        m[0, 0], m[0, 1] = 255, 30
        Image.fromarray(m, mode='L').save(bad)
    rc = main([SMOKE, '--data-root', str(root), '--work-dir', str(tmp_path / 'w'), '--smoke', '--max-iters', '2'])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith('error: Mask ') and 'has labels [30]' in err
    assert 'Traceback' not in err and len(err.splitlines()) == 1


def test_reliability_table_names_real_tests():
    """docs/RELIABILITY.md cites only tests that exist, and cites every test of the trust modules."""
    import re

    repo = Path(__file__).resolve().parent.parent
    cited = set(re.findall(r'`(test_\w+)`', (repo / 'docs' / 'RELIABILITY.md').read_text()))
    defined = {m for p in (repo / 'tests').glob('test_*.py') for m in re.findall(r'^def (test_\w+)', p.read_text(), re.M)}
    assert cited and cited <= defined, sorted(cited - defined)
    trust = {m for name in ('test_trust.py', 'test_trust_data.py', 'test_trust_submit.py', 'test_trust_run.py',
                            'test_trust_bytes.py', 'test_trust_weights.py', 'test_trust_inputs.py',
                            'test_trust_handin.py', 'test_trust_code.py')
             for m in re.findall(r'^def (test_\w+)', (repo / 'tests' / name).read_text(), re.M)}
    assert trust - cited <= {'test_own_work_dir_config_is_used', 'test_reliability_table_names_real_tests'}, \
        sorted(trust - cited)
