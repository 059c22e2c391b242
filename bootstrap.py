"""What every notebook's set-up cell does before the notebook's own work, with Python's standard library only.

The set-up cell is fourteen lines: it fetches this file when the runtime has no copy yet, imports it and calls
:func:`start`. In Colab, :func:`start`

1. mounts Google Drive (the only disk that survives the runtime; Colab asks once for permission),
2. gets the project's code onto the runtime's disk (``/content/celebamask-parsing``) from ``REPO``: GitHub's
   ``owner/name`` (cloned) or a Drive folder holding a copy (copied, links kept as links); without ``REPO``, the
   run's own (``settings.json`` on Drive), else this project. A ``REPO`` other than the one the runtime's code came
   from takes the code again,
3. checks the copy before anything of it is imported (no entry that Python would import in place of an installed
   package or run at start-up),
4. hands over to the copy's own ``bootstrap.py`` (so a fork's set-up is the fork's),
5. installs what the runtime lacks of ``requirements.txt``, pinning the runtime's own torch, torchvision, numpy and
   OpenCV so that nothing forces a runtime restart,

and everywhere it then imports ``utils.notebook.session`` and returns ``session.start``'s plan. A step that fails raises
:class:`StopRun`: Run All stops at the set-up cell with one message saying what to do, and no traceback.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_REPO = 'celebamask-parsing/celebamask-parsing'
#: The raw file the set-up cell fetches on a runtime that has no copy of the code yet.
URL = f'https://raw.githubusercontent.com/{DEFAULT_REPO}/HEAD/bootstrap.py'
#: What the set-up cell needs installed; anything missing installs ``requirements.txt``.
NEEDED = ('mmseg', 'mmengine', 'mmcv', 'ftfy', 'gdown')
#: What pip may never replace on Colab (pinned to the runtime's own versions while installing).
KEEP = ('torch', 'torchvision', 'numpy')
_RESTART = 'choose Runtime > Disconnect and delete runtime, then Run all.'


class StopRun(Exception):
    """Stops Run All at the set-up cell with one message (what failed and what to do), without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return ['\x1b[1;31m' + line + '\x1b[0m' for line in str(self).splitlines()]


def in_colab() -> bool:
    return 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ


def content() -> Path:
    """The runtime's own disk (``/content`` in Colab; the harness's stand-in runtimes set CELEBAMASK_CONTENT)."""
    return Path(os.environ.get('CELEBAMASK_CONTENT', '/content'))


def mount_drive(root: Path) -> None:
    """Mount Google Drive at ``root/drive``; a refusal is said here and explained by each notebook's plan."""
    try:
        from google.colab import drive
        with contextlib.redirect_stdout(io.StringIO()):
            drive.mount(str(root / 'drive'))
    except Exception as exc:
        print(f'Google Drive could not be mounted ({exc}).')


def code_source(repo: str | None, root: Path) -> str:
    """Where the code comes from: ``repo`` when set, else the run's REPO (``settings.json`` on Drive), else this
    project. A broken settings.json is left to ``utils.notebook.session`` to name (00_setup rewrites it)."""
    if repo:
        return repo
    kept = root / 'drive' / 'MyDrive' / 'celebamask-parsing' / 'settings.json'
    try:
        kept_repo = json.loads(kept.read_text()).get('REPO') if kept.is_file() else None
    except (OSError, ValueError, AttributeError, RecursionError):
        kept_repo = None
    return kept_repo if isinstance(kept_repo, str) and kept_repo else DEFAULT_REPO


def get_code(source: str, root: Path) -> Path:
    """The code of ``source`` at ``root/celebamask-parsing``, taken again when the runtime's code came from another
    source (recorded in ``root/.celebamask-code-from``). A kernel that already imported the old code cannot have it
    swapped under it: it is told to restart the runtime."""
    code, came_from = root / 'celebamask-parsing', root / '.celebamask-code-from'
    if (code / 'utils').is_dir() and came_from.is_file() and came_from.read_text() != source:  # REPO changed
        if 'utils' in sys.modules:
            raise StopRun(f'REPO is now {source}, but this runtime runs the code of {came_from.read_text()}.\n'
                          f'What to do: {_RESTART}')
        shutil.rmtree(code)
    if not (code / 'utils').is_dir():
        if source.startswith('/'):
            _copy_from_drive(Path(source), code)
        else:
            _clone(source, code)
    came_from.write_text(source)
    return code


