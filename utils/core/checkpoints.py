"""Checkpoints: safe loading under torch>=2.6, the trusted work_dir, finding the newest readable one, listing.

torch>=2.6 loads ``weights_only=True`` by default, which cannot read MMEngine's resume state (it
pickles ``HistoryBuffer``, numpy objects and ``builtins.getattr``; allow-listing those would allow
code execution again). So:

* **resume** of a checkpoint whose bytes this run's training recorded (:mod:`utils.base.trust`: the ledger beside
  the work_dir's marker, signed with the run's key) is *trusted*: the file is read once, its SHA-256 checked,
  and those same bytes are unpickled in full, as MMEngine needs; anything else asking for that is refused;
* **every other checkpoint** (``load_from``, a file given to evaluate or submit) is read by a guarded
  unpickler: tensors and plain containers load, MMEngine/numpy bookkeeping objects are replaced by
  inert placeholders (never constructed), and any other global, e.g. ``os.system``, makes the load
  fail with :class:`UnsafeCheckpointError`. No code from the file ever runs.
  ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is never set.

Evaluate, submit and the hand-in take a checkpoint through :func:`open_checkpoint`: one
:class:`OpenedCheckpoint` per file, whose bytes are read once, hashed (SHA-256, the checkpoint's identity
everywhere), checked against the ledger and unpickled from memory, and whose config is resolved and parsed once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
import re
import types
import warnings
import zipfile
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator
from utils.base.layout import KnownError
from utils.base.trust import (LEDGER, WORKDIR_MARKER, file_is_recorded, is_recorded, mark_work_dir,  # noqa: F401
                              not_recorded_message, record_file, sha256_bytes, sha256_file, vouch_hint, why_not_ours,
                              work_dir_is_ours)

_ITER_CKPT = re.compile(r'^iter_(\d+)\.pth$')


class CheckpointError(KnownError, RuntimeError):
    """A checkpoint file is missing, truncated or not a PyTorch checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint would need arbitrary code to be unpickled."""


class CheckpointLoadError(CheckpointError):
    """A file that looks like a complete checkpoint could not be unpickled (cut off inside, or another format)."""


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
    path = _existing(path)
    _check_format(path, path, path.stat().st_size)


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'Checkpoint not found: {path}. Check the path, or list the work_dir to '
                              'see which iter_*.pth / best_*.pth files exist.')
    return path


def _check_format(source: Path | io.BytesIO, path: Path, size: int) -> None:
    """The checks of :func:`check_checkpoint_file` on the file ``source`` or on its bytes (``io.BytesIO``)."""
    if size == 0:
        raise CheckpointError(f'Checkpoint {path} is empty (0 bytes): it was never written. Delete it '
                              'and use the previous checkpoint.')
    if zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise CheckpointError(f'Checkpoint {path} is corrupt ({exc}); it was probably cut off while '
                                  'being written. Delete it and use the previous checkpoint.') from exc
        if not any(n.endswith('data.pkl') for n in names):
            raise CheckpointError(f'{path} is a zip file but not a PyTorch checkpoint (no data.pkl inside).')
        return
    if isinstance(source, io.BytesIO):
        head = source.getvalue()[:2]
    else:
        with open(source, 'rb') as fh:
            head = fh.read(2)
    if head[:1] != b'\x80':  # legacy (non-zip) torch.save files start with a pickle protocol opcode
        raise CheckpointError(f'{path} is not a PyTorch checkpoint, or it is truncated (a complete '
                              'checkpoint is a zip archive). Delete it and use the previous checkpoint.')


def safe_load_checkpoint(path: str | os.PathLike, map_location: Any = 'cpu') -> dict:
    """Load a checkpoint from anywhere without running code from it (see module docstring)."""
    check_checkpoint_file(path)
    return _load_safely(lambda: path, str(path), map_location)


def _load_safely(source: Callable[[], Any], name: str, map_location: Any) -> Any:
    """``torch.load`` of ``source()`` (a path, or a fresh ``io.BytesIO`` per call) weights-only, else with the
    guarded unpickler; never runs code from the file."""
    import torch

    try:
        return torch.load(source(), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass  # MMEngine metadata: retry with the guarded unpickler below
    except Exception as exc:
        raise CheckpointLoadError(f'Could not read checkpoint {name}: {exc}') from exc
    try:
        return torch.load(source(), map_location=map_location, weights_only=False,
                          pickle_module=_guarded_pickle_module(name))
    except UnsafeCheckpointError:
        raise
    except Exception as exc:
        raise CheckpointLoadError(f'Could not read checkpoint {name}: {exc}') from exc


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


class UntrustedWorkDirError(CheckpointError):
    """A work_dir holds checkpoints that this project's training did not write."""


