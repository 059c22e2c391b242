"""Fetch the dataset once, in the course layout: from Google Drive (gdown), a zip or folder, or the synthetic generator.

Nothing of the user's is deleted or overwritten: new data is assembled in a staging folder next to the
target and moved into place only when complete; staging folders that a killed fetch left behind are
removed (and reported) by the next fetch into the same parent folder.

The 2025-26 data (:func:`fetch_sources`) comes as ``train.zip`` (1,000 pairs), ``val.zip`` (100 images; masks in
2025, none in 2026) and ``test.zip`` (100 images), each from a Drive link or id or a path, or one folder or zip that
holds all three, or the 2025 copy's folders ``dev-public/train/{images,masks}`` + ``test-public/...``:

    python -m utils.data fetch TRAIN VAL TEST --out DIR --edition 2025     # three zips: links, ids or paths
    python -m utils.data fetch FOLDER_OR_ZIP --out DIR --edition 2025      # one holding all three
    python -m utils.data fetch synthetic --out DIR --edition 2025 [--full]

Which split a source holds is read from its folders first (the folder nearest the files that names a split:
``train/``, ``val/``, ``test/``, ``dev-public/images`` = val, since the leaderboard's dev phase scores val), then
from its own name (``train.zip``), then from its place among three sources (train, val, test). The file names,
32 hex digits, are kept as they are.
"""
from __future__ import annotations

import os
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

from utils.base.layout import SPLITS
from utils.data.common import (SYNTHETIC_2025, SYNTHETIC_DEFAULTS, DataError, clean_staging, dataset_counts, is_dataset,
                               make_staging, positive)
from utils.data.unpack import (REQUIRED_2025, _Source, check_links, install, locate_dataset, nested_zips, normalise,
                               safe_extract, split_named, zip_problem)


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
            from utils.core.synthetic import make_synthetic_dataset

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


# --------------------------------------------------------------------------- the 2025-26 zips
EDITION = '2025'


