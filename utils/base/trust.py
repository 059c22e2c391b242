"""Which checkpoints this student's training wrote: a work_dir's marker, its ledger of checkpoint hashes, its lock.

A file is unpickled in full (MMEngine's resume needs it) only when the SHA-256 of the very bytes being loaded is in
the ledger that training keeps beside the marker, each line an HMAC under the run's secret key
(:func:`utils.base.places.trust_key_path`). A classmate's ``iter_99.pth`` copied into the folder, a hard link of a foreign
file, or a file swapped after a check: their bytes were never recorded, so they are refused. The place vouches for
nothing by itself.

* **marker** (``.celebamask-workdir``): HMAC of the folder's full path; says the folder is this run's, so training
  may write (and resume) there, and the config ``.py`` training wrote beside its checkpoints may be built.
* **ledger** (``.celebamask-checkpoints``): one line per file training wrote (checkpoints and the config dump):
  ``<sha256> <hmac(key, sha256)>``. Bound to the bytes, not to a path: the student's own file stays theirs when moved.
* **lock** (``.celebamask-train.lock``): held while a training writes into the folder; a second training refuses
  at once, naming the first; a lock whose process is gone is taken over with a note.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
import warnings
from pathlib import Path

from utils.base.copycheck import sha256_file  # noqa: F401  (the one file hash, re-used by checkpoints and submit)
from utils.base.layout import KnownError

WORKDIR_MARKER = '.celebamask-workdir'
LEDGER = '.celebamask-checkpoints'
LOCK = '.celebamask-train.lock'
#: A key shorter than this is never used (an empty or cut file would make every signature guessable).
MIN_KEY_CHARS = 32
#: A lock of another machine not refreshed for this long belongs to a runtime that is gone (Colab disconnects).
LOCK_STALE_S = 15 * 60
_MARKER_TEXT = ('Checkpoints in this folder were written by celebamask-parsing training and are trusted for resume '
                '(full unpickling) when their bytes are in the ledger beside this file. The lines below bind this '
                'file to this folder and to the run\'s own key, so a copy of it anywhere else is not trusted.\n')


class TrustError(KnownError, RuntimeError):
    """The run's trust key, a work_dir's marker or ledger, or its lock does not allow what was asked."""


class WorkDirBusyError(TrustError):
    """Another training is writing into the same work_dir."""


# --------------------------------------------------------------------------- the key
def _read_key(path: Path) -> bytes | None:
    try:
        key = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return key.encode() if len(key) >= MIN_KEY_CHARS else None


def trust_key(create: bool) -> bytes | None:
    """The run's secret key; made by training (``create``) when absent, empty or too short, never used short."""
    import secrets

    from utils.base.places import trust_key_path

    path = trust_key_path()
    key = _read_key(path)
    if key is not None or not create:
        return key
    replaced = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not replaced:  # made only if absent: two runtimes starting at once must not replace each other's key
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, 'w') as fh:
                    fh.write(secrets.token_hex(32) + '\n')
            except FileExistsError:
                pass
        else:  # a short or unreadable key was never used for anything: it is replaced whole, atomically
            tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
            tmp.write_text(secrets.token_hex(32) + '\n')
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
    except OSError as exc:
        raise TrustError(f'Cannot write the run\'s trust key {path} ({exc.strerror or exc}): training needs it to '
                         'vouch for its own checkpoints. Make that folder writable (or mount Drive again).') from exc
    key = _read_key(path)
    if key is None:
        raise TrustError(f'The run\'s trust key {path} is unreadable or shorter than {MIN_KEY_CHARS} characters even '
                         'after writing a new one. Delete that file and run again.')
    if replaced:
        warnings.warn(f'The trust key {path} was empty or too short (never used): a new one was made.', stacklevel=2)
    return key


def key_id(key: bytes) -> str:
    """A short public name of a key (8 hex digits of a hash of it): says which key signed a marker, reveals nothing."""
    return hashlib.sha256(b'celebamask-key-id:' + key).hexdigest()[:8]


def _binding(work_dir: Path, key: bytes) -> str:
    return hmac.new(key, f'celebamask-workdir:{work_dir.resolve()}'.encode(), hashlib.sha256).hexdigest()


def _sign(sha: str, key: bytes) -> str:
    return hmac.new(key, f'celebamask-file:{sha}'.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- the marker
def _marker_fields(work_dir: Path) -> dict[str, str]:
    marker = work_dir / WORKDIR_MARKER
    try:
        if not marker.is_file() or marker.stat().st_size > 4096:
            return {}
        lines = marker.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (ln.partition(':') for ln in lines) if k.strip() in ('binding', 'key')}


def work_dir_is_ours(work_dir: str | os.PathLike) -> bool:
    """True when ``work_dir``'s marker was written for this folder (its full path) with this run's key."""
    key = trust_key(create=False)
    found = _marker_fields(Path(work_dir)).get('binding', '')
    return key is not None and hmac.compare_digest(found.encode(), _binding(Path(work_dir), key).encode())


def why_not_ours(work_dir: str | os.PathLike) -> str:
    """Why ``work_dir`` is not this run's, in words that name the key or the move."""
    from utils.base.places import trust_key_path

    path = Path(work_dir)
    fields = _marker_fields(path)
    key = trust_key(create=False)
    if not (path / WORKDIR_MARKER).exists():
        return f'there is no {WORKDIR_MARKER} file in it'
    if key is None:
        return (f'this runtime has no usable trust key ({trust_key_path()} is missing, empty or shorter than '
                f'{MIN_KEY_CHARS} characters), so no folder can be verified')
    if not fields.get('binding'):
        return f'its {WORKDIR_MARKER} is of an older version of this project, or damaged'
    if fields.get('key') and fields['key'] != key_id(key):
        return (f'its {WORKDIR_MARKER} was signed with another trust key (key {fields["key"]}; this runtime\'s key '
                f'{trust_key_path()} is {key_id(key)}): the key was replaced since, or the folder is someone else\'s')
    if not fields.get('key'):  # a marker of an earlier version does not say which key signed it
        return (f'its {WORKDIR_MARKER} was written for another folder or with another trust key (this runtime\'s '
                f'key: {trust_key_path()}): the folder was moved, the key replaced, or the marker copied')
    return (f'its {WORKDIR_MARKER} was written for another folder: the folder was moved or renamed, or the marker '
            'copied from elsewhere')


