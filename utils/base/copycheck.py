"""Is a copy of the project whole and nothing more? Standard library only, so that the set-up cell can run this file
by its path (``runpy.run_path``) before anything of the copy is imported.

* :func:`manifest_problems` / :func:`manifest_changes`: the manifest (``utils/manifest.txt``: ``<sha256>  <path>``
  per code file) against the copy: files missing (the copy is unusable); files whose content differs and code
  files it does not list (named, so that a student knows the code is not the project's as published).
* :func:`shadowing`: top-level entries of the copy that Python would import instead of an installed package or a
  standard module (a ``torch/``, ``mmseg/`` or ``pip/`` folder, a ``json.py``), and the files Python's start-up runs
  (``sitecustomize.py``, ``usercustomize.py``, ``*.pth``). The set-up cell changes into the copy, so each would
  run as soon as anything imports that name (``python -m pip`` runs a ``pip/`` folder there).
"""
from __future__ import annotations

import hashlib
import importlib.machinery
import os
import sys
from pathlib import Path

MANIFEST = 'utils/manifest.txt'
CODE_FOLDERS, CODE_FILES = ('utils', 'configs'), ('bootstrap.py', 'requirements.txt')
#: The project's own top-level entries (and the folders a run makes): never shadowing, whatever is installed.
PROJECT_TOP = {'bootstrap.py', 'utils', 'configs', 'notebooks', 'scripts', 'tests', 'docs', 'assets', 'data', 'work_dirs',
               'outputs', 'handin', '.ci', '.git', '.github'}
STARTUP_FILES = ('sitecustomize.py', 'usercustomize.py')


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as fh:
        for block in iter(lambda: fh.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def code_files(root: str | os.PathLike) -> list[str]:
    """The code files under ``root`` the manifest lists: ``.py`` of utils/ and configs/, bootstrap.py and requirements.txt
    (walked without following links)."""
    root = Path(root)
    found = [name for name in CODE_FILES if (root / name).is_file()]
    for folder in CODE_FOLDERS:
        for here, dirs, files in os.walk(root / folder):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            found += [(Path(here) / f).relative_to(root).as_posix() for f in files if f.endswith('.py')]
    return sorted(found)


def manifest_text(root: str | os.PathLike) -> str:
    """The manifest of the code under ``root``: ``<sha256>  <path>`` a line (the format of ``sha256sum``)."""
    return ''.join(f'{sha256_file(Path(root) / name)}  {name}\n' for name in code_files(root))


def read_manifest(text: str) -> dict[str, str | None]:
    """``{path: sha256}`` of a manifest; a line of an older manifest (a path alone) has no hash (None)."""
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        parts = line.strip().split('  ', 1)
        if len(parts) == 2 and len(parts[0]) == 64:
            out[parts[1].strip()] = parts[0]
        elif line.strip():
            out[line.strip()] = None
    return out


def _listed(root: Path) -> dict[str, str | None] | None:
    try:
        return read_manifest((root / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError):
        return None


def _names(names: list[str]) -> str:
    return f'{", ".join(names[:8])}{", ..." if len(names) > 8 else ""}'


def manifest_problems(root: str | os.PathLike) -> list[str]:
    """What makes the copy unusable: the manifest missing, or files of it missing from the copy."""
    root = Path(root)
    listed = _listed(root)
    if listed is None:
        return [f'{MANIFEST} is missing, so the copy cannot be checked']
    missing = [n for n in listed if not (root / n).is_file() or (root / n).is_symlink()]
    return [f'{len(missing)} of the project\'s {len(listed)} code files are missing: {_names(missing)}'] if missing \
        else []


def manifest_changes(root: str | os.PathLike) -> list[str]:
    """How the copy's code differs from its manifest, by content: files modified, code files added."""
    root = Path(root)
    listed = _listed(root) or {}
    present = [n for n in listed if (root / n).is_file() and not (root / n).is_symlink()]
    changed = [n for n in present if listed[n] and sha256_file(root / n) != listed[n]]
    extra = [n for n in code_files(root) if n not in listed]
    return [f'{len(names)} {what}: {_names(names)}' for names, what in (
        (changed, 'code files differ from the manifest (modified)'),
        (extra, 'code files are not in the manifest (added)')) if names]


def shadowing(root: str | os.PathLike) -> list[str]:
    """Top-level entries of ``root`` that would be imported in place of an installed package or a standard module,
    or that Python's start-up runs; each named with what it shadows."""
    root = Path(root)
    outside = [p for p in sys.path if p not in ('', '.') and Path(p).resolve() != root.resolve()]
    found = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return found
    for entry in entries:
        name = entry.name
        if name in STARTUP_FILES or name.endswith('.pth'):
            found.append(f'{name} (Python runs it at start-up)')
            continue
        module = name[:-3] if name.endswith('.py') else name if entry.is_dir() else None
        if module is None or name in PROJECT_TOP or not module.isidentifier():
            continue
        if module in sys.stdlib_module_names or module in sys.builtin_module_names:
            found.append(f'{name} (shadows the standard module {module})')
        elif importlib.machinery.PathFinder.find_spec(module, outside) is not None:
            found.append(f'{name} (shadows the installed package {module})')
    return found