def split_sources(sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The sources as a list: a list or tuple as given, a comma-separated string split at its commas (unless that
    string is an existing path), one source alone. Empty items are dropped."""
    if isinstance(sources, (str, os.PathLike)):
        text = str(sources)
        parts = text.split(',') if ',' in text and not Path(text).expanduser().exists() else [text]
    else:
        parts = [str(s) for s in sources]
    parts = [p.strip() for p in parts if p and p.strip()]
    if not parts:
        raise DataError('no data source given: pass the course\'s train.zip, val.zip and test.zip (Drive links, ids '
                        'or paths), one folder or zip holding them, or synthetic.')
    return parts


def _hint(name: str, index: int, total: int) -> str | None:
    """The split a source holds when its folders do not say: its name's, else its place among three."""
    return split_named(name) or (SPLITS[index] if total == 3 else None)


def _check_local(path: Path) -> None:
    if not path.exists():
        raise DataError(f'source {path} does not exist. Pass Google Drive links or ids, zip or folder paths (mount '
                        'Drive first in Colab), or `synthetic`.')
    if path.is_file() and (why := zip_problem(path)) is not None:
        raise DataError(f'{path} cannot be unpacked: {why}. Download it again (or copy it again from Drive) and '
                        'fetch again; nothing was written.')
    if path.is_dir():
        check_links(path)


def _expand_zip(zip_path: Path, dest: Path, hint: str | None, progress: bool) -> list[tuple[Path, str | None]]:
    """Unzip ``zip_path`` into ``dest``; a zip that holds only zips (the three of the course) has each of those
    unzipped beside it. Returns the folders to search, each with its split hint."""
    raw = safe_extract(zip_path, dest, progress=progress)
    return _expand_folder(raw, hint, dest.parent / f'{dest.name}-inner', progress)


def _expand_folder(folder: Path, hint: str | None, spare: Path, progress: bool) -> list[tuple[Path, str | None]]:
    """``folder`` itself, or, when it holds no image but zips, each zip unzipped under ``spare``."""
    inner = nested_zips(folder)
    if not inner:
        return [(folder, hint)]
    roots: list[tuple[Path, str | None]] = []
    for j, rel in enumerate(inner):
        name = Path(rel).name
        if zip_problem(folder / rel) is not None:
            raise DataError(f'{folder / rel} (inside the source) cannot be unpacked: {zip_problem(folder / rel)}. '
                            'Get that zip again; nothing was written.')
        raw = safe_extract(folder / rel, spare / f'{j}-{Path(name).stem}', progress=progress)
        roots.append((raw, split_named(name) or hint))
    return roots


def _gather(srcs: list[str], staging: Path, out: Path, download_dir, progress: bool
            ) -> list[tuple[Path, str | None]]:
    """Every source as folders to search, each with its split hint (zips unpacked into ``staging``)."""
    roots: list[tuple[Path, str | None]] = []
    for i, src in enumerate(srcs):
        drive = parse_drive_source(src)
        spare = staging / 'raw' / f'{i}-inner'
        if drive is not None and drive[0] == 'folder':
            import gdown

            raw = staging / 'raw' / f'{i}'
            try:
                gdown.download_folder(id=drive[1], output=str(raw), quiet=not progress, resume=True)
            except Exception as e:  # gdown raises its own error types, requests errors, OSError...
                raise DataError(f'download of Google Drive folder {drive[1]} failed: {type(e).__name__}: {e}. Share '
                                'the zips one by one instead (their links or ids, train, val, test).') from None
            roots += _expand_folder(raw, _hint('', i, len(srcs)), spare, progress)
            continue
        hint = _hint('' if drive else Path(src).name, i, len(srcs))
        path = download_drive_file(drive[1], download_dir or out.parent, progress) if drive else Path(src).expanduser()
        if path.is_dir():
            roots += _expand_folder(path, hint, spare, progress)
        else:
            roots += _expand_zip(path, staging / 'raw' / f'{i}', hint, progress)
    return roots


def _merge(roots: list[tuple[Path, str | None]]) -> dict[str, _Source]:
    """One layout from the folders of every source: for a folder found twice, the one with more files."""
    layout: dict[str, _Source] = {}
    for root, hint in roots:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # several candidates within one source: compared below with the rest
            found = locate_dataset(root, split_hint=hint, required=())
        for key, src in found.items():
            if key in layout and layout[key].n != src.n:
                warnings.warn(f'two sources hold {key}: {layout[key].folder} ({layout[key].n} files) and {src.folder} '
                              f'({src.n} files); used the larger', stacklevel=3)
            if key not in layout or src.n > layout[key].n:
                layout[key] = src
    missing = [k for k in REQUIRED_2025 if k not in layout]
    if missing:
        seen = ', '.join(f'{k} = {v.folder} ({v.n} files)' for k, v in layout.items()) or 'no images at all'
        raise DataError(f'the 2025-26 data needs {", ".join(REQUIRED_2025)}; not found: {", ".join(missing)} (found: '
                        f'{seen}). Give all three zips, train, val and test (their Drive links, ids or paths, in that '
                        'order when their names do not say which is which), or one folder or zip holding them. '
                        'Nothing was written.')
    return layout


def fetch_sources(sources: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike = 'data/celebamask',
                  edition: str | None = None, *, size: int | None = None, counts: Sequence[int] | None = None,
                  download_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Put the dataset of ``edition`` at ``out`` in the course layout once, and return ``out``.

    ``sources``: a list, or a comma-separated string, of Drive links or ids, zip or folder paths, or
    ``'synthetic'`` (2025: 32-hex-digit names, val without masks; ``size`` px, ``counts`` train/val/test,
    default 64 px and 40/8/8). The 2022 edition takes one source (:func:`utils.data.fetch.fetch`).
    """
    from utils.base.edition import rules

    edition = rules(edition).edition  # an unknown edition is named first
    srcs = split_sources(sources)
    if edition != EDITION:
        if len(srcs) != 1:
            raise DataError(f'the 2022 data is one zip or folder; got {len(srcs)} sources ({", ".join(srcs)}). For '
                            'the 2025-26 zips (train, val, test) set EDITION = \'2025\' (--edition 2025).')
        return fetch(srcs[0], out, size=size, counts=counts, download_dir=download_dir, progress=progress)
    out = Path(out).expanduser().absolute()
    positive('size', size)
    if counts is not None and (len(counts) != 3 or any(positive_or_none(c) is None for c in counts)):
        raise DataError(f'counts={tuple(counts)!r}: give three positive whole numbers, train,val,test (e.g. 40,8,8).')
    synthetic = srcs == ['synthetic']
    if not synthetic and 'synthetic' in srcs:
        raise DataError('`synthetic` is a source of its own: give it alone, or only real data sources.')
    if not synthetic and (size is not None or counts is not None):
        warnings.warn(f'size/counts apply to the synthetic source only; ignored them for {", ".join(srcs)}',
                      stacklevel=2)
    for src in srcs:
        if not synthetic and parse_drive_source(src) is None:
            _check_local(Path(src).expanduser())
    clean_staging(out.parent, 'fetch')
    if _already_there(out, edition):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging(out, 'fetch')
    try:
        ds = staging / 'dataset'
        if synthetic:
            from utils.core.synthetic import make_synthetic_dataset

            n_train, n_val, n_test = SYNTHETIC_2025['counts'] if counts is None else counts
            make_synthetic_dataset(ds, n_train, n_val, n_test, size=SYNTHETIC_2025['size'] if size is None else size,
                                   progress=progress, edition=edition)
        else:
            layout = _merge(_gather(srcs, staging, out, download_dir, progress))
            staged = {k: v for k, v in layout.items() if Path(staging).resolve() in v.folder.resolve().parents}
            normalise(staged, ds, move=True, progress=progress)
            normalise({k: v for k, v in layout.items() if k not in staged}, ds, move=False, progress=progress)
        if not is_dataset(ds, edition):
            raise DataError(f'the data from {", ".join(srcs)} is incomplete: some training images have no mask (or '
                            f'val masks do not pair with val images), or a split is empty (counts {dataset_counts(ds)}). '
                            f'Check the sources; nothing was written to {out}.')
        install(ds, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # our own temporary folder only
    c = dataset_counts(out)
    print(f'dataset ready at {out}: train {c["train"]}, val {c["val"]}, test {c["test"]} images'
          f'{" (val with masks)" if (out / "val" / "val_mask").is_dir() else " (val without masks)"}')
    return out
