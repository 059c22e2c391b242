"""utils.train: smoke training, exact resume, corrupt-checkpoint fallback, learnability, clear errors, torchrun."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints
from utils.core.checkpoints import find_resume_checkpoint, list_checkpoints
from utils.core.config import ConfigError, load_config
from utils.train import main, train

REPO = Path(__file__).resolve().parent.parent
SMOKE = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'
SEED_20K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512'
N = 6


def _train_rows(log_dir: Path) -> dict[int, dict]:
    rows = [json.loads(line) for line in (Path(log_dir) / 'vis_data' / 'scalars.json').read_text().splitlines()]
    return {r['step']: r for r in rows if 'loss' in r}


def _train_steps(log_dir: Path) -> list[int]:
    return sorted(_train_rows(log_dir))


def mmcv_cyclic(base: float, it: int, total: int, ratio: tuple[float, float], up_ratio: float = 0.4) -> float:
    """mmcv 1.x's one-cycle cosine value at 0-based iteration ``it`` (written from its documented phases)."""
    up = int(up_ratio * total)
    lo, hi, r0, r1 = (0, up, 1.0, ratio[0]) if it < up else (up, total, ratio[0], ratio[1])
    f = (it - lo) / (hi - lo)
    return base * r1 + (base * r0 - base * r1) * (math.cos(math.pi * f) + 1) / 2


@pytest.fixture(scope='module')
def two_stage(synthetic_root, tmp_path_factory):
    """Train N iterations, then resume the same work_dir to 2N."""
    work = tmp_path_factory.mktemp('resume') / 'wd'
    first = train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=N), resume='auto')
    second = train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=N), max_iters=2 * N, resume='auto')
    return first, second


def test_first_stage_writes_checkpoints_and_marker(two_stage):
    first, _ = two_stage
    assert first['resumed_from'] is None
    assert (first['work_dir'] / checkpoints.WORKDIR_MARKER).is_file()
    assert _train_steps(first['log_dir']) == list(range(1, N + 1))
    assert set(first['metrics']) == {'aAcc', 'mIoU', 'mAcc', 'mDice'}


