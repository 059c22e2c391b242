"""Compatibility with today's stack: mmcv-lite, which has no compiled ops.

mmcv-lite has no ``mmcv._ext``, yet a few MMSeg modules import ``mmcv.ops`` unconditionally, so
``import mmseg.models`` fails. When (and only when) ``_ext`` is missing, an import hook serves a small
pure-PyTorch ``mmcv.ops`` with ``point_sample`` and ``sigmoid_focal_loss``; any other name raises
``ModuleNotFoundError``, which MMSeg already handles for its optional ops. With the full mmcv
installed nothing is changed. (Checkpoint loading under torch>=2.6 lives in ``utils.core.checkpoints``.)
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys


# --------------------------------------------------------------------------- mmcv.ops fallback
def _point_sample(input, points, align_corners: bool = False, **kwargs):
    """Pure-PyTorch ``mmcv.ops.point_sample``: sample ``input`` at normalised [0, 1] ``points``."""
    import torch.nn.functional as F

    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    out = F.grid_sample(input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if add_dim else out


def _sigmoid_focal_loss(input, target, gamma: float = 2.0, alpha: float = 0.25, weight=None,
                        reduction: str = 'mean'):
    """Pure-PyTorch ``mmcv.ops.sigmoid_focal_loss`` (``input`` N x C logits, ``target`` N class ids)."""
    import torch
    import torch.nn.functional as F

    num_classes = input.size(1)
    onehot = F.one_hot(target.clamp(0, num_classes), num_classes + 1)[:, :num_classes].to(input.dtype)
    prob = input.sigmoid()
    pt = torch.where(onehot > 0, prob, 1 - prob)
    at = torch.where(onehot > 0, torch.full_like(prob, alpha), torch.full_like(prob, 1 - alpha))
    loss = -at * (1 - pt).pow(gamma) * torch.log(pt.clamp_min(1e-12))
    if weight is not None:
        loss = loss * weight.view(1, -1)
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


def _ops_getattr(name: str):
    if name.startswith('__'):
        raise AttributeError(name)
    raise ModuleNotFoundError(
        f"mmcv.ops.{name} needs the compiled mmcv (mmcv._ext); this environment has mmcv-lite, "
        "which only the pure-PyTorch point_sample and sigmoid_focal_loss are provided for. "
        "Install the full mmcv to use this op.", name='mmcv._ext')


def _has_compiled_mmcv(search_path) -> bool:
    for base in search_path or []:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        if any(n.startswith('_ext') for n in names):
            return True
    return False


class _LiteOpsLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.point_sample = _point_sample
        module.sigmoid_focal_loss = _sigmoid_focal_loss
        module.__getattr__ = _ops_getattr
        module.__all__ = ['point_sample', 'sigmoid_focal_loss']
        module.IS_LITE_FALLBACK = True


class _LiteOpsFinder(importlib.abc.MetaPathFinder):
    """Serves the fallback ``mmcv.ops`` only when ``mmcv._ext`` is absent."""

    def find_spec(self, fullname, path, target=None):
        if fullname != 'mmcv.ops' or _has_compiled_mmcv(path):
            return None
        return importlib.machinery.ModuleSpec(fullname, _LiteOpsLoader(), is_package=False)


def install() -> None:
    """Install the ``mmcv.ops`` import hook (idempotent, imports nothing by itself)."""
    if not any(isinstance(f, _LiteOpsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LiteOpsFinder())


def using_mmcv_lite() -> bool:
    """True when ``mmcv.ops`` is this module's pure-PyTorch fallback."""
    import mmcv.ops

    return bool(getattr(mmcv.ops, 'IS_LITE_FALLBACK', False))
