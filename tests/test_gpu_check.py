"""utils.gpu_check: the dry run executes every section on the CPU (so the GPU command cannot rot); helpers."""
from __future__ import annotations

import json

import pytest
import torch

from utils import gpu_check


@pytest.fixture(scope='module')
def dry(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_check')
    rc = gpu_check.main(['--dry-run', '--quiet', '--out', str(out)])
    return rc, json.loads((out / 'gpu_check.json').read_text()), (out / 'gpu_check.md').read_text()


def test_dry_run_passes_and_reports_every_section(dry):
    rc, r, md = dry
    assert rc == 0 and r['ok'] and r['dry_run']
    assert set(r['speed']) == {'seed', 'improved', 'improved-r101', 'swin-b', 'segformer-b3',
                               'bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s'}
    for speeds in r['speed'].values():
        assert {'fp32', 'fp32+channels_last'} <= set(speeds)
        assert all(speeds[v]['s_per_iter'] > 0 for v in ('fp32', 'fp32+channels_last'))
        assert all(speeds[v]['warmup_peak_mem_mb'] > 0 for v in ('fp32', 'fp32+channels_last'))
    assert [r['speed'][k]['schedule_iters'] for k in ('seed', 'swin-b', 'segformer-b3')] == [20000, 16000, 30000]
    assert {r['speed'][k]['schedule_iters'] for k in ('bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s')} == {22500}
    assert gpu_check.batch_size('bisenetv2-slim', gpu_check.FULL) == 8 and gpu_check.batch_size('seed', gpu_check.FULL) == 4
    a = r['amp_resume']
    assert a['ok'] and a['compared_steps'] == a['expected_steps'] == 3 and a['resumed_first_step'] == 4
    assert a['lr_max_abs_diff'] == 0 and a['momentum_max_abs_diff'] == 0 and a['loss_all_finite']
    assert a['lr_vs_mmcv_formula_max_rel_diff'] < 1e-9
    e = r['eval_pace']
    assert e['images'] == 4 and e['evaluate_ratio'] > 0.5 and e['submit_ratio'] > 0.5
    assert all(f['fits'] is None for f in r['t4_fit'].values())
    assert '| seed | fp32 |' in md and '| swin-b | fp32 |' in md and 'AMP + resume' in md and 'Evaluation pace' in md
    assert 'peak reserved' in md and r['checks']['t4_fit'] is None  # no GPU: the T4 fit is not judged


def test_card_specs_and_t4_projection():
    assert gpu_check.card_spec('NVIDIA H200')[0] == 'H200'
    assert gpu_check.card_spec('NVIDIA H100 PCIe')[0] == 'H100 PCIe'
    assert gpu_check.card_spec('NVIDIA H100 80GB HBM3')[0] == 'H100'
    assert gpu_check.card_spec('Tesla T4')[1:] == (65.0, 320.0)
    assert gpu_check.card_spec('Some Future GPU') is None
    fake = dict(device=dict(gpu_name='NVIDIA H200'),
                speed=dict(seed={'config': 'x', 'schedule_iters': 16000, 'fp32': dict(s_per_iter=0.07),
                                 'amp+channels_last': dict(s_per_iter=0.05)}))
    p = gpu_check.project_t4(fake)
    assert p['ratio_tflops'] == pytest.approx(989 / 65) and p['ratio_bandwidth'] == pytest.approx(4800 / 320)
    lo, hi = p['rows']['seed amp+channels_last']['s_per_iter']
    assert lo == pytest.approx(0.05 * 15.0) and hi == pytest.approx(0.05 * 989 / 65)
    assert list(p['rows']) == ['seed amp+channels_last']  # FP32 is never projected (TF32 on big cards)
    row = p['rows']['seed amp+channels_last']
    assert row['schedule_iters'] == 16000 and row['hours_schedule'][0] == pytest.approx(lo * 16000 / 3600)
    assert 'no projection' in gpu_check.project_t4(dict(device=dict(gpu_name='Some Future GPU'), speed={}))['note']


def test_loss_scale_hook_logs_the_scaler():
    from types import SimpleNamespace

    logged = {}
    hub = SimpleNamespace(update_scalar=lambda k, v: logged.__setitem__(k, v))
    scaler = SimpleNamespace(get_scale=lambda: 32768.0)
    hook = gpu_check.LossScaleLoggerHook()
    hook.after_train_iter(SimpleNamespace(optim_wrapper=SimpleNamespace(loss_scaler=scaler), message_hub=hub), 0)
    assert logged == {'train/loss_scale': 32768.0}
    hook.after_train_iter(SimpleNamespace(optim_wrapper=SimpleNamespace(), message_hub=hub), 0)  # FP32: nothing
    assert len(logged) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason='has a GPU')
def test_without_a_gpu_it_says_so(tmp_path, capsys):
    assert gpu_check.main(['--out', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'No CUDA GPU' in err and 'Runtime > Change runtime type' in err and '--dry-run' in err


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_peak_memory_is_measured_after_the_warm_up(tmp_path):
    """On a GPU: the steady-state peak never exceeds the warm-up's (cuDNN's search happens in the warm-up)."""
    from utils import bench
    from utils.core.config import RECIPES
    from utils.core.synthetic import make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path / 'd', 8, 2, 0, size=512, progress=False)
    cfg = bench.bench_config(RECIPES['seed'][0], root, 512, 4)
    r = bench.bench_train(cfg, bench.fetch_batches(cfg, 2), 'cuda', False, False, 2, 2)
    assert 0 < r['peak_mem_mb'] <= r['warmup_peak_mem_mb'] and r['peak_reserved_mb'] >= r['peak_mem_mb']