def vouch_hint(work_dir: str | os.PathLike) -> str:
    return ('If every file in it was written by your own training with this project (e.g. you moved the folder), '
            f'vouch for it once: python -m utils.core.checkpoints trust {work_dir}.')


def mark_work_dir(work_dir: str | os.PathLike) -> None:
    """Mark ``work_dir`` as this run's (only training and ``trust`` call this; never for downloaded files)."""
    path = Path(work_dir)
    path.mkdir(parents=True, exist_ok=True)
    if not work_dir_is_ours(path):
        key = trust_key(create=True)
        (path / WORKDIR_MARKER).write_text(f'{_MARKER_TEXT}key: {key_id(key)}\nbinding: {_binding(path, key)}\n')


# --------------------------------------------------------------------------- the ledger
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()




def record_file(path: str | os.PathLike, sha: str | None = None) -> str:
    """Record ``path``'s bytes (or ``sha``) in the ledger of its folder, signed with the key; returns the hash."""
    path = Path(path)
    sha = sha or sha256_file(path)
    key = trust_key(create=True)
    with open(path.parent / LEDGER, 'a') as fh:
        fh.write(f'{sha} {_sign(sha, key)}\n')
    return sha


def is_recorded(sha: str, folder: str | os.PathLike) -> bool:
    """True when the ledger in ``folder`` holds ``sha`` signed with this run's key."""
    key = trust_key(create=False)
    ledger = Path(folder) / LEDGER
    if key is None or not ledger.is_file():
        return False
    want = _sign(sha, key).encode()
    try:
        lines = ledger.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return any(ln.split(' ')[0] == sha and hmac.compare_digest(ln.split(' ')[-1].encode(), want) for ln in lines)


def file_is_recorded(path: str | os.PathLike) -> bool:
    """True when the bytes of ``path`` now are ones this run's training wrote (ledger where the file really lies)."""
    real = Path(path).resolve()
    try:
        return is_recorded(sha256_file(real), real.parent)
    except OSError:
        return False


def not_recorded_message(path: str | os.PathLike, sha: str) -> str:
    """The one message for a file whose bytes training did not record: names it, the reason and the ways out."""
    from utils.base.places import trust_key_path

    real = Path(path).resolve()
    ours = work_dir_is_ours(real.parent)
    where = ('its folder is this run\'s, but these bytes are not among the files training wrote there (copied in, '
             'linked, or replaced after it was written)' if ours else why_not_ours(real.parent))
    return (f'Will not unpickle {path} in full: training did not record these bytes (SHA-256 {sha[:12]}...; '
            f'trust key {trust_key_path()}): {where}. Full unpickling can run code. Its weights alone are read '
            'safely: --cfg-options load_from=PATH course_rules=False to start from them (outside the course '
            'rules), or evaluate/predict with --config CONFIG (CHECKPOINT_CONFIG in a notebook). '
            + vouch_hint(real.parent))


# --------------------------------------------------------------------------- the lock
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _lock_is_stale(info: dict, age_s: float) -> bool:
    if info.get('host') == socket.gethostname():  # this process's own lock is left from a call that ended
        pid = info.get('pid')
        return not isinstance(pid, int) or pid == os.getpid() or not _pid_alive(pid)
    return age_s > LOCK_STALE_S


def acquire_lock(work_dir: str | os.PathLike) -> Path:
    """Hold ``work_dir``'s training lock (``pid``, ``host``, ``started``); refuses at once if another holds it."""
    lock = Path(work_dir) / LOCK
    mine = json.dumps({'pid': os.getpid(), 'host': socket.gethostname(),
                       'started': time.strftime('%Y-%m-%d %H:%M:%S %Z')})
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                info, age = json.loads(lock.read_text() or '{}'), time.time() - lock.stat().st_mtime
                info = info if isinstance(info, dict) else {}
            except (OSError, ValueError):
                info, age = {}, float('inf')
            if not _lock_is_stale(info, age):
                raise WorkDirBusyError(
                    f'{work_dir} is in use by another training (process {info.get("pid")} on {info.get("host")}, '
                    f'started {info.get("started")}; {lock.name} last refreshed {age / 60:.0f} min ago). Two '
                    'trainings in one work_dir mix their checkpoints and records: wait for it, stop it, or train '
                    f'into another --work-dir. If that runtime is gone, delete {lock}.') from None
            warnings.warn(f'Taking over the training lock of {work_dir}: its process {info.get("pid")} on '
                          f'{info.get("host")} (started {info.get("started")}) is no longer running.', stacklevel=2)
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, 'w') as fh:
            fh.write(mine)
        return lock
    raise WorkDirBusyError(f'Could not take the training lock {lock}: another training took it just now.')


def refresh_lock(lock: Path) -> None:
    """Say that the holder is alive (the lock's time is what another machine judges staleness by)."""
    try:
        os.utime(lock)
    except OSError:
        pass


def release_lock(lock: Path) -> None:
    """Give the lock back, only if it is still this process's."""
    try:
        if json.loads(lock.read_text()).get('pid') == os.getpid():
            lock.unlink()
    except (OSError, ValueError, AttributeError):
        pass
