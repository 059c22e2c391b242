"""What every part of ``utils.data`` shares: the error type, the expected counts, small file helpers, staging folders."""
from __future__ import annotations

import json
import numbers
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from utils.base.layout import SMOKE_SIZE, SPLITS, DataError, image_dir, list_files, mask_dir
from utils.base.report import human_bytes

__all__ = ['DataError', 'EXPECTED_COUNTS', 'SYNTHETIC_DEFAULTS', 'SYNTHETIC_FULL', 'JUNK_DIRS', 'stems',
           'progress_bar', 'is_dataset', 'dataset_counts', 'STAGING_MARK', 'make_staging', 'clean_staging',
           'human_bytes', 'positive', 'HEX_STEM', 'expected_counts', 'SYNTHETIC_2025', 'SYNTHETIC_2025_FULL']

#: Split sizes of the course's CelebAMask-HQ mini dataset.
EXPECTED_COUNTS: dict[str, int] = {'train': 5000, 'val': 1000, 'test': 1000}
#: Synthetic defaults of ``fetch('synthetic')``: small enough for a CPU smoke run.
SYNTHETIC_DEFAULTS = {'size': SMOKE_SIZE, 'counts': (40, 12, 12)}
SYNTHETIC_FULL = {'size': 512, 'counts': (5000, 1000, 1000)}
#: The same in the 2025-26 layout (32-hex-digit names, val without masks): a smoke set and the course's size.
SYNTHETIC_2025 = {'size': SMOKE_SIZE, 'counts': (40, 8, 8)}
SYNTHETIC_2025_FULL = {'size': 512, 'counts': (1000, 100, 100)}
#: A 2025-26 file stem: 32 hex digits, e.g. 0a4fdac4e7f448718c42f34a5422aee2.
HEX_STEM = re.compile(r'^[0-9A-Fa-f]{32}$')


def expected_counts(edition: str | None = None) -> dict[str, int]:
    """The course's images per split under ``edition`` (None: 2022)."""
    from utils.base.edition import rules

    return dict(zip(SPLITS, rules(edition).counts))
#: Folders that archives made on a Mac carry and that are never data.
JUNK_DIRS = {'__MACOSX'}


def stems(names: Iterable[str]) -> set[str]:
    """File names without their suffix."""
    return {os.path.splitext(n)[0] for n in names}


def progress_bar(total: int, desc: str, progress: bool, unit: str = 'file', **kw):
    """A tqdm bar (notebook-aware), silent when ``progress`` is False."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, **kw)


def is_dataset(root: str | os.PathLike, edition: str | None = None) -> bool:
    """True when ``root`` holds the course layout with every train/val image paired with a mask (names only).

    ``edition='2025'``: val masks are optional (the 2026 val set has none), but when present they pair.
    """
    root = Path(root)
    for split in SPLITS:
        imgs = list_files(image_dir(root, split), ('.jpg',))
        if not imgs:
            return False
        optional = split == 'val' and edition == '2025' and not mask_dir(root, split).exists()
        if split != 'test' and not optional and stems(imgs) != stems(list_files(mask_dir(root, split), ('.png',))):
            return False
    return True


def dataset_counts(root: str | os.PathLike) -> dict[str, int]:
    """Number of ``.jpg`` images per split."""
    return {s: len(list_files(image_dir(root, s), ('.jpg',))) for s in SPLITS}


def positive(name: str, value: int | None) -> int | None:
    """``value`` unchanged when it is None or a positive integer; else :class:`DataError` naming ``name``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
        raise DataError(f'{name}={value!r}: give a positive whole number (at least 1), or leave it out for the default.')
    return value


# --------------------------------------------------------------------------- staging folders
#: File in every staging folder: the tool, the kind of job and the process that uses the folder.
STAGING_MARK = '.celebamask-staging'
#: A staging folder without the mark (made by an earlier version) counts as left over after this many seconds.
STALE_SECONDS = 600
_STAGING_NAME = re.compile(r'^\.(?P<out>.+)\.(?P<kind>fetch|convert|fix)-[A-Za-z0-9_]{8}$')
#: What each kind of unmarked staging folder holds (anything else means it is not one of ours).
_STAGING_CHILDREN = {'fetch': {'raw', 'dataset'}, 'convert': {'dataset'}, 'fix': {'masks'}}


def make_staging(out: Path, kind: str) -> Path:
    """A new hidden folder ``.<out name>.<kind>-XXXXXXXX`` next to ``out``, marked as this process's."""
    staging = Path(tempfile.mkdtemp(prefix=f'.{out.name}.{kind}-', dir=out.parent))
    (staging / STAGING_MARK).write_text(json.dumps({'tool': 'utils.data', 'kind': kind, 'pid': os.getpid(),
                                                    'host': socket.gethostname()}))
    return staging


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def _leftover(folder: Path, kind: str) -> str | None:
    """Why ``folder`` is a staging folder of ``kind`` that no running process uses; None when it may be in use."""
    mark = folder / STAGING_MARK
    if mark.is_file():
        try:
            info = json.loads(mark.read_text())
            pid = int(info['pid'])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if info.get('kind') != kind or info.get('host') != socket.gethostname() or _alive(pid):
            return None
        return f'process {pid} that made it has ended'
    children = {c.name for c in folder.iterdir()}
    age = time.time() - folder.stat().st_mtime
    if children <= _STAGING_CHILDREN[kind] and age > STALE_SECONDS:
        return f'untouched for {age / 60:.0f} minutes'
    return None


def _tree_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for f in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def clean_staging(parent: Path, kind: str) -> list[tuple[Path, int]]:
    """Remove the staging folders of ``kind`` that killed runs left in ``parent``; print each with its size.

    Only hidden folders named like this tool's (``.<name>.<kind>-XXXXXXXX``) whose process has ended
    are removed; returns ``[(folder, bytes), ...]``.
    """
    removed: list[tuple[Path, int]] = []
    if not parent.is_dir():
        return removed
    for folder in sorted(parent.iterdir()):
        m = _STAGING_NAME.match(folder.name)
        if not m or m['kind'] != kind or folder.is_symlink() or not folder.is_dir():
            continue
        why = _leftover(folder, kind)
        if why is None:
            print(f'note: {folder} looks like the staging folder of a {kind} that is still running; left it alone.')
            continue
        size = _tree_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append((folder, size))
        print(f'removed {folder} ({human_bytes(size)}): the staging folder of an interrupted {kind} ({why}).')
    return removed