class UntrustedCheckpointError(UnsafeCheckpointError):
    """A checkpoint asked to be unpickled in full whose bytes training did not record."""


def claim_work_dir(work_dir: str | os.PathLike) -> Path:
    """Let training write into ``work_dir``: new, empty, without checkpoints, or already marked as ours.

    A folder that already holds ``.pth`` files but no valid marker of this run was not written by this run's
    training (or was moved, or its marker copied in); it is refused with :class:`UntrustedWorkDirError`, which
    says which (naming the key when it changed) and offers ``trust`` for one's own folder, ``load_from`` otherwise.
    """
    path = Path(work_dir)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f'work_dir {path} is a file; choose a folder (e.g. --work-dir work_dirs/run1).')
    if path.is_dir() and not work_dir_is_ours(path):
        foreign = sorted(p.name for p in path.glob('*.pth'))
        if foreign:
            raise UntrustedWorkDirError(
                f'{path} holds checkpoints ({", ".join(foreign[:3])}{", ..." if len(foreign) > 3 else ""}) that '
                f'this run\'s training did not write: {why_not_ours(path)}. Resuming would unpickle them in full, '
                f'which can run code, so nothing was done. {vouch_hint(path)} Otherwise train into a new --work-dir; '
                'starting from '
                f'their weights (--cfg-options load_from={path / foreign[-1]} course_rules=False, read weights-only) '
                'is for use outside the course: nothing proves they came from ImageNet-1k weights only.')
    mark_work_dir(path)
    return path


def is_trusted_checkpoint(path: str | os.PathLike) -> bool:
    """True when the bytes of ``path`` are ones this run's training recorded (see :mod:`utils.base.trust`)."""
    return file_is_recorded(path)


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
    filename = os.path.expanduser(filename)
    if _TRUSTED:  # both loaders check the file first (missing, empty, cut off)
        return load_recorded(filename, map_location=map_location)
    return safe_load_checkpoint(filename, map_location=map_location)


def load_recorded(path: str | os.PathLike, map_location: Any = 'cpu') -> Any:
    """Unpickle ``path`` in full, from the very bytes whose SHA-256 training recorded (read once, hashed, loaded
    from memory: a file swapped after any earlier check is refused, not loaded); else :class:`UntrustedCheckpointError`."""
    return open_checkpoint(path, full=True, map_location=map_location).checkpoint


# --------------------------------------------------------------------------- one object per checkpoint file
@dataclasses.dataclass(frozen=True, eq=False)
class OpenedCheckpoint:
    """A checkpoint file read once by :func:`open_checkpoint`: what was unpickled, the SHA-256 of those very bytes
    (its identity for evaluate, submit and the hand-in), whether training recorded them, and its config (resolved
    and parsed once, when first asked for)."""

    path: Path  #: as given (messages name it so)
    real: Path  #: where the file lies, links resolved: the ledger of its folder decides trust
    sha256: str
    size: int
    trusted: bool  #: these bytes are ones this run's training recorded (utils.base.trust)
    #: what was unpickled: the weights and meta (optimizer state dropped); all of it when ``full``
    checkpoint: Any = dataclasses.field(repr=False)
    config: str | os.PathLike | None = None  #: as given; None: the config training wrote beside it, else by run name

    @property
    def identity(self) -> dict[str, str]:
        """``{'checkpoint': real path, 'checkpoint_sha256': hex}``, as evaluate's summary and submit's manifest say."""
        return {'checkpoint': str(self.real), 'checkpoint_sha256': self.sha256}

    @cached_property
    def meta(self) -> dict:
        meta = self.checkpoint.get('meta') if isinstance(self.checkpoint, dict) else None
        return meta if isinstance(meta, dict) else {}

    @cached_property
    def config_path(self) -> Path:
        """``config`` resolved, else :func:`config_for_checkpoint` (trust from these bytes: the file is not read)."""
        from utils.core.config import resolve_config

        if self.config is not None:
            return resolve_config(self.config)
        return config_for_checkpoint(self.path, self.meta, trusted=self.trusted)

    @cached_property
    def cfg(self) -> Any:
        """The mmengine ``Config`` of :attr:`config_path` (a file of this project: never text from the checkpoint), as
        training built it: a smoke config's own ``smoke`` sizes and a recipe's ``width`` applied (utils.core.config
        .load_config), so a smoke model named by its run is tested at its own 64 px, not at 512. Its training-only
        keys (``smoke_run``, ``channels_last``, ``launcher``) say nothing of the run: a dumped config reloads with
        ``smoke_run`` False; a prediction takes its device and memory format from the Segmenter."""
        from utils.core.config import load_config

        return load_config(self.config_path)

    def state_dict(self) -> dict:
        return extract_state_dict(self.checkpoint, str(self.path))

    def with_config(self, config: str | os.PathLike | None) -> 'OpenedCheckpoint':
        """This checkpoint built with ``config`` (the same object when None or unchanged; the file is not read)."""
        return self if config is None or config == self.config else dataclasses.replace(self, config=config)


