"""Text files of a run made portable for the hand-in zip: the absolute paths of the machine that trained or built it
(the work root, each stage's work_dir, the data root, this checkout, the home folder) rewritten relative to the run,
as a reader of the zip finds them (``work_dirs/<stage>``, ``data/celebamask``, ``code``)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from utils.base.labels import REPO_ROOT
from utils.handin.rundata import RunData

#: what a text file is, for the rewrite (the rest is copied byte for byte)
TEXT_SUFFIXES = ('.json', '.py', '.csv', '.txt', '.md', '.tex', '.log', '.yaml', '.yml', '.cfg', '.toml')


def _forms(path: Path) -> set[str]:
    """A path as it may be written: given, absolute and resolved (a symbolic link in /tmp, /content ...)."""
    out = {str(path)}
    try:
        out |= {str(path.absolute()), str(path.resolve())}
    except OSError:
        pass
    return {p.rstrip('/') for p in out if p.startswith('/') and len(p) > 1}


def path_map(run: RunData, data_roots: Iterable[str | os.PathLike] = ()) -> list[tuple[str, str]]:
    """``(absolute, relative)`` pairs, the longest first, so that a stage's work_dir wins over its work root."""
    pairs: dict[str, str] = {}
    roots = {Path(r['data_root']) for r in run.records if r.get('data_root')} | {Path(p) for p in data_roots}
    for root in roots:
        pairs.update({f: 'data/celebamask' for f in _forms(root)})
    for wd in run.stages:
        pairs.update({f: f'work_dirs/{wd.name}' for f in _forms(wd)})
        pairs.update({f: 'work_dirs' for f in _forms(wd.parent)})
        for rec in run.records:  # the work_dir a record saw (the run may have moved since: Drive, a copy)
            if rec.get('work_dir') and Path(rec['work_dir']).name == wd.name:
                pairs.update({f: f'work_dirs/{wd.name}' for f in _forms(Path(rec['work_dir']))})
                pairs.update({f: 'work_dirs' for f in _forms(Path(rec['work_dir']).parent)})
    pairs.update({f: 'code' for f in _forms(REPO_ROOT)})
    pairs.update({f: '~' for f in _forms(Path.home())})
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def portable(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with every absolute path of ``pairs`` replaced by its relative form (whole path parts only)."""
    for absolute, relative in pairs:
        text = re.sub(re.escape(absolute) + r'(?=[/\\"\'\s,)\]}]|$)', relative, text)
    return text


def portable_bytes(path: Path, pairs: list[tuple[str, str]]) -> bytes:
    """The file's bytes, rewritten by :func:`portable` when it is a text file."""
    data = path.read_bytes()
    if path.suffix.lower() not in TEXT_SUFFIXES or b'\0' in data[:4096]:
        return data
    try:
        return portable(data.decode('utf-8'), pairs).encode('utf-8')
    except UnicodeDecodeError:
        return data
