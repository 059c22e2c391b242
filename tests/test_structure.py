"""The shape of utils/: packages by floor, each importing only from its own floor and the floors below, no import
cycles, the trainer imported only by what trains, modules small enough to live in. Imports inside functions count
too."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parent.parent / 'utils'
MAX_LINES = 600
#: modules whose job includes training (gpu_check trains 300 AMP iterations to prove the GPU path; session runs
#: the training stages of notebooks 02 and 03)
TRAINERS = {'utils.train', 'utils.gpu_check', 'utils.notebook.steps', 'utils.bench'}  # steps: 02/03 train a stage


def module_name(path: Path) -> str:
    parts = path.relative_to(UTILS.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _resolve(base: str, level: int, target: str | None, is_package: bool) -> str:
    parts = base.split('.')
    if not is_package:
        parts = parts[:-1]
    parts = parts[:len(parts) - (level - 1)] if level > 1 else parts
    return '.'.join(parts + ([target] if target else []))


def _imports(mod: str, path: Path) -> set[str]:
    """Every module that ``mod`` imports, resolved (``from . import x`` counts as importing ``utils.x``)."""
    deps: set[str] = set()
    is_pkg = path.name == '__init__.py'
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node.level, node.module, is_pkg) if node.level else (node.module or '')
            for alias in node.names:
                full = f'{base}.{alias.name}'
                deps.add(full if full in _files() else base)
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names)
    return deps


@lru_cache(maxsize=1)
def _files() -> dict[str, Path]:
    return {module_name(p): p for p in UTILS.rglob('*.py')}


@lru_cache(maxsize=1)
def import_graph() -> dict[str, set[str]]:
    """``module -> utils modules it imports``."""
    return {mod: {d for d in _imports(mod, path) if d in _files() and d != mod} for mod, path in _files().items()}


def test_every_import_of_utils_resolves():
    """A relative import that points nowhere (``from .synthetic`` inside utils/data/) fails only when run."""
    missing = {f'{mod}: {d}' for mod, path in _files().items() for d in _imports(mod, path)
               if d.startswith('utils') and d not in _files()}
    assert not missing, sorted(missing)


def levels(graph: dict[str, set[str]]) -> dict[str, int]:
    """1 for a module that imports no other utils module, else 1 + the deepest of its imports."""
    out: dict[str, int] = {}
    visiting: list[str] = []

    def level(m: str) -> int:
        if m in out:
            return out[m]
        if m in visiting:
            raise AssertionError('import cycle: ' + ' -> '.join(visiting[visiting.index(m):] + [m]))
        visiting.append(m)
        out[m] = 1 + max((level(d) for d in graph[m]), default=0)
        visiting.pop()
        return out[m]

    for m in graph:
        level(m)
    return out


#: The floors of utils/, lowest first. A module imports from its own package, from the floors below, and (only on
#: the floors of the pipeline steps and the tools) from the other packages of its own floor; never from above.
FLOORS = {
    'utils.base': 0,  # ground facts and I/O: labels, rules by edition, folders, errors, atomic writes, image reading
    'utils.core': 1,  # the library: config, model, checkpoints, inference, metrics, statistics, weights
    'utils.plugins': 2,  # what the configs' custom_imports register with MMSeg: dataset, transforms, losses, hooks
    'utils.data': 3, 'utils.train': 3, 'utils.evaluate': 3, 'utils.submit': 3, 'utils.handin': 3,  # the steps
    'utils.notebook': 4,  # the notebooks' face: session, plan, readings, widgets, what each notebook does
    'utils.bench': 5, 'utils.gpu_check': 5,  # developer and runtime tools
}
SHARED_FLOORS = {3, 5}
#: What may lie directly in utils/: the package itself, the command entry points and the packages above.
TOP_LEVEL = {'utils', 'utils.train', 'utils.evaluate', 'utils.bench', 'utils.gpu_check'}


def home(mod: str) -> str:
    """The entry of FLOORS that ``mod`` belongs to (``utils`` for the package's own __init__)."""
    return next((h for h in FLOORS if mod == h or mod.startswith(h + '.')), mod)


def floor_breaches(graph: dict[str, set[str]]) -> set[str]:
    """Imports that reach a higher floor, or another package of the same floor where that floor does not share."""
    out = set()
    for mod, deps in graph.items():
        a = home(mod)
        for dep in deps:
            b = home(dep)
            if a == b or a == 'utils' or b == 'utils':
                continue
            if FLOORS[b] > FLOORS[a] or (FLOORS[b] == FLOORS[a] and FLOORS[a] not in SHARED_FLOORS):
                out.add(f'{mod} -> {dep}')
    return out


def test_no_import_cycles():
    levels(import_graph())


def test_each_package_imports_only_from_its_floor_and_below():
    assert floor_breaches(import_graph()) == set()


def test_only_entry_points_and_packages_lie_directly_in_utils():
    top = {m for m in _files() if m.count('.') <= 1} - {h for h in FLOORS if (UTILS.parent / h.replace('.', '/')).is_dir()}
    assert top <= TOP_LEVEL, sorted(top - TOP_LEVEL)
    assert {home(m) for m in _files()} <= set(FLOORS) | {'utils'}, 'a package with no floor'


def test_only_training_modules_import_the_trainer():
    importers = {m for m, deps in import_graph().items() if 'utils.train' in deps}
    assert importers <= TRAINERS, importers - TRAINERS


@pytest.mark.parametrize('path', sorted(UTILS.rglob('*.py')), ids=lambda p: str(p.relative_to(UTILS)))
def test_module_size(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_checker_sees_cycles_and_depth():
    """The checker itself: a made-up cycle is reported, and levels count from 1."""
    assert levels({'a': set(), 'b': {'a'}, 'c': {'b', 'a'}}) == {'a': 1, 'b': 2, 'c': 3}
    with pytest.raises(AssertionError, match='import cycle: a -> b -> a'):
        levels({'a': {'b'}, 'b': {'a'}})
    assert floor_breaches({'utils.core.a': {'utils.notebook.b'}, 'utils.data.c': {'utils.submit.d'},
                           'utils.core.e': {'utils.plugins.f'}, 'utils.plugins.g': {'utils.core.h'}}) == {
        'utils.core.a -> utils.notebook.b', 'utils.core.e -> utils.plugins.f'}
    g = import_graph()
    assert 'utils.core.config' in g['utils.train'] and 'utils.core.checkpoints' in g['utils.train']
    assert 'utils.data.unpack' in g['utils.data.fetch']


#: The length bound of a function (its def line to its last line).
MAX_FUNCTION_LINES = 80


def _function_lengths() -> dict[str, int]:
    out = {}
    for path in UTILS.rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[f'{path.relative_to(UTILS.parent).as_posix()}:{node.name}'] = node.end_lineno - node.lineno + 1
    return out


def test_functions_are_short():
    """No function over MAX_FUNCTION_LINES: split it into named steps instead."""
    long = {name: n for name, n in _function_lengths().items() if n > MAX_FUNCTION_LINES}
    assert not long, long


def test_every_error_of_the_project_is_a_known_error():
    """One base class for known failures (utils.base.layout.KnownError): every entry point and the notebooks' guard
    catch that one type, so an error class outside it would end in a traceback."""
    import importlib

    from utils.base.layout import KnownError

    found = []
    for mod, path in _files().items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.name.endswith('Error'):
                found.append(getattr(importlib.import_module(mod), node.name))
    assert len(found) >= 15 and [c for c in found if not issubclass(c, KnownError)] == []


def test_the_registering_modules_are_listed_once():
    """Every module that registers with MMSeg/MMEngine is in default_runtime's custom_imports, the one list that
    both training and utils.core.model.init_registries import (gpu_check and checkpoint_hook register themselves where
    they are used)."""
    from utils.core.model import registering_modules

    registering = {mod for mod, path in _files().items() if 'register_module()' in path.read_text()}
    assert registering - set(registering_modules()) <= {'utils.gpu_check', 'utils.plugins.checkpoint_hook'}, registering
    assert set(registering_modules()) <= registering
