"""Compatibility with today's stack: mmcv-lite without compiled ops, and torch>=2.6 checkpoint loading.

1. ``mmcv.ops`` fallback. mmcv-lite has no ``mmcv._ext``, yet a few MMSeg modules import
   ``mmcv.ops`` unconditionally, so ``import mmseg.models`` fails. When (and only when) ``_ext``
   is missing, an import hook serves a small pure-PyTorch ``mmcv.ops`` with ``point_sample`` and
   ``sigmoid_focal_loss``; any other name raises ``ModuleNotFoundError``, which MMSeg already
   handles for its optional ops. With the full mmcv installed nothing is changed.
2. Checkpoint policy. torch>=2.6 loads ``weights_only=True`` by default, which cannot read
   MMEngine's resume state (it pickles ``HistoryBuffer``, numpy objects and ``builtins.getattr``;
   allow-listing those would allow code execution again). So:
   * **resume** from a work_dir that this project's training wrote (it carries the marker file
     :data:`WORKDIR_MARKER`) is *trusted*: the file is unpickled in full, as MMEngine needs;
   * **every other checkpoint** (``load_from``, a file given to evaluate or submit) is read by a
     guarded unpickler: tensors and plain containers load, MMEngine/numpy bookkeeping objects are
     replaced by inert placeholders (never constructed), and any other global, e.g.
     ``os.system``, makes the load fail with :class:`UnsafeCheckpointError`. No code from the
     file ever runs. ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is never set.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import io
import os
import pickle
import sys
import types
import zipfile
from pathlib import Path
from typing import Any, Iterator

#: File that ``utils.train`` writes into each work_dir it creates; checkpoints next to it are trusted for resume.
WORKDIR_MARKER = '.celebamask-workdir'


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


# --------------------------------------------------------------------------- checkpoint policy
class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated or not a PyTorch checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint would need arbitrary code to be unpickled."""


#: Globals that MMEngine/numpy bookkeeping pickles into checkpoints: replaced by inert placeholders.
_INERT_MODULE_PREFIXES = ('mmengine.', 'numpy', '_codecs')
_INERT_GLOBALS = {('builtins', 'getattr'), ('builtins', 'set'), ('builtins', 'frozenset'),
                  ('builtins', 'slice'), ('builtins', 'complex'), ('collections', 'defaultdict')}


_PY2_MODULES = {'__builtin__': 'builtins', 'copy_reg': 'copyreg'}


class _Inert:
    """Stand-in for an object the guarded unpickler will not construct; absorbs any state."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __repr__(self) -> str:
        return f'<not loaded: {getattr(type(self), "qualname", "object")}>'


def _torch_safe_globals() -> dict[str, Any]:
    import torch

    try:  # torch's own list of what weights_only=True may construct
        from torch._weights_only_unpickler import _get_allowed_globals

        return dict(_get_allowed_globals())
    except Exception:  # pragma: no cover - private API moved
        import collections

        return {'collections.OrderedDict': collections.OrderedDict,
                'torch._utils._rebuild_tensor_v2': torch._utils._rebuild_tensor_v2,
                'torch._utils._rebuild_parameter': torch._utils._rebuild_parameter}


class _GuardedUnpickler(pickle.Unpickler):
    def __init__(self, *args, source: str = '<checkpoint>', **kwargs):
        super().__init__(*args, **kwargs)
        self._safe = _torch_safe_globals()
        self._source = source

    def find_class(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)  # torch pickles with protocol 2 names
        key = f'{module}.{name}'
        if key in self._safe:
            return self._safe[key]
        if module.startswith(_INERT_MODULE_PREFIXES) or (module, name) in _INERT_GLOBALS:
            return type(name, (_Inert,), {'qualname': key})
        raise UnsafeCheckpointError(
            f"Refusing to load {self._source}: it asks to unpickle '{key}', which could run code. "
            'Only tensors, plain containers and MMEngine bookkeeping are accepted from checkpoints '
            'outside this project\'s own work_dirs. If you made this file yourself, re-save its '
            "weights with torch.save({'state_dict': model.state_dict()}, path).")


def _guarded_pickle_module(source: str) -> types.ModuleType:
    mod = types.ModuleType('guarded_pickle')

    class Unpickler(_GuardedUnpickler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, source=source, **kwargs)

    mod.Unpickler = Unpickler
    mod.load = lambda f, **kw: Unpickler(f, **kw).load()
    mod.loads = lambda b, **kw: Unpickler(io.BytesIO(b), **kw).load()
    mod.__name__ = 'guarded_pickle'
    return mod


def check_checkpoint_file(path: str | os.PathLike) -> None:
    """Raise :class:`CheckpointError` if ``path`` is missing or is not a complete PyTorch zip checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'Checkpoint not found: {path}. Check the path, or list the work_dir to '
                              'see which iter_*.pth / best_*.pth files exist.')
    if path.stat().st_size == 0:
        raise CheckpointError(f'Checkpoint {path} is empty (0 bytes): it was never written. Delete it '
                              'and use the previous checkpoint.')
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise CheckpointError(f'Checkpoint {path} is corrupt ({exc}); it was probably cut off while '
                                  'being written. Delete it and use the previous checkpoint.') from exc
        if not any(n.endswith('data.pkl') for n in names):
            raise CheckpointError(f'{path} is a zip file but not a PyTorch checkpoint (no data.pkl inside).')
        return
    with open(path, 'rb') as fh:
        head = fh.read(2)
    if head[:1] != b'\x80':  # legacy (non-zip) torch.save files start with a pickle protocol opcode
        raise CheckpointError(f'{path} is not a PyTorch checkpoint, or it is truncated (a complete '
                              'checkpoint is a zip archive). Delete it and use the previous checkpoint.')


