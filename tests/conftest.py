"""Shared fixtures: one synthetic dataset and one smoke-trained checkpoint per test session."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault('MPLBACKEND', 'Agg')
# the run's trust key (utils.core.env.trust_key_path) lives in a folder of this test session, not in ~/.config
# (made only when not given, and removed when the session ends: the folders do not pile up in /tmp)
if not os.environ.get('CELEBAMASK_STATE'):
    os.environ['CELEBAMASK_STATE'] = tempfile.mkdtemp(prefix='celebamask-state-')
    atexit.register(shutil.rmtree, os.environ['CELEBAMASK_STATE'], True)

SMOKE_CONFIG = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """A 64px synthetic dataset in the course layout: 40 train, 12 val, 12 test (with test masks)."""
    from utils.core.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp('data') / 'synthetic', 40, 12, 12, size=64,
                                  progress=False)


@pytest.fixture(scope='session')
def smoke_run(synthetic_root, tmp_path_factory) -> dict:
    """The seed recipe trained for 20 smoke iterations on ``synthetic_root`` (result dict of utils.train.train)."""
    from utils.train import train

    work_dir = tmp_path_factory.mktemp('work') / 'smoke'
    return train(SMOKE_CONFIG, synthetic_root, work_dir, smoke=dict(size=64, max_iters=20), resume='none')


#: Per validation of ``resumed_run``: its step, logits and labels, kept by a test-only hook (tests/test_record.py
#: computes the val loss from them without utils.plugins.record).
CAPTURED_VAL: list[dict] = []


@pytest.fixture(scope='session')
def resumed_run(synthetic_root, tmp_path_factory) -> tuple[dict, dict]:
    """The seed recipe in small, as 02 and 03 run it: stage 1 trains 4 iterations (validating every 2), stage 2
    resumes it into its own work_dir to 8. Returns both results of utils.train.train."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    from utils.train import train

    @HOOKS.register_module(force=True)
    class CaptureValLogits(Hook):
        priority = 'VERY_LOW'

        def before_val_epoch(self, runner) -> None:
            CAPTURED_VAL.append({'step': runner.iter, 'logits': [], 'labels': []})

        def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            for s in outputs:
                CAPTURED_VAL[-1]['logits'].append(s.seg_logits.data.detach().float().cpu())
                CAPTURED_VAL[-1]['labels'].append(s.gt_sem_seg.data.squeeze(0).cpu())

    CAPTURED_VAL.clear()
    root = tmp_path_factory.mktemp('resumed')
    hooks = [dict(type='CaptureValLogits')]
    first = train(SMOKE_CONFIG, synthetic_root, root / 'stage1', smoke=dict(size=64, max_iters=4), resume='none',
                  extra_hooks=hooks)
    second = train(SMOKE_CONFIG, synthetic_root, root / 'stage2', smoke=dict(size=64, max_iters=4), max_iters=8,
                   resume=root / 'stage1', extra_hooks=hooks)
    return first, second


@pytest.fixture(scope='session')
def captured_val(resumed_run) -> list[dict]:
    """What the test-only hook of ``resumed_run`` kept at each validation: step, logits and labels."""
    return CAPTURED_VAL
