"""The dataset kept on Google Drive as one archive, so that every notebook's runtime can unpack it again.

Colab gives every notebook its own disk; 01 fetches the data once and keeps it here as
``<run folder>/data/celebamask-dataset.zip`` (stored, not deflated: JPG and PNG are compressed already) with a
description beside it (source, counts, size). 02-05 unpack it through the same safe extraction as a fetch and
check every file. The description names the edition (a 2025-26 copy has no val masks in 2026, and its check
allows that). Writes are atomic: a failed one keeps the previous archive and leaves no temporary file.
Problems raise :class:`~utils.data.common.DataError` with the fix (``utils.notebook.session`` shows it as one message).
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

from utils.base.edition import DEFAULT_EDITION
from utils.base.layout import write_atomic, write_json_atomic
from utils.data.common import DataError, dataset_counts, is_dataset

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
            and old.get('edition', DEFAULT_EDITION) == edition \
            and isinstance(old.get('sha256'), dict):  # a record without per-file hashes is written again
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
                             'written': datetime.now(UTC).isoformat(timespec='seconds'),
                             'sha256': file_hashes(data_root, files)})
    print(f'kept a copy of the dataset on Drive: {archive} ({archive.stat().st_size / 1e6:.0f} MB); '
          'notebooks 02-05 unpack it on their own runtimes.')
    return archive


def restore_copy(data_root: str | os.PathLike, folder: str | os.PathLike, progress: bool = True,
                 edition: str | None = None) -> dict[str, int]:
    """Make sure the dataset is at ``data_root``: counted when there, else unpacked from ``folder``'s archive and
    every file checked. Returns the counts per split. ``edition``: the copy's rules (default: the one its
    description names, else 2022)."""
    from utils.data.check import check_dataset
    from utils.data.unpack import install, safe_extract

    root = Path(data_root)
    archive, info = archive_paths(folder)
    described = _description(info)
    kept = described.get('counts') or {}
    edition = str(edition or described.get('edition') or DEFAULT_EDITION)
    if is_dataset(root, edition):
        counts = dataset_counts(root)
        said = verify_against_record(root, _description(info), archive)
        print(f'dataset on this runtime: {root} (train {counts["train"]}, val {counts["val"]}, test {counts["test"]}; '
              f'{said})')
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
        message = (f'The dataset unpacked from {archive} failed its check:\n{report.format()}\n'
                   'What to do: run 01_data_check again to fetch the data and keep a fresh copy.')
        mark_failed(root, message)  # the next Run all on this runtime finds the files in place: it fails again
        raise DataError(message)
    verify_against_record(root, _description(info), archive)
    counts = dataset_counts(root)
    print(f'dataset ready on this runtime in {time.perf_counter() - t0:.0f} s: {root} '
          f'(train {counts["train"]}, val {counts["val"]}, test {counts["test"]}; every file checked)')
    return counts


# --------------------------------------------------------------------------- the record: one SHA-256 per file
#: Left in a data root whose check failed, with a fingerprint of its files: it stays failed until they change.
FAILED_MARK = '.celebamask-check-failed.json'


def file_hashes(data_root: str | os.PathLike, files: list[Path]) -> dict[str, str]:
    """``{relative path: SHA-256}`` of ``files`` under ``data_root`` (the record kept beside the archive)."""
    from utils.base.trust import sha256_file

    return {p.relative_to(data_root).as_posix(): sha256_file(p) for p in files}


def _data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob('*') if p.is_file() and not p.name.startswith('.')
                  and p.relative_to(root).parts[0] in ('train', 'val', 'test'))


def _fingerprint(root: Path) -> list:
    return [[p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in _data_files(root)]


def mark_failed(root: Path, message: str) -> None:
    """Remember that the data at ``root`` failed its check (until any of its files changes)."""
    write_json_atomic(root / FAILED_MARK, {'fingerprint': _fingerprint(root), 'message': message})


def verify_against_record(root: Path, record: dict, archive: Path) -> str:
    """Check the data already on this runtime against the record kept with the archive on Drive: a check that
    failed here stays failed while the files are unchanged; counts and every file's SHA-256 (hashes, not pixels:
    seconds) must match. Returns what was verified; :class:`DataError` names the differences and the fix."""
    fix = (f'What to do: delete {root} (the copy on this runtime) and run again: the copy kept on Drive is unpacked '
           'and checked again.')
    failed = _description(root / FAILED_MARK)
    if failed:
        if failed.get('fingerprint') == _fingerprint(root):
            raise DataError(f'{failed.get("message", "The dataset on this runtime failed its check.")}\n(The files '
                            f'are unchanged since that check.) {fix}')
        (root / FAILED_MARK).unlink(missing_ok=True)
    if not record:
        return 'no record on Drive to compare with'
    counts, kept = dataset_counts(root), record.get('counts') or {}
    if kept and counts != kept:
        raise DataError(f'{root} holds {counts} images, the dataset checked and kept on Drive ({archive}) '
                        f'{kept}: this is not the data that was checked.\n{fix}')
    hashes = record.get('sha256')
    if not isinstance(hashes, dict):
        return 'counts match the record on Drive (it has no per-file hashes: run 01 again to add them)'
    here = file_hashes(root, _data_files(root))
    changed = sorted(k for k in here.keys() & hashes.keys() if here[k] != hashes[k])
    extra, missing = sorted(here.keys() - hashes.keys()), sorted(hashes.keys() - here.keys())
    if changed or extra or missing:
        parts = [f'{len(v)} {what} ({", ".join(v[:3])}{", ..." if len(v) > 3 else ""})'
                 for v, what in ((changed, 'files differ from the record'), (extra, 'files are not in it'),
                                 (missing, 'recorded files are missing')) if v]
        raise DataError(f'{root} is not the dataset recorded with {archive}: ' + '; '.join(parts) + f'.\n{fix}')
    return f'every file\'s SHA-256 matches the record on Drive ({len(here)} files)'
