"""Trust, round 4: the code check compares content (a hash per file in utils/manifest.txt), names added files, and
names top-level entries of a copy that Python would import or run in place of its own (torch/, pip/, a
sitecustomize.py, a .pth file); the set-up cell stops on them before anything imports from the copy."""
from __future__ import annotations

import shutil
from pathlib import Path

from utils.base import copycheck
from utils.core import env

REPO = Path(__file__).resolve().parent.parent


def _copy(tmp_path) -> Path:
    copy = tmp_path / 'copy'
    for name in ('utils', 'configs'):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns('__pycache__'))
    for name in copycheck.CODE_FILES:
        shutil.copy(REPO / name, copy)
    return copy


def test_a_modified_or_added_module_is_named_by_content(tmp_path, capsys, monkeypatch):
    """Same names, other content: the manifest's SHA-256 per file finds it (the check used to compare names); the
    notebooks name it in a note."""
    copy = _copy(tmp_path)
    assert env.code_problems(copy) == []
    with open(copy / 'utils' / 'core' / 'metrics.py', 'a') as fh:
        fh.write('\nimport os  # an edit\n')
    (copy / 'utils' / 'helper_of_mine.py').write_text('x = 1\n')
    changes = ' | '.join(env.code_changes(copy))
    assert '1 code files differ from the manifest (modified): utils/core/metrics.py' in changes
    assert '1 code files are not in the manifest (added): utils/helper_of_mine.py' in changes
    assert env.code_problems(copy) == []  # a student's own edit is named, not refused
    from utils.notebook import session

    monkeypatch.setattr(session, 'REPO_ROOT', copy)
    session.check_code('a Drive copy')
    out = capsys.readouterr().out
    assert 'differs from its manifest' in out and 'utils/core/metrics.py' in out


def test_entries_that_shadow_installed_packages_are_named(tmp_path):
    """torch/, mmseg/, pip/, json.py, sitecustomize.py and a .pth file at the copy's root are each named; the
    project's own folders and ordinary files are not."""
    copy = _copy(tmp_path)
    for folder in ('torch', 'mmseg', 'pip'):
        (copy / folder).mkdir()
        (copy / folder / '__init__.py').write_text('')
    for name in ('json.py', 'sitecustomize.py', 'evil.pth', 'notes.txt'):
        (copy / name).write_text('')
    (copy / 'notebooks').mkdir()
    found = copycheck.shadowing(copy)
    assert found == ['evil.pth (Python runs it at start-up)', 'json.py (shadows the standard module json)',
                     'mmseg (shadows the installed package mmseg)', 'pip (shadows the installed package pip)',
                     'sitecustomize.py (Python runs it at start-up)', 'torch (shadows the installed package torch)']
    assert any('6 entries at the top of the copy' in p for p in env.code_problems(copy))


def test_a_pip_folder_in_the_copy_stops_the_set_up_cell_before_it_runs(tmp_path):
    """REPO = a Drive copy with a pip/ folder (and a torch/ one) whose code would create a file: the set-up cell
    stops naming them, before it changes into the copy or runs pip; the file is never created."""
    from test_notebooks import _code, _fails

    code = Path(_code(tmp_path))
    marker = tmp_path / 'CODE_RAN'
    for folder in ('pip', 'torch'):
        (code / folder).mkdir()
        for name in ('__init__.py', '__main__.py'):
            (code / folder / name).write_text(f"open(r'{marker}', 'w').close()\n")
    msg = _fails(tmp_path, '00_setup', dict(SMOKE=True, REPO=str(code)))
    assert 'would import or run in place of its own' in msg and 'pip (shadows the installed package pip)' in msg
    assert 'torch (shadows the installed package torch)' in msg and not marker.exists()
