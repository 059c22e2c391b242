"""Shared fixtures: one synthetic dataset and one smoke-trained checkpoint per test session."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault('MPLBACKEND', 'Agg')
# the run's trust key (utils.env.trust_key_path) lives in a folder of this test session, not in ~/.config
os.environ.setdefault('CELEBAMASK_STATE', tempfile.mkdtemp(prefix='celebamask-state-'))

SMOKE_CONFIG = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """A 64px synthetic dataset in the course layout: 40 train, 12 val, 12 test (with test masks)."""
    from utils.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp('data') / 'synthetic', 40, 12, 12, size=64,
                                  progress=False)


@pytest.fixture(scope='session')
def smoke_run(synthetic_root, tmp_path_factory) -> dict:
    """The seed recipe trained for 20 smoke iterations on ``synthetic_root`` (result dict of utils.train.train)."""
    from utils.train import train

    work_dir = tmp_path_factory.mktemp('work') / 'smoke'
    return train(SMOKE_CONFIG, synthetic_root, work_dir, smoke=dict(size=64, max_iters=20), resume='none')