def _weights_and_meta(loaded: Any) -> Any:
    """The weights and meta of an unpickled checkpoint; optimizer and loop state (as big as the weights) dropped."""
    key = next((k for k in ('state_dict', 'model') if isinstance(loaded, dict) and isinstance(loaded.get(k), dict)),
               None)
    return loaded if key is None else {key: loaded[key], **{k: loaded[k] for k in ('meta',) if k in loaded}}


def open_checkpoint(checkpoint: str | os.PathLike | OpenedCheckpoint, config: str | os.PathLike | None = None, *,
                    full: bool = False, map_location: Any = 'cpu') -> OpenedCheckpoint:
    """Read ``checkpoint`` once: check it is a complete checkpoint, hash those bytes, decide trust from that hash
    (:mod:`utils.base.trust`), unpickle the same bytes from memory, so no file swapped between check and load is ever
    loaded. Read weights-only / guarded (see the module docstring); ``full``: unpickled in full, only bytes that
    training recorded, else :class:`UntrustedCheckpointError`. An :class:`OpenedCheckpoint` is returned as it is
    (with ``config`` when given)."""
    if isinstance(checkpoint, OpenedCheckpoint):
        return checkpoint.with_config(config)
    path = _existing(checkpoint)
    real = path.resolve()
    try:
        with open(real, 'rb') as fh:
            data = fh.read()
    except OSError as exc:
        raise CheckpointError(f'Cannot read the checkpoint {path}: {exc.strerror or exc}. Check that the file is '
                              'readable (permissions; a Drive file still syncing) or copy it to local disk.') from None
    _check_format(io.BytesIO(data), path, len(data))
    sha = sha256_bytes(data)
    trusted = is_recorded(sha, real.parent)
    if full and not trusted:
        raise UntrustedCheckpointError(not_recorded_message(path, sha))
    if full:
        import torch

        loaded = torch.load(io.BytesIO(data), map_location=map_location, weights_only=False)
    else:
        loaded = _weights_and_meta(_load_safely(lambda: io.BytesIO(data), str(path), map_location))
    return OpenedCheckpoint(path, real, sha, len(data), trusted, loaded, config)


def checkpoint_path(checkpoint: str | os.PathLike | OpenedCheckpoint) -> Path:
    """The path of a checkpoint given as a path or as an :class:`OpenedCheckpoint`."""
    return checkpoint.path if isinstance(checkpoint, OpenedCheckpoint) else Path(checkpoint)


def checkpoint_identity(checkpoint: str | os.PathLike | OpenedCheckpoint, segmenter: Any = None) -> dict[str, str]:
    """How evaluate, submit and the hand-in name a checkpoint: where it lies and the SHA-256 of its bytes
    (:attr:`OpenedCheckpoint.identity`). An opened checkpoint, or a segmenter loaded from this very file, knows it
    (the file is not read again); otherwise the file is hashed."""
    if isinstance(checkpoint, OpenedCheckpoint):
        return checkpoint.identity
    real = Path(checkpoint).resolve()
    known = getattr(segmenter, 'checkpoint_identity', None)
    if isinstance(known, dict) and known.get('checkpoint') == str(real):
        return dict(known)
    return {'checkpoint': str(real), 'checkpoint_sha256': sha256_file(real)}