def test_resume_starts_exactly_where_stage_one_stopped(two_stage):
    first, second = two_stage
    assert second['resumed_from'].name == f'iter_{N}.pth'
    assert _train_steps(second['log_dir']) == list(range(N + 1, 2 * N + 1))
    assert second['checkpoint'].name == f'iter_{2 * N}.pth'
    # the loss history of stage one travelled through the checkpoint
    ckpt = torch.load(second['checkpoint'], map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2 * N
    assert len(ckpt['message_hub']['log_scalars']['train/loss'].data[0]) == 2 * N


def test_stage_change_follows_mmcv_formula_at_every_iteration(two_stage):
    """N iterations, then resumed to 2N with the cycle recomputed over 2N (the seed's 20k -> 30k in small):
    the LR and momentum of every iteration equal mmcv's formula, with no one-iteration lag after the resume."""
    first, second = two_stage
    for result, total in ((first, N), (second, 2 * N)):
        for step, row in _train_rows(result['log_dir']).items():  # step s logs the values of iteration s-1
            assert row['lr'] == pytest.approx(mmcv_cyclic(0.01, step - 1, total, (10, 1e-4)), rel=1e-9), step
            assert row['momentum'] == pytest.approx(mmcv_cyclic(0.9, step - 1, total, (0.85 / 0.95, 1)), rel=1e-9)


def test_a_resume_in_the_same_work_dir_adds_a_session_to_the_record(two_stage):
    """utils.plugins.record across a disconnect: both sessions kept with their iterations, per-class rows of both kept."""
    import pandas as pd

    from utils.plugins.record import PER_CLASS_FILE, read_record

    first, second = two_stage
    sessions = read_record(second['work_dir'])['sessions']
    assert [(s['start_iter'], s['end_iter'], s['finished']) for s in sessions] == [(0, N, True), (N, 2 * N, True)]
    assert sessions[1]['resumed_from'].endswith(f'iter_{N}.pth') and sessions[0]['resumed_from'] is None
    steps = pd.read_csv(second['work_dir'] / PER_CLASS_FILE)['step'].unique().tolist()
    assert steps == [N // 2, N, N + N // 2, 2 * N]


@pytest.fixture(scope='module')
def interrupted(synthetic_root, tmp_path_factory):
    """An uninterrupted 2N run (checkpoint at N), and a second run resumed from its iteration-N checkpoint."""
    work = tmp_path_factory.mktemp('interrupted')
    whole = train(SMOKE, synthetic_root, work / 'whole', smoke=dict(size=64, max_iters=2 * N), resume='none')
    resumed = train(SMOKE, synthetic_root, work / 'resumed', smoke=dict(size=64, max_iters=2 * N),
                    resume=work / 'whole' / f'iter_{N}.pth')
    return whole, resumed


def test_resume_equals_an_uninterrupted_run(interrupted):
    whole, resumed = interrupted
    a, b = _train_rows(whole['log_dir']), _train_rows(resumed['log_dir'])
    assert sorted(b) == list(range(N + 1, 2 * N + 1))
    for step in b:
        assert b[step]['lr'] == a[step]['lr'] and b[step]['momentum'] == a[step]['momentum'], step
    assert len({a[s]['lr'] for s in b}) == N  # the schedule moves at every one of these iterations


def test_a_new_stage_keeps_the_first_stages_best_and_records_its_own(synthetic_root, tmp_path):
    """Stage 2 in its own work_dir (as 03 does): stage 1's best checkpoint is never deleted, and stage 2 saves
    the best of its own validations (MMEngine carried stage 1's best over and deleted its file when beaten)."""
    one, two = tmp_path / 'stage1', tmp_path / 'stage2'
    first = train(SMOKE, synthetic_root, one, smoke=dict(size=64, max_iters=N), resume='auto')
    assert first['best'] is not None
    kept = first['best'].read_bytes()
    second = train(SMOKE, synthetic_root, two, smoke=dict(size=64, max_iters=N), max_iters=2 * N, resume=one)
    assert first['best'].is_file() and first['best'].read_bytes() == kept
    assert second['best'] is not None and second['best'].parent == two
    assert int(second['best'].stem.rsplit('_', 1)[1]) > N  # best_mIoU_iter_<n>.pth of a stage-2 validation
    assert {checkpoints.checkpoint_iter(p) for p in list_checkpoints(two)} <= set(range(N + 1, 2 * N + 1))


def test_truncated_newest_checkpoint_falls_back(two_stage, tmp_path, synthetic_root):
    _, second = two_stage
    work = tmp_path / 'wd'
    checkpoints.mark_work_dir(work)
    older, newest = list_checkpoints(second['work_dir'])[1], list_checkpoints(second['work_dir'])[0]
    shutil.copy(older, work / older.name)
    checkpoints.record_file(work / older.name)  # as training records each checkpoint it writes
    with open(newest, 'rb') as fin, open(work / newest.name, 'wb') as fout:
        fout.write(fin.read(1_000_000))  # a disconnect mid-write
    with pytest.warns(UserWarning, match=f'Skipping unreadable checkpoint.*{newest.name}'):
        assert find_resume_checkpoint(work) == work / older.name
    with pytest.warns(UserWarning, match='Skipping unreadable'):
        result = train(SMOKE, synthetic_root, work, smoke=dict(size=64, max_iters=N), max_iters=2 * N + 1)
    start = int(older.stem.split('_')[1])
    assert result['resumed_from'] == work / older.name
    assert _train_steps(result['log_dir'])[0] == start + 1


def test_untrusted_resume_is_refused(two_stage, tmp_path, synthetic_root):
    first, _ = two_stage
    foreign = tmp_path / 'downloads' / 'iter_6.pth'
    foreign.parent.mkdir()
    shutil.copy(first['checkpoint'], foreign)
    with pytest.raises(checkpoints.UnsafeCheckpointError, match='training did not record these bytes'):
        train(SMOKE, synthetic_root, tmp_path / 'wd2', smoke=dict(size=64, max_iters=N + 2), resume=foreign)


def test_short_cpu_training_learns(synthetic_root, tmp_path):
    """On synthetic faces 100 CPU iterations reach a val mIoU far above chance (all-background: ~2.6)."""
    result = train(SMOKE, synthetic_root, tmp_path / 'learn', smoke=dict(size=64, max_iters=100), resume='none')
    print(f"\nsynthetic val after 100 iterations: {result['metrics']}")
    assert result['metrics']['mIoU'] > 20
    assert result['best'] is not None and result['best'].name.startswith('best_mIoU_iter_')


def test_missing_data_root_is_explained(tmp_path):
    with pytest.raises(ConfigError, match='Data root not found'):
        train(SEED_20K, tmp_path / 'nowhere', tmp_path / 'w')
    (tmp_path / 'd' / 'train' / 'train_image').mkdir(parents=True)
    with pytest.raises(ConfigError, match='Missing split folder .*train_mask'):
        train(SEED_20K, tmp_path / 'd', tmp_path / 'w')


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert main(['no_such_config', '--data-root', str(tmp_path), '--work-dir', str(tmp_path / 'w')]) == 2
    assert 'error: Unknown config' in capsys.readouterr().err
    assert main([SEED_20K, '--data-root', str(tmp_path / 'none'), '--work-dir', str(tmp_path / 'w')]) == 2
    assert 'error: Data root not found' in capsys.readouterr().err


def test_amp_on_cpu_warns_and_keeps_fp32(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('has a GPU')
    with pytest.warns(UserWarning, match='AMP needs a CUDA GPU'):
        cfg = load_config(SMOKE, work_dir=tmp_path, amp=True)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_torchrun_launcher_path(synthetic_root, tmp_path):
    """The same entry point under torchrun with MMEngine's pytorch launcher (1 CPU process, gloo)."""
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '1', '--master_port', '29517',
           '-m', 'utils.train', SMOKE, '--data-root', str(synthetic_root), '--work-dir', str(tmp_path / 'dist'),
           '--max-iters', '2', '--launcher', 'pytorch', '--resume', 'none']
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'Distributed training: True' in out.stdout + out.stderr
    assert (tmp_path / 'dist' / 'iter_2.pth').is_file()


def test_resume_from_work_dirs_in_order_verifies_each_checkpoint_once(two_stage, tmp_path, monkeypatch):
    """03 passes (its own work_dir, stage 1's): the first with an intact checkpoint wins, read once (not twice)."""
    from utils import train as train_module

    work = two_stage[1]['work_dir']
    calls = []
    real = checkpoints.verify_checkpoint
    monkeypatch.setattr(checkpoints, 'verify_checkpoint', lambda p: (calls.append(Path(p)), real(p))[1])
    found = train_module._resolve_resume((tmp_path / 'stage2-empty', work), None)
    assert found == list_checkpoints(work)[0] and calls == [found]
    with pytest.raises(train_module.TrainError, match='No readable iter_'):
        train_module._resolve_resume((tmp_path / 'a', tmp_path / 'b'), None)
