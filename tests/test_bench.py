"""utils.bench: the CLI runs end to end at a tiny size and reports every measurement (no timing asserted)."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope='module')
def bench_result(tmp_path_factory):
    from utils.bench import main

    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    rc = main(['--size', '32', '--batch-size', '2', '--iters', '1', '--warmup', '0', '--workers', '0', '1',
               '--loader-batches', '1', '--n-images', '4', '--channels-last', '--flops', '--quiet',
               '--out', str(out)])
    assert rc == 0
    return json.loads(out.read_text())


def test_bench_reports_every_section(bench_result):
    import torch

    r = bench_result
    assert r['config'].startswith('deeplabv3plus_r50-d8_flipswap-aug') and r['size'] == 32
    assert sorted({x['workers'] for x in r['loader']}) == [0, 1]
    assert all(x['images_per_s'] > 0 and x['images'] >= 2 for x in r['loader'])
    assert {'fp32', 'fp32+channels_last'} <= set(r['train'])
    for name in ('fp32', 'fp32+channels_last'):
        t = r['train'][name]
        assert t['s_per_iter'] > 0 and t['it_per_s'] == pytest.approx(1 / t['s_per_iter'])
        assert t['peak_mem_mb'] > 0 and len(t['times']) == 1
    assert {'fp32/none', 'fp32/flip'} <= set(r['infer'])
    if not torch.cuda.is_available():
        assert r['train']['amp'] == 'n/a (no GPU)' and r['infer']['amp'] == 'n/a (no GPU)'
        assert r['cudnn_benchmark'] == 'n/a (no GPU)'
    f = r['flops']
    assert f['forward'] > 0 and f['train_iter'] == pytest.approx(3 * f['forward'])
    assert f['per_image_forward'] == pytest.approx(f['forward'] / 2)


def test_forward_flops_scale_with_pixels():
    """R50-D8 is fully convolutional: forward FLOPs per image grow ~4x when the side doubles."""
    import tempfile
    from pathlib import Path

    from utils.bench import bench_config, count_train_flops, fetch_batches, make_data
    from utils.core.model import init_registries

    init_registries()
    per_image = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (32, 64):
            root = make_data(Path(tmp) / f's{size}', 2, size, progress=False)
            cfg = bench_config('deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', root, size, 2)
            batch = fetch_batches(cfg, 1)[0]
            per_image[size] = count_train_flops(cfg, batch)['per_image_forward']
    assert 3.5 < per_image[64] / per_image[32] < 4.5


def test_table_names_device_and_sections(bench_result):
    from utils.bench import table

    text = table(bench_result)
    assert bench_result['device'] in text
    for word in ('data loader', 'training', 'inference', 'FLOPs', 'peak memory'):
        assert word in text


def test_help_and_bad_size(capsys):
    from utils.bench import main

    with pytest.raises(SystemExit) as exc:
        main(['--help'])
    assert exc.value.code == 0
    assert '--channels-last' in capsys.readouterr().out
    assert main(['--size', '30', '--quiet']) == 2
    assert 'multiple of 8' in capsys.readouterr().err


def test_time_calls_and_peak_memory():
    from utils.bench import peak_memory_mb, time_calls

    calls = []
    times = time_calls(calls.append, iters=3, warmup=2, device='cpu')
    assert calls == [0, 1, 2, 3, 4] and len(times) == 3 and all(t >= 0 for t in times)
    assert peak_memory_mb('cpu') > 0
