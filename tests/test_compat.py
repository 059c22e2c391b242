"""utils.core.compat: mmseg imports with mmcv-lite, and the checkpoint-loading policy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from utils.core import checkpoints

REPO = Path(__file__).resolve().parent.parent


def test_mmseg_models_import_with_mmcv_lite():
    code = ('import utils, mmseg.models\n'
            'from mmcv.ops import point_sample\n'
            'from utils.core.compat import using_mmcv_lite\n'
            'print(using_mmcv_lite())\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith('True')


def test_without_shim_mmseg_models_fails_on_mmcv_lite():
    """The shim is needed: a fresh interpreter that skips it cannot import mmseg.models."""
    out = subprocess.run([sys.executable, '-c', 'import mmseg.models'], cwd='/', capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and 'mmcv._ext' in out.stderr


def test_other_ops_raise_module_not_found():
    import mmcv.ops

    with pytest.raises(ModuleNotFoundError, match='compiled mmcv'):
        mmcv.ops.roi_align  # noqa: B018


def test_point_sample_matches_manual_bilinear():
    from mmcv.ops import point_sample

    feat = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    # the centre of pixel (row 1, col 2) in normalised [0, 1] coordinates (align_corners=False)
    pts = torch.tensor([[[2.5 / 4, 1.5 / 4], [1.0 / 4, 1.0 / 4]]])
    out = point_sample(feat, pts)
    assert out.shape == (1, 1, 2)
    assert out[0, 0, 0].item() == pytest.approx(6.0)  # exactly pixel value at row 1, col 2
    assert out[0, 0, 1].item() == pytest.approx((0 + 1 + 4 + 5) / 4)  # corner between 4 pixels


def test_sigmoid_focal_loss_matches_reference_formula():
    from mmcv.ops import sigmoid_focal_loss

    torch.manual_seed(0)
    logits, target = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 1, 0])
    got = sigmoid_focal_loss(logits, target, 2.0, 0.25, None, 'none')
    p = logits.sigmoid()
    t = torch.nn.functional.one_hot(target, 4).float()
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, t, reduction='none')
    pt = p * t + (1 - p) * (1 - t)
    ref = (0.25 * t + 0.75 * (1 - t)) * (1 - pt) ** 2 * ce
    assert torch.allclose(got, ref, atol=1e-6)


class _Evil:
    def __reduce__(self):
        return (os.system, ('touch /tmp/celebamask-pwned',))


def test_foreign_checkpoint_with_code_is_refused(tmp_path):
    target = Path('/tmp/celebamask-pwned')
    target.unlink(missing_ok=True)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'payload': _Evil()}, path)
    with pytest.raises(checkpoints.UnsafeCheckpointError, match='system'):
        checkpoints.safe_load_checkpoint(path)
    assert not target.exists()


def test_plain_state_dict_loads_weights_only(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'a.weight': torch.ones(3)}}, path)
    state = checkpoints.extract_state_dict(checkpoints.safe_load_checkpoint(path))
    assert torch.equal(state['a.weight'], torch.ones(3))


def test_mmengine_checkpoint_loads_guarded(smoke_run):
    ckpt = checkpoints.safe_load_checkpoint(smoke_run['checkpoint'])
    state = checkpoints.extract_state_dict(ckpt)
    assert 'decode_head.conv_seg.weight' in state
    assert isinstance(ckpt['meta']['cfg'], str)  # plain metadata survives, bookkeeping objects are inert


def test_truncated_and_empty_checkpoints_are_reported(tmp_path, smoke_run):
    src = Path(smoke_run['checkpoint'])
    half = tmp_path / 'iter_2.pth'
    with open(src, 'rb') as fin, open(half, 'wb') as fout:
        fout.write(fin.read(src.stat().st_size // 2))
    with pytest.raises(checkpoints.CheckpointError, match='truncated|corrupt'):
        checkpoints.safe_load_checkpoint(half)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(checkpoints.CheckpointError, match='empty'):
        checkpoints.safe_load_checkpoint(empty)
    with pytest.raises(checkpoints.CheckpointError, match='not found'):
        checkpoints.safe_load_checkpoint(tmp_path / 'nope.pth')


def test_trust_requires_bytes_that_training_recorded(tmp_path, smoke_run):
    from utils.base import trust

    assert checkpoints.is_trusted_checkpoint(smoke_run['checkpoint'])
    copy = tmp_path / 'iter_20.pth'
    shutil.copy(smoke_run['checkpoint'], copy)
    assert not checkpoints.is_trusted_checkpoint(copy)
    checkpoints.mark_work_dir(tmp_path)
    assert not checkpoints.is_trusted_checkpoint(copy)  # a marked folder alone trusts no file in it
    trust.record_file(copy)  # what training (or `trust DIR`) does for a file it vouches for
    assert checkpoints.is_trusted_checkpoint(copy)


def test_mmengine_local_loader_uses_policy(tmp_path):
    """load_from of a foreign file goes through the guarded loader, even inside MMEngine."""
    from mmengine.runner.checkpoint import _load_checkpoint

    checkpoints.install_checkpoint_policy()
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    with pytest.raises(checkpoints.UnsafeCheckpointError):
        _load_checkpoint(str(path), map_location='cpu')
    checkpoints.mark_work_dir(tmp_path)  # marked, but outside a resume: still guarded
    with pytest.raises(checkpoints.UnsafeCheckpointError):
        _load_checkpoint(str(path), map_location='cpu')
