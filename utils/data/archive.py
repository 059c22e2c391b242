"""The dataset kept on Google Drive as one archive, so that every notebook's runtime can unpack it again.

Colab gives every notebook its own disk; 01 fetches the data once and keeps it here as
``<run folder>/data/celebamask-dataset.zip`` (stored, not deflated: JPG and PNG are compressed already) with a
description beside it (source, counts, size). 02-05 unpack it through the same safe extraction as a fetch and
check every file. The description names the edition (a 2025-26 copy has no val masks in 2026, and its check
allows that). Writes are atomic: a failed one keeps the previous archive and leaves no temporary file.
Problems raise :class:`~utils.data.common.DataError` with the fix (``utils.session`` shows it as one message).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from ..edition import DEFAULT_EDITION
from ..layout import write_atomic, write_json_atomic
from .common import DataError, dataset_counts, is_dataset

ARCHIVE = 'celebamask-dataset.zip'


def archive_paths(folder: str | os.PathLike) -> tuple[Path, Path]:
    """The archive in a run's folder and its description (``.json`` beside it)."""
    return Path(folder) / 'data' / ARCHIVE, Path(folder) / 'data' / (ARCHIVE + '.json')


def _description(info: Path) -> dict:
    try:
        data = json.loads(info.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def keep_copy(data_root: str | os.PathLike, folder: str | os.PathLike, source: str | None,
              progress: bool = True, edition: str | None = None) -> Path:
    """Keep the dataset at ``data_root`` as one archive in ``folder``'s ``data/`` (once: an archive of the same
    source, counts and edition is reused). Returns the archive's path."""
    archive, info = archive_paths(folder)
    counts = dataset_counts(data_root)
    edition = str(edition or DEFAULT_EDITION)
    want = {'source': source, 'counts': counts}
    old = _description(info) if archive.is_file() else {}
    if old and {k: old.get(k) for k in want} == want and archive.stat().st_size == old.get('bytes') \
            and old.get('edition', DEFAULT_EDITION) == edition:
        print(f'the dataset is already kept on Drive: {archive} ({old["bytes"] / 1e6:.0f} MB)')
        return archive
    files = sorted(p for p in Path(data_root).rglob('*') if p.is_file() and not p.name.startswith('.')
                   and p.relative_to(data_root).parts[0] in ('train', 'val', 'test'))
    total = sum(p.stat().st_size for p in files)
    archive.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(archive.parent).free
    if free < total * 1.05:
        raise DataError(f'Drive has {free / 1e9:.1f} GB free but the dataset copy needs {total / 1e9:.1f} GB.\n'
                        'What to do: free space on Google Drive (and empty its trash), then run this notebook again.')
    from tqdm.auto import tqdm

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_STORED) as zf, \
                tqdm(total=total, unit='B', unit_scale=True, desc='keep a copy on Drive', disable=not progress) as bar:
            for p in files:  # JPG and PNG are compressed already: stored, not deflated
                zf.write(p, p.relative_to(data_root).as_posix())
                bar.update(p.stat().st_size)

    write_atomic(archive, write)
    # atomic too: if it fails, the old description no longer matches the archive's size, so the next run of 01
    # keeps the copy again
    write_json_atomic(info, {**want, 'edition': edition, 'bytes': archive.stat().st_size, 'files': len(files),
                             'written': datetime.now(UTC).isoformat(timespec='seconds')})
    print(f'kept a copy of the dataset on Drive: {archive} ({archive.stat().st_size / 1e6:.0f} MB); '
          'notebooks 02-05 unpack it on their own runtimes.')
    return archive


def restore_copy(data_root: str | os.PathLike, folder: str | os.PathLike, progress: bool = True,
                 edition: str | None = None) -> dict[str, int]:
    """Make sure the dataset is at ``data_root``: counted when there, else unpacked from ``folder``'s archive and
    every file checked. Returns the counts per split. ``edition``: the copy's rules (default: the one its
    description names, else 2022)."""
    from .check import check_dataset
    from .unpack import install, safe_extract

    root = Path(data_root)
    archive, info = archive_paths(folder)
    described = _description(info)
    kept = described.get('counts') or {}
    edition = str(edition or described.get('edition') or DEFAULT_EDITION)
    if is_dataset(root, edition):
        counts = dataset_counts(root)
        if kept and counts != kept:
            print(f'note: {root} holds {counts}, the copy on Drive {kept}; using the one on this disk.')
        print(f'dataset on this runtime: {root} (train {counts["train"]}, val {counts["val"]}, test {counts["test"]})')
        return counts
    if not archive.is_file():
        raise DataError(f'No dataset on this runtime ({root}) and no copy kept on Drive ({archive}).\n'
                        'What to do: run 01_data_check first: it fetches the dataset once and keeps a copy on Drive.')
    if root.exists() and any(root.iterdir()):
        raise DataError(f'{root} exists but holds no complete dataset, so the copy from Drive was not unpacked over '
                        'it.\nWhat to do: move that folder away (or set DATA_ROOT to a new folder) and run again.')
    t0 = time.perf_counter()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{root.name}.restore-', dir=root.parent))
    try:
        print(f'unpacking the dataset kept on Drive ({archive.stat().st_size / 1e6:.0f} MB) to {root}')
        safe_extract(archive, staging / 'dataset', progress=progress)
        install(staging / 'dataset', root)
    except DataError as exc:
        raise DataError(f'The dataset copy on Drive cannot be used: {exc}\nWhat to do: run 01_data_check again; it '
                        'keeps a fresh copy.') from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # the sizes were checked when 01 fetched the data (a smoke copy is 64 px): here every file is read again whole
    report = check_dataset(root, expect=kept or None, progress=progress, edition=edition, size=None)
    if not report.ok:
        raise DataError(f'The dataset unpacked from {archive} failed its check:\n{report.format()}\n'
                        'What to do: run 01_data_check again to fetch the data and keep a fresh copy.')
    counts = dataset_counts(root)
    print(f'dataset ready on this runtime in {time.perf_counter() - t0:.0f} s: {root} '
          f'(train {counts["train"]}, val {counts["val"]}, test {counts["test"]}; every file checked)')
    return counts
