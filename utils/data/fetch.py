"""Fetch the dataset once, in the course layout: from Google Drive (gdown), a zip or folder, or the synthetic generator.

Nothing of the user's is deleted or overwritten: new data is assembled in a staging folder next to the
target and moved into place only when complete; staging folders that a killed fetch left behind are
removed (and reported) by the next fetch into the same parent folder.
"""
from __future__ import annotations

import os
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..layout import SPLITS
from .common import (SYNTHETIC_DEFAULTS, DataError, clean_staging, dataset_counts, is_dataset, make_staging,
                     positive)
from .unpack import check_links, install, locate_dataset, nested_zips, normalise, safe_extract, zip_problem


# --------------------------------------------------------------------------- Google Drive
_DRIVE_ID = re.compile(r'^[A-Za-z0-9_-]{20,}$')


def parse_drive_source(source: str) -> tuple[str, str] | None:
    """``('file'|'folder', id)`` for a Google Drive id or share URL, else None."""
    s = source.strip()
    if re.match(r'https?://', s):
        if not re.search(r'(drive|docs)\.google\.com', s):
            raise DataError(f'{s} is not a Google Drive URL; download it yourself and pass the zip file.')
        m = re.search(r'/folders/([A-Za-z0-9_-]+)', s)
        if m:
            return 'folder', m.group(1)
        m = re.search(r'/d/([A-Za-z0-9_-]+)', s) or re.search(r'[?&]id=([A-Za-z0-9_-]+)', s)
        if not m:
            raise DataError(f'cannot find a file id in {s}; use the share link '
                            '(https://drive.google.com/file/d/ID/view) or the bare ID.')
        return 'file', m.group(1)
    if _DRIVE_ID.match(s) and not Path(s).exists():
        return 'file', s
    return None


