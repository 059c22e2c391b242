"""utils.core.env and utils.base.places: Colab detection, where work goes, where the trust key lives, the manifest check."""
from __future__ import annotations

import sys
import types

from utils.core import env
from utils.base import places
from utils.base.labels import REPO_ROOT


def _colab(monkeypatch, tmp_path, drive: bool) -> None:
    monkeypatch.setenv('COLAB_RELEASE_TAG', 'stand-in')
    root = tmp_path / 'content' / 'drive' / 'MyDrive'
    if drive:
        root.mkdir(parents=True)
    for module in (env, places):
        monkeypatch.setattr(module, 'DRIVE_ROOT', root)
        monkeypatch.setattr(module, 'DRIVE_PROJECT', root / 'celebamask-parsing')


def test_colab_is_detected_by_its_module_or_its_variables(monkeypatch):
    for name in ('COLAB_RELEASE_TAG', 'COLAB_GPU'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    assert not env.in_colab()
    monkeypatch.setitem(sys.modules, 'google.colab', types.ModuleType('google.colab'))
    assert env.in_colab()
    monkeypatch.delitem(sys.modules, 'google.colab')
    monkeypatch.setenv('COLAB_GPU', '1')
    assert env.in_colab()


def test_work_root_and_caches_are_on_drive_only_in_colab_with_drive(monkeypatch, tmp_path):
    for name in ('COLAB_RELEASE_TAG', 'COLAB_GPU'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    monkeypatch.setenv('CELEBAMASK_STATE', str(tmp_path / 'state'))
    assert env.default_work_root() == REPO_ROOT / 'work_dirs'
    assert env.default_work_dir('configs/x_512x512.py') == REPO_ROOT / 'work_dirs' / 'x_512x512'
    assert places.trust_key_path() == tmp_path / 'state' / 'trust-key'
    _colab(monkeypatch, tmp_path, drive=False)  # Colab, Drive not mounted: nothing goes to a Drive that is not there
    assert env.default_work_root() == REPO_ROOT / 'work_dirs'
    assert places.trust_key_path() == tmp_path / 'state' / 'trust-key'
    _colab(monkeypatch, tmp_path, drive=True)
    project = tmp_path / 'content' / 'drive' / 'MyDrive' / 'celebamask-parsing'
    assert env.default_work_root() == project / 'work_dirs' and env.pretrained_cache() == project / 'pretrained'
    assert places.trust_key_path() == project.parent / '.celebamask-parsing-trust-key'  # not in the project folder


def test_the_work_root_rule_has_one_home(tmp_path):
    """env.work_root: <the run's folder on Drive>/work_dirs, else <repo>/work_dirs; the notebooks' plan uses it."""
    from utils.notebook import workflow

    assert env.work_root() == REPO_ROOT / 'work_dirs' and env.work_root(tmp_path) == tmp_path / 'work_dirs'
    assert workflow.make_plan({'SMOKE': False}, drive_project=tmp_path).work_root == tmp_path / 'work_dirs'
    assert workflow.make_plan({'SMOKE': True}).work_root == REPO_ROOT / 'work_dirs' / 'smoke'
