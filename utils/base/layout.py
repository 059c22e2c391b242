"""The course's dataset layout (the canonical one here), shared by every module that reads or writes data.

    train/train_image/N.jpg  train/train_mask/N.png   val/val_image  val/val_mask   test/test_image
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

SPLITS = ('train', 'val', 'test')
#: Image size of smoke runs (synthetic faces on a CPU); every smoke default in this project uses it.
SMOKE_SIZE = 64
#: The holdout of a 2025-26 run (the train and holdout stems), kept in each stage's work_dir.
SPLIT_FILE = 'split.json'
#: Image file types accepted anywhere (the course's images are .jpg).
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
LAYOUT = ('train/train_image + train/train_mask, val/val_image + val/val_mask, test/test_image '
          '(images N.jpg, masks N.png: 8-bit palette PNGs whose indices are the labels 0..18)')
LAYOUT_HELP = f'expected the course layout: {LAYOUT}. Run `python -m utils.data check DATA_ROOT` for a full report.'


class KnownError(Exception):
    """The one base class of this project's known failures: the message names the file (or setting) and the fix.

    Every module's own error derives from it (``DataError``, ``ConfigError``, ``CheckpointError``, ...). The
    commands catch this one type and print its message alone (``utils.base.report.cli_error``; the traceback only
    with ``--debug``); the notebooks stop with it in one message (``utils.notebook.session.guard``). Anything else is a
    bug, shown with its type name. It lives here, on the lowest floor, because every module can import it.
    """


class MissingFileError(KnownError, FileNotFoundError):
    """A file or folder a step needs is not there (the message says which, and which step makes it)."""


class DataError(KnownError):
    """A problem with the user's data or source; the message names the file and the fix."""


def image_dir(root: str | os.PathLike, split: str) -> Path:
    """``root/<split>/<split>_image``."""
    return Path(root) / split / f'{split}_image'


def mask_dir(root: str | os.PathLike, split: str) -> Path:
    """``root/<split>/<split>_mask``."""
    return Path(root) / split / f'{split}_mask'


def natural_key(name: str | os.PathLike) -> tuple:
    """Sort key that puts 2.jpg before 10.jpg."""
    return tuple((0, int(t), '') if t.isdigit() else (1, 0, t) for t in re.split(r'(\d+)', Path(name).name))


def list_files(folder: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> list[str]:
    """Visible file names in ``folder`` (optionally only those ending in ``suffixes``, any case), naturally sorted.

    Symbolic links are not files here: a dataset is read only from files that really lie in its folders.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    suf = tuple(s.lower() for s in suffixes) if suffixes else None
    names = [e.name for e in os.scandir(folder) if not e.name.startswith('.') and e.is_file(follow_symlinks=False)
             and (suf is None or e.name.lower().endswith(suf))]
    return sorted(names, key=natural_key)


def header_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from an image file's header alone, through Pillow's format plugins, without Pillow's
    decompression-bomb check (so a 20000x20000 file can be named with its size); None when no plugin reads it."""
    from PIL import Image

    Image.init()
    with open(path, 'rb') as f:
        prefix = f.read(16)
        for fmt in Image.ID:
            factory, accept = Image.OPEN[fmt]
            ok = not accept or accept(prefix)
            if ok and not isinstance(ok, str):
                try:
                    f.seek(0)
                    return tuple(factory(f, str(path)).size)
                except Exception:  # noqa: BLE001 - not this format; try the next one
                    continue
    return None


#: Temporary files of an atomic write are named ``.<name>.part-<pid>`` beside their target.
TMP_MARK = '.part-'


def write_atomic(path: Path, write: Any) -> None:
    """``write(tmp)`` writes the content to a temporary file beside ``path``, which then replaces ``path`` in one
    step: a failed or cut-off write (a full or vanished disk) leaves the old file as it was and no temp file."""
    path = Path(path)
    tmp = path.with_name(f'.{path.name}{TMP_MARK}{os.getpid()}')
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        try:  # on a vanished or read-only disk this fails too: the first error is the one to report
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def write_json_atomic(path: Path, data: dict) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2)))