def install_checkpoint_policy() -> None:
    """Route MMEngine's local checkpoint loading through this module's policy (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    if CheckpointLoader._schemes.get('') is not _policy_local_loader:
        CheckpointLoader.register_scheme(prefixes='', loader=_policy_local_loader, force=True)


# --------------------------------------------------------------------------- which config built a checkpoint
#: A run name's config part: a bare file name of ``configs/`` (no separators, no ``..``, no leading dot).
_CONFIG_NAME = r'[A-Za-z0-9][A-Za-z0-9_.+-]{0,200}'


def config_by_run_name(name: object) -> Path | None:
    """The file in ``configs/`` that a run name (``<config>_<yyyymmdd>_<hhmmss>``) names, else None.

    The name comes from a checkpoint, so it is data: only a bare config name is looked up, and the file found
    must lie directly in ``configs/`` (an absolute path, ``..`` or a link out of it finds nothing).
    """
    import re

    from utils.core.config import CONFIG_DIR

    if not isinstance(name, str):
        return None
    stem = re.sub(r'_\d{8}_\d{6}$', '', name)
    if not re.fullmatch(_CONFIG_NAME, stem) or '..' in stem:
        return None
    path = CONFIG_DIR / f'{stem}.py'
    try:
        if path.is_file() and path.resolve().parent == CONFIG_DIR.resolve():
            return path
    except OSError:
        return None
    return None


def config_for_checkpoint(checkpoint: str | os.PathLike, meta: dict | None = None, trusted: bool | None = None) -> Path:
    """The config file to build a checkpoint's model with, without ever executing text from outside.

    In order: the config that this run's training wrote next to the checkpoint (its work_dir carries a trust
    marker bound to this run's key, so the file is ours), then the file in ``configs/`` named by the run's
    ``meta['experiment_name']`` (``<config>_<timestamp>``; only a bare name is looked up, nothing is run).
    Otherwise :class:`ConfigError` asks for the config (``--config``, or ``CHECKPOINT_CONFIG`` in a notebook).
    ``trusted``: whether the checkpoint's bytes are recorded, when the caller hashed them already (else the file is).
    """
    from utils.core.config import RECIPES, ConfigError

    ckpt = Path(checkpoint)
    real = ckpt.resolve()  # a link's own folder is not the trusted one: look where the file really lies
    trusted = is_trusted_checkpoint(real) if trusted is None else trusted
    if trusted:  # and only a config whose bytes training recorded: a .py put beside is data
        written = [p for p in sorted(real.parent.glob('*.py')) if file_is_recorded(p)]
        if len(written) == 1:
            return written[0]
    found = config_by_run_name((meta or {}).get('experiment_name'))
    if found is not None:
        return found
    raise ConfigError(f'Which config built {ckpt}? It is not in a work_dir written by this run\'s training and '
                      'names no config of configs/. Pass the config it was trained with: --config '
                      f'{RECIPES["seed"][0]} on the command line, or CHECKPOINT_CONFIG = \'{RECIPES["seed"][0]}\' '
                      'in the notebook\'s parameters cell (the configs are listed by `ls configs`). The config '
                      'text stored inside a checkpoint is never run: it could hold any code.')


# --------------------------------------------------------------------------- finding checkpoints
def checkpoint_iter(path: str | os.PathLike) -> int | None:
    """The iteration of an ``iter_N.pth`` file, else None."""
    m = _ITER_CKPT.match(Path(path).name)
    return int(m.group(1)) if m else None


def list_checkpoints(work_dir: str | os.PathLike) -> list[Path]:
    """``iter_*.pth`` files in ``work_dir``, newest (highest iteration) first."""
    found = [(n, p) for p in Path(work_dir).glob('iter_*.pth') if (n := checkpoint_iter(p)) is not None]
    return [p for _, p in sorted(found, reverse=True)]


def verify_checkpoint(path: str | os.PathLike) -> None:
    """:func:`check_checkpoint_file` plus the CRC of every record: damage inside a tensor is found too."""
    check_checkpoint_file(path)
    if not zipfile.is_zipfile(path):
        return  # legacy format: no checksums to verify
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f'Checkpoint {path} is corrupt ({exc}). Delete it and use the previous one.') from exc
    if bad is not None:
        raise CheckpointError(f'Checkpoint {path} is damaged: record {bad} fails its CRC check (a bad copy or '
                              'disk). Delete it and use the previous checkpoint.')


def remove_incomplete(work_dir: str | os.PathLike, since: float) -> list[Path]:
    """Delete the ``*.pth`` files of ``work_dir`` written since ``since`` (a time) that are incomplete (a save cut
    off by a full or vanished disk); returns them. Complete checkpoints, and every older file, are kept."""
    removed = []
    for path in Path(work_dir).glob('*.pth'):
        try:
            if path.stat().st_mtime < since - 1:
                continue
            check_checkpoint_file(path)
        except CheckpointError:
            path.unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            continue
    return removed


def find_resume_checkpoint(*work_dirs: str | os.PathLike | None) -> Path | None:
    """Newest intact ``iter_*.pth`` in the first work_dir that has one; damaged ones are skipped with a warning."""
    for work_dir in work_dirs:
        if work_dir is None:
            continue
        for ckpt in list_checkpoints(work_dir):
            try:
                verify_checkpoint(ckpt)
            except CheckpointError as exc:
                warnings.warn(f'Skipping unreadable checkpoint: {exc}', stacklevel=2)
                continue
            return ckpt
    return None


def best_or_newest(*work_dirs: str | os.PathLike | None) -> Path | None:
    """The best checkpoint (``best_<metric>_iter_N.pth``: mIoU for 2022, imgF for 2025-26) of the first work_dir that
    has any, else that work_dir's newest; None when none has one (the message for that is
    :func:`utils.notebook.workflow.final_checkpoint`'s, which knows the run)."""
    for work_dir in work_dirs:
        if work_dir is None or not Path(work_dir).is_dir():
            continue
        best = sorted(Path(work_dir).glob('best_*_iter_*.pth'), key=os.path.getmtime)
        if best:
            return best[-1]
        newest = list_checkpoints(work_dir)
        if newest:
            return newest[0]
    return None