def _copy_from_drive(folder: Path, code: Path) -> None:
    if not (folder / 'utils').is_dir():
        raise StopRun(f'Getting the code failed: {folder} holds no copy of this project (no utils/ in it).\n'
                      'What to do: set REPO to the Drive folder that holds README.md and utils/, or to '
                      'owner/name on GitHub, then run this cell again.')
    if code.exists():
        shutil.rmtree(code)
    shutil.copytree(folder, code, symlinks=True,  # links are copied as links, never followed; checked later
                    ignore=shutil.ignore_patterns('.git', '.venv*', 'work_dirs', 'outputs'))


def _clone(repo: str, code: Path) -> None:
    if code.exists():
        shutil.rmtree(code)
    got = subprocess.run(['git', 'clone', '-q', '--depth', '1', f'https://github.com/{repo}.git', str(code)],
                         capture_output=True, text=True)
    if got.returncode:
        said = (got.stderr.strip().splitlines() or [f'exit code {got.returncode}'])[-1]
        raise StopRun(f'Getting the code failed: git clone https://github.com/{repo} said: {said}\n'
                      'What to do: check REPO (owner/name of a public repository, e.g. your fork), or set it to '
                      'a Drive folder holding a copy of the project, then run this cell again.')


def check_copy(code: Path, source: str) -> None:
    """Stop when the copy has entries Python would import or run in place of its own (read by path, before any
    of the copy is imported)."""
    if not (code / 'utils' / 'base' / 'copycheck.py').is_file():
        return  # an incomplete copy: named when utils.notebook.session is imported
    shadows = runpy.run_path(str(code / 'utils' / 'base' / 'copycheck.py'))['shadowing'](code)
    if shadows:
        raise StopRun(f'The code in {code} (from {source}) has entries that Python would import or run in place '
                      f'of its own: {", ".join(shadows)}.\nWhat to do: remove them from the copy (a `pip install '
                      f'--target` into the project folder leaves such folders), then {_RESTART}')


def install(code: Path) -> None:
    """Install requirements.txt where something is missing, pinning the runtime's own torch, torchvision, numpy and
    OpenCV; pip runs from outside the copy (``python -m`` would run a ``pip/`` folder of the copy)."""
    if all(importlib.util.find_spec(name) is not None for name in NEEDED):
        return
    frozen = subprocess.run([sys.executable, '-m', 'pip', 'freeze'], capture_output=True, text=True, cwd='/').stdout
    keep = Path('/tmp/colab-keep.txt')
    keep.write_text(''.join(line + '\n' for line in frozen.splitlines()
                            if line.split('==')[0].lower() in KEEP or line.lower().startswith('opencv')))
    got = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '-r', str(code / 'requirements.txt'),
                          '-c', str(keep)], capture_output=True, text=True, cwd='/')
    if got.returncode:
        raise StopRun('Installing the requirements failed:\n' + '\n'.join(got.stderr.strip().splitlines()[-3:])
                      + '\nWhat to do: run this cell again; if it fails again, ' + _RESTART)


def _own(code: Path):
    """The copy's own bootstrap module, which finishes the set-up with what matches its code (this module when it
    is the copy's, or when the copy has none)."""
    own = code / 'bootstrap.py'
    if not own.is_file() or Path(__file__).resolve() == own.resolve():
        return sys.modules[__name__]
    spec = importlib.util.spec_from_file_location('bootstrap', own)
    module = importlib.util.module_from_spec(spec)
    sys.modules['bootstrap'] = module
    spec.loader.exec_module(module)
    return module


def start(notebook: str, namespace: dict):
    """The set-up of ``notebook`` whose parameters are in ``namespace`` (the notebook's globals); returns the plan."""
    if in_colab():
        root = content()
        mount_drive(root)
        source = code_source(namespace.get('REPO'), root)
        code = get_code(source, root)
        check_copy(code, source)
        os.chdir(code)
        return _own(code).finish(notebook, namespace, source)
    if Path.cwd().name == 'notebooks':
        os.chdir('..')
    return finish(notebook, namespace, os.getcwd())


def finish(notebook: str, namespace: dict, source: str):
    """Install what is missing (Colab), import the code in the working folder and start ``notebook``'s session."""
    if in_colab():
        install(Path.cwd())
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        from utils.notebook import session
    except ImportError as exc:
        raise StopRun(f'The code in {os.getcwd()} (from {source}) is incomplete: {exc}.\nWhat to do: put a complete '
                      'copy of the project there (or set REPO to owner/name on GitHub), then ' + _RESTART) from None
    return session.start(notebook, {name: namespace.get(name) for name in session.PARAMETERS}, code_from=source)
