"""The developer benchmark scripts run end to end at toy size, so they cannot rot (their numbers live in
docs/BENCHMARKS.md; nothing here is timed)."""
from __future__ import annotations

import json

import pytest

from scripts import bench_evaluate, bench_pipeline


def test_bench_pipeline_times_both_pipelines_and_the_loaders(tmp_path, capsys):
    out = tmp_path / 'pipe.json'
    assert bench_pipeline.main(['--images', '4', '--repeat', '1', '--workers', '0', '--batches', '1',
                                '--out', str(out)]) == 0
    r = json.loads(out.read_text())
    ours = [name for name, _ in r['transforms_ms']]
    mmseg = [name for name, _ in r['mmseg_transforms_ms']]
    assert 'FastRandomCrop' in ours and 'FastPhotoMetricDistortion' in ours
    assert mmseg == [name.removeprefix('Fast') for name in ours]  # the "before" differs in those two steps only
    assert all(ms > 0 for _, ms in r['transforms_ms'] + r['mmseg_transforms_ms'])
    assert abs(r['total_ms'] - sum(ms for _, ms in r['transforms_ms'])) < 1e-9
    assert [x['workers'] for x in r['loader']] == [x['workers'] for x in r['mmseg_loader']] == [0]
    assert r['loader'][0]['images'] == 4 and r['loader'][0]['images_per_s'] > 0
    assert 'cheaper' in capsys.readouterr().out


def test_bench_evaluate_reports_the_ratio_to_the_model(tmp_path):
    out = tmp_path / 'eval.json'
    assert bench_evaluate.main(['--images', '4', '--size', '64', '--model-ms', '5', '--out', str(out)]) == 0
    r = json.loads(out.read_text())
    assert r['model_seconds'] == 4 * 2 * 5 / 1000  # 4 images, flip TTA = 2 views each, 5 ms per view
    # the stand-in sleeps for every view, so wall time can only be at or above the model's time
    assert r['evaluate_ratio'] >= 0.99 and r['submit_ratio'] >= 0.99
    assert r['evaluate_seconds'] == pytest.approx(r['evaluate_ratio'] * r['model_seconds'])