def checkpoint_table(*work_dirs: str | os.PathLike | None):
    """Checkpoints in the work_dirs: name, size in MB (10^6 bytes, as Drive counts), time written (a DataFrame)."""
    import datetime as dt

    import pandas as pd

    rows = []
    for work_dir in work_dirs:
        if work_dir is None or not Path(work_dir).is_dir():
            continue
        for path in sorted(Path(work_dir).glob('*.pth'), key=os.path.getmtime):
            stat = path.stat()
            rows.append(dict(work_dir=Path(work_dir).name, checkpoint=path.name, MB=round(stat.st_size / 1e6, 1),
                             written=dt.datetime.fromtimestamp(stat.st_mtime).strftime('%Y-%m-%d %H:%M:%S')))
    return pd.DataFrame(rows, columns=['work_dir', 'checkpoint', 'MB', 'written'])


def main(argv: list[str] | None = None) -> int:
    """``python -m utils.core.checkpoints trust WORK_DIR``: vouch for a work_dir of your own (e.g. one marked by an
    older version of this project), so that training resumes from it."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog='python -m utils.core.checkpoints', description=main.__doc__)
    sub = p.add_subparsers(dest='command', required=True)
    trust = sub.add_parser('trust', help='mark a work_dir of your own checkpoints as this run\'s (resume unpickles '
                                         'them in full: only for files you wrote yourself)')
    trust.add_argument('work_dir')
    a = p.parse_args(argv)
    try:
        print(vouch_for(Path(a.work_dir)))
    except KnownError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    return 0


def vouch_for(path: Path) -> str:
    """Mark ``path`` as this run's and record the bytes of its checkpoints and config files; then check that it
    took (a key that cannot be written or read back fails here, loudly, rather than trusting nothing)."""
    if not path.is_dir():
        raise CheckpointError(f'{path} is not a folder: give the work_dir that holds your iter_*.pth files.')
    mark_work_dir(path)
    files = sorted(path.glob('*.pth')) + sorted(path.glob('*.py'))
    for f in files:
        record_file(f)
    bad = [f.name for f in files if not file_is_recorded(f)]
    if not work_dir_is_ours(path) or bad:
        raise CheckpointError(f'Trusting {path} did not take: {why_not_ours(path) if not work_dir_is_ours(path) else ""}'
                              f'{"; not recorded: " + ", ".join(bad) if bad else ""}. Check that the folder and the '
                              'trust key (utils.base.places.trust_key_path) can be written, then run it again.')
    n = sum(f.suffix == '.pth' for f in files)
    return f'{path} is now trusted for resume by this run ({n} checkpoints recorded by their SHA-256).'


if __name__ == '__main__':
    raise SystemExit(main())