def safe_load_checkpoint(path: str | os.PathLike, map_location: Any = 'cpu') -> dict:
    """Load a checkpoint from anywhere without running code from it (see module docstring)."""
    import torch

    check_checkpoint_file(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass  # MMEngine metadata: retry with the guarded unpickler below
    except Exception as exc:
        raise CheckpointError(f'Could not read checkpoint {path}: {exc}') from exc
    try:
        return torch.load(path, map_location=map_location, weights_only=False,
                          pickle_module=_guarded_pickle_module(str(path)))
    except UnsafeCheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f'Could not read checkpoint {path}: {exc}') from exc


def extract_state_dict(checkpoint: dict, source: str = '<checkpoint>') -> dict:
    """Model weights from an MMEngine/MMSeg checkpoint dict (``state_dict`` or ``model`` key, or the dict itself)."""
    import torch

    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{source} holds a {type(checkpoint).__name__}, not a dict of weights.')
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in checkpoint.items()
             if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(f'{source} contains no tensors: it is not a model checkpoint.')
    return state


def mark_work_dir(work_dir: str | os.PathLike) -> None:
    """Mark ``work_dir`` as written by this project's training, so its checkpoints may be resumed."""
    path = Path(work_dir)
    path.mkdir(parents=True, exist_ok=True)
    marker = path / WORKDIR_MARKER
    if not marker.exists():
        marker.write_text('Checkpoints in this folder were written by celebamask-parsing training and '
                          'are trusted for resume (full unpickling). Do not put files from elsewhere here.\n')


def is_trusted_checkpoint(path: str | os.PathLike) -> bool:
    """True when ``path`` lies in a work_dir marked by :func:`mark_work_dir`."""
    return (Path(path).resolve().parent / WORKDIR_MARKER).is_file()


_TRUSTED = False


@contextlib.contextmanager
def trusted_resume() -> Iterator[None]:
    """Within this block, checkpoints in marked work_dirs are unpickled in full (for MMEngine resume)."""
    global _TRUSTED
    previous, _TRUSTED = _TRUSTED, True
    try:
        yield
    finally:
        _TRUSTED = previous


def _policy_local_loader(filename: str, map_location=None) -> dict:
    import torch

    filename = os.path.expanduser(filename)
    check_checkpoint_file(filename)
    if _TRUSTED and is_trusted_checkpoint(filename):
        return torch.load(filename, map_location=map_location, weights_only=False)
    return safe_load_checkpoint(filename, map_location=map_location)


def install_checkpoint_policy() -> None:
    """Route MMEngine's local checkpoint loading through this module's policy (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    if CheckpointLoader._schemes.get('') is not _policy_local_loader:
        CheckpointLoader.register_scheme(prefixes='', loader=_policy_local_loader, force=True)
