"""bootstrap.py, what every set-up cell runs: where the code comes from, a changed REPO, the hand-over to the copy's
own bootstrap, and a set-up cell short enough that each notebook is mostly its own work."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import bootstrap
from scripts import notebooks as nbtool

REPO = Path(__file__).resolve().parent.parent


def _copy(folder: Path, mark: str) -> Path:
    """A stand-in copy of the project on Drive: a utils/ folder with a file that says which copy it is."""
    (folder / 'utils').mkdir(parents=True)
    (folder / 'utils' / 'which.txt').write_text(mark)
    return folder


def _which(root: Path) -> str:
    return (root / 'celebamask-parsing' / 'utils' / 'which.txt').read_text()


def test_the_code_comes_from_repo_then_the_runs_setting_then_this_project(tmp_path):
    settings = tmp_path / 'drive' / 'MyDrive' / 'celebamask-parsing' / 'settings.json'
    assert bootstrap.code_source(None, tmp_path) == bootstrap.DEFAULT_REPO
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({'REPO': 'me/my-fork'}))
    assert bootstrap.code_source(None, tmp_path) == 'me/my-fork'
    assert bootstrap.code_source('/content/drive/MyDrive/code', tmp_path) == '/content/drive/MyDrive/code'
    settings.write_text('{"REPO": "me/\x01')  # broken: utils.notebook.session names it later; the code is this project's
    assert bootstrap.code_source(None, tmp_path) == bootstrap.DEFAULT_REPO


def test_a_changed_repo_takes_the_code_again(tmp_path, monkeypatch):
    """Round 4, s4: the runtime kept the old code while the plan named the new REPO."""
    runtime = tmp_path / 'content'
    runtime.mkdir()
    first, second = _copy(tmp_path / 'first', 'first'), _copy(tmp_path / 'second', 'second')
    monkeypatch.delitem(sys.modules, 'utils')  # a fresh kernel: nothing of the code imported yet
    bootstrap.get_code(str(first), runtime)
    assert _which(runtime) == 'first' and (runtime / '.celebamask-code-from').read_text() == str(first)
    (first / 'utils' / 'which.txt').write_text('first, edited later')
    bootstrap.get_code(str(first), runtime)  # the same REPO: the runtime's code is kept, not copied again
    assert _which(runtime) == 'first'
    bootstrap.get_code(str(second), runtime)
    assert _which(runtime) == 'second' and (runtime / '.celebamask-code-from').read_text() == str(second)


def test_a_changed_repo_in_a_kernel_that_imported_the_old_code_stops(tmp_path):
    """The old code is in this kernel (as here: utils is imported): swapping it under it would mix two versions,
    so the set-up stops, naming both sources and the way out, and leaves the runtime's code as it was."""
    runtime = tmp_path / 'content'
    runtime.mkdir()
    first, second = _copy(tmp_path / 'first', 'first'), _copy(tmp_path / 'second', 'second')
    assert 'utils' in sys.modules
    (runtime / 'celebamask-parsing').mkdir()
    import shutil
    shutil.copytree(first / 'utils', runtime / 'celebamask-parsing' / 'utils')
    (runtime / '.celebamask-code-from').write_text(str(first))
    with pytest.raises(bootstrap.StopRun) as info:
        bootstrap.get_code(str(second), runtime)
    msg = str(info.value)
    assert f'REPO is now {second}' in msg and f'the code of {first}' in msg
    assert 'Disconnect and delete runtime' in msg
    assert _which(runtime) == 'first' and (runtime / '.celebamask-code-from').read_text() == str(first)


def test_a_drive_folder_without_the_project_is_one_message(tmp_path):
    (tmp_path / 'content').mkdir()
    with pytest.raises(bootstrap.StopRun, match='holds no copy of this project'):
        bootstrap.get_code(str(tmp_path / 'elsewhere'), tmp_path / 'content')
    assert not (tmp_path / 'content' / '.celebamask-code-from').exists()


def test_the_copys_own_bootstrap_finishes_the_set_up(tmp_path, monkeypatch):
    """In Colab the bootstrap fetched first hands over to the copy's bootstrap.py, so that what finishes the set-up
    (install, import, start) matches the copy's code, a fork's or an older Drive copy's alike."""
    runtime = tmp_path / 'content'
    runtime.mkdir()
    fork = _copy(tmp_path / 'fork', 'fork')
    (fork / 'bootstrap.py').write_text(
        'import os\n'
        'def finish(notebook, namespace, source):\n'
        '    return ("the fork finished", notebook, namespace["REPO"], source, os.getcwd())\n')
    monkeypatch.setenv('COLAB_RELEASE_TAG', 'stand-in')
    monkeypatch.setenv('CELEBAMASK_CONTENT', str(runtime))
    monkeypatch.setattr(bootstrap, 'mount_drive', lambda root: None)
    monkeypatch.delitem(sys.modules, 'utils')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, 'bootstrap', bootstrap)  # the hand-over replaces it; monkeypatch puts it back
    got = bootstrap.start('04_evaluate', {'REPO': str(fork)})
    assert got == ('the fork finished', '04_evaluate', str(fork), str(fork), str(runtime / 'celebamask-parsing'))
    assert sys.modules['bootstrap'] is not bootstrap  # later cells importing bootstrap get the copy's


def _non_blank(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def test_each_notebook_is_mostly_its_own_work():
    """The set-up cell (the bootstrap's call) is under a fifth of each notebook's non-blank source lines."""
    for name in nbtool.NAMES:
        nb = nbtool.read_source(name)
        setup = _non_blank(nbtool.code_cells(nb)[1].source)
        total = sum(_non_blank(cell.source) for cell in nb.cells)
        assert setup < 0.2 * total, f'{name}: the set-up cell is {setup} of {total} non-blank lines'