def download_drive_file(file_id: str, download_dir: str | os.PathLike, progress: bool = True) -> Path:
    """Download a Drive file once to ``download_dir/celebamask-<id>.zip`` (resumable ``.part`` file, gdown)."""
    download_dir = Path(download_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    target = download_dir / f'celebamask-{file_id}.zip'
    if target.exists():
        why = zip_problem(target)
        if why is None:
            print(f'using the earlier download {target}')
            return target
        raise DataError(f'{target} exists but cannot be used: {why} (an HTML page from Google Drive, e.g. "quota '
                        'exceeded", or a broken download). Delete it and fetch again, or download the file '
                        'in a browser and pass the zip path.')
    import gdown  # lazy: only this path needs it

    try:
        # gdown writes to <target><random>.part and renames it when complete; resume=True continues a .part
        got = gdown.download(url=f'https://drive.google.com/uc?id={file_id}', output=str(target),
                             quiet=not progress, resume=True)
    except Exception as e:  # gdown raises its own error types, requests errors, OSError...
        raise DataError(f'download of Google Drive file {file_id} failed: {type(e).__name__}: {e}. Any partial '
                        f'.part file in {download_dir} is kept: run the same command to resume. If Drive says '
                        'too many users have viewed the file, add it to your Drive ("Add shortcut") and fetch '
                        'from /content/drive/MyDrive/... instead.') from None
    if not got or not target.is_file():
        raise DataError(f'gdown did not produce {target}: check that file {file_id} is shared as '
                        '"Anyone with the link".')
    why = zip_problem(target)
    if why is not None:
        raise DataError(f'{target} (downloaded from Drive) cannot be used: {why}; it is probably an HTML error page '
                        'or an interrupted download. Delete it, check the link, and try again.')
    return target


# --------------------------------------------------------------------------- fetch
def positive_or_none(value) -> int | None:
    """``value`` when it is a positive whole number, else None."""
    try:
        return positive('count', value)
    except DataError:
        return None


def _already_there(out: Path, edition: str | None = None) -> bool:
    """True when ``out`` holds the dataset already (said); a file or a partial dataset there is refused, untouched."""
    if is_dataset(out, edition):
        c = dataset_counts(out)
        print(f'dataset already at {out} (train {c["train"]}, val {c["val"]}, test {c["test"]}); nothing to '
              'fetch. Delete or rename that folder to fetch again.')
        return True
    if out.exists() and not out.is_dir():
        raise DataError(f'--out {out} is a file; choose a folder path.')
    present = [s for s in SPLITS if (out / s).exists()] if out.is_dir() else []
    if present:
        ed = f' --edition {edition}' if edition and edition != '2022' else ''
        raise DataError(f'{out} already holds {", ".join(present)} but not a complete dataset (run '
                        f'`python -m utils.data check {out}{ed}` to see what is wrong). Nothing was changed: '
                        'move or delete that folder, or choose another --out.')
    return False


def _download(drive: tuple[str, str] | None, path: Path | None, staging: Path, out: Path,
              download_dir: str | os.PathLike | None, progress: bool) -> Path:
    """A Drive folder downloaded, or a zip (downloaded from Drive, or ``path``) safely unpacked, into ``staging``;
    returns the folder holding the files."""
    if drive is not None and drive[0] == 'folder':
        import gdown

        raw = staging / 'raw'
        try:
            gdown.download_folder(id=drive[1], output=str(raw), quiet=not progress, resume=True)
        except Exception as e:
            raise DataError(f'download of Google Drive folder {drive[1]} failed: {type(e).__name__}: '
                            f'{e}. Share a zip of the dataset instead (gdown lists at most 50 files '
                            'per folder).') from None
        return raw
    zip_path = download_drive_file(drive[1], download_dir or out.parent, progress) if drive else path
    raw = safe_extract(zip_path, staging / 'raw', progress=progress)
    inner = nested_zips(raw)
    if inner:
        raise DataError(f'{zip_path} holds no images, only another zip: {", ".join(inner[:3])}. Unzip '
                        f'it first (e.g. `unzip {zip_path} -d DIR`), then fetch the inner zip: '
                        f'python -m utils.data fetch DIR/{inner[0]} --out {out}')
    return raw


def fetch(source: str | os.PathLike, out: str | os.PathLike = 'data/celebamask', *, size: int | None = None,
          counts: Sequence[int] | None = None, download_dir: str | os.PathLike | None = None,
          progress: bool = True) -> Path:
    """Put the dataset at ``out`` in the course layout once, and return ``out``.

    ``source``: a Google Drive file id or share URL (downloaded with gdown), a zip file or a folder
    (e.g. on /content/drive, copied to local disk), or ``'synthetic'`` (``size`` px, ``counts`` =
    train/val/test; default 64 px, 40/12/12). Skips all work when ``out`` already holds the dataset.
    """
    out = Path(out).expanduser().absolute()
    positive('size', size)
    if counts is not None and (len(counts) != 3 or any(positive_or_none(c) is None for c in counts)):
        raise DataError(f'counts={tuple(counts)!r}: give three positive whole numbers, train,val,test (e.g. 40,12,12).')
    clean_staging(out.parent, 'fetch')
    if _already_there(out):
        return out
    src = str(source)
    if src != 'synthetic' and (size is not None or counts is not None):
        warnings.warn(f'size/counts apply to the synthetic source only; ignored them for {src}', stacklevel=2)
    drive = parse_drive_source(src) if src != 'synthetic' else None
    path = Path(src).expanduser() if src != 'synthetic' and drive is None else None
    if path is not None and not path.exists():
        raise DataError(f'source {path} does not exist. Pass a Google Drive file id or share URL, a zip or folder '
                        'path (mount Drive first in Colab), or `synthetic`.')
    out.parent.mkdir(parents=True, exist_ok=True)
    # layout of a local folder is read before the staging folder exists (out may lie inside the source)
    layout = None
    if path is not None and path.is_dir():
        check_links(path)  # links out of the source are refused before anything is copied
        layout = locate_dataset(path)
    elif path is not None and (why := zip_problem(path)) is not None:
        if why.startswith('it is not a zip'):
            raise DataError(f'{path} is neither a folder nor a zip file. Unpack other archives yourself '
                            '(e.g. `tar xf`) and pass the folder.')
        raise DataError(f'{path} cannot be unpacked: {why}. Delete it and download it again (or copy it again '
                        'from Drive), then fetch again; nothing was written.')
    staging = make_staging(out, 'fetch')
    try:
        ds = staging / 'dataset'
        if src == 'synthetic':
            from ..synthetic import make_synthetic_dataset

            size = SYNTHETIC_DEFAULTS['size'] if size is None else size
            n_train, n_val, n_test = SYNTHETIC_DEFAULTS['counts'] if counts is None else counts
            make_synthetic_dataset(ds, n_train, n_val, n_test, size=size, progress=progress)
        elif layout is not None:
            normalise(layout, ds, move=False, progress=progress)
        else:
            raw = _download(drive, path, staging, out, download_dir, progress)
            normalise(locate_dataset(raw), ds, move=True, progress=progress)
        if not is_dataset(ds):
            raise DataError(f'the data from {src} is incomplete: some train/val images have no mask or a split is '
                            f'empty (counts {dataset_counts(ds)}). Check the source; nothing was written to {out}.')
        install(ds, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # our own temporary folder only
    c = dataset_counts(out)
    print(f'dataset ready at {out}: train {c["train"]}, val {c["val"]}, test {c["test"]} images')
    return out
