"""The notebooks' source of truth is ``notebooks/NN_name.py`` (jupytext percent format); the ``.ipynb`` is built.

    python -m scripts.notebooks sync     # bring back .ipynb edits (e.g. from Colab), share the common cells, build
    python -m scripts.notebooks check    # what the tests run: every .ipynb equals its build, shared cells agree

Why percent files: a maintainer edits plain Python with editor support and ruff, and reviews readable diffs;
Colab and Jupyter still get ordinary notebooks. An edit made in Colab comes back with ``sync``: a ``.ipynb``
whose code or text differs from its ``.py`` and is newer is converted back to the ``.py`` first (download it
from Colab into notebooks/, then run ``make notebooks``).

Shared cells, stated once and copied into every notebook by ``sync``: the parameters cell (the first code cell),
built from ``utils/notebook/parameters.py`` (each parameter declared once), showing only the parameters the notebook reads, and
the set-up cell (the second), from ``00_setup.py``, whose only difference is the ``NOTEBOOK = '...'`` line.
Built notebooks carry no outputs, stable cell ids (``<notebook>-NN``) and Colab metadata: a T4 runtime for the
notebooks that need a GPU (``utils.notebook.parameters.RUNTIMES``), Colab's CPU runtime for the others.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parent.parent
NB_DIR = REPO / 'notebooks'

from utils.notebook.parameters import NOTEBOOKS as NAMES, RUNTIMES  # noqa: E402  (the notebooks and their runtimes, stated once)

CANONICAL = '00_setup'
_NOTEBOOK_LINE = re.compile(r"^NOTEBOOK = '[^']*'", re.M)
_PARAMETER_LINE = re.compile(r'^([A-Z][A-Z0-9_]*) = ')
#: Where each parameter is declared once (its line in the parameters cell, its check, which notebooks read it).
PARAMETERS_FILE = 'utils/notebook/parameters.py'
METADATA = {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
            'language_info': {'name': 'python'}, 'colab': {'provenance': []}}
#: What Colab reads to open a notebook on a T4 runtime; a notebook without it opens on a CPU runtime.
GPU_METADATA = {'accelerator': 'GPU', 'colab': {'provenance': [], 'gpuType': 'T4'}}


def metadata(name: str) -> dict:
    """The Colab metadata of ``name``'s ``.ipynb``: a T4 runtime where :data:`utils.notebook.parameters.RUNTIMES` says GPU."""
    import copy

    return copy.deepcopy({**METADATA, **(GPU_METADATA if RUNTIMES[name] == 'GPU' else {})})


def runtime_of(nb: nbformat.NotebookNode) -> str:
    """'GPU' when Colab opens ``nb`` on a T4 runtime (its metadata asks for one), else 'CPU'."""
    colab = nb.metadata.get('colab', {})
    return 'GPU' if nb.metadata.get('accelerator') == 'GPU' and colab.get('gpuType') else 'CPU'


def read_source(name: str) -> nbformat.NotebookNode:
    """The notebook as written in ``notebooks/<name>.py``."""
    return jupytext.read(NB_DIR / f'{name}.py', fmt='py:percent')


def code_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == 'code']


def parameters_cell(name: str) -> str:
    """``name``'s parameters cell, built from the parameters' one declaration each (``utils.notebook.parameters``)."""
    from utils.notebook.parameters import parameters_cell as build_cell

    return build_cell(name)


def shared_cells(name: str) -> tuple[str, str]:
    """The parameters cell and the set-up cell of ``name``, as they must read (``_parameters.py``, ``00_setup.py``)."""
    setup = code_cells(read_source(CANONICAL))[1]
    return parameters_cell(name), _NOTEBOOK_LINE.sub(f"NOTEBOOK = '{name}'", setup.source)


def build(name: str) -> nbformat.NotebookNode:
    """The ``.ipynb`` of ``name``: cells from its ``.py``, no outputs, stable ids, Colab metadata."""
    nb = read_source(name)
    out = nbformat.v4.new_notebook()
    out.metadata.update(metadata(name))
    setup = code_cells(nb)[1] if len(code_cells(nb)) > 1 else None
    for i, cell in enumerate(nb.cells):
        new = (nbformat.v4.new_markdown_cell if cell.cell_type == 'markdown' else nbformat.v4.new_code_cell)(cell.source)
        tags = cell.metadata.get('tags')
        if tags:
            new.metadata['tags'] = list(tags)
        if cell is setup:  # Colab shows its '#@title' line and folds the code away (a click shows it)
            new.metadata['cellView'] = 'form'
        new.id = f'{name}-{i:02d}'
        out.cells.append(new)
    return out


def problems(name: str) -> list[str]:
    """What is wrong with ``name``'s files: an ``.ipynb`` out of date, outputs, shared cells that drifted."""
    found = []
    code = code_cells(read_source(name))
    params, setup = shared_cells(name)
    if len(code) < 2 or 'parameters' not in code[0].metadata.get('tags', []):
        found.append(f'{name}.py: the first code cell must be the parameters cell (tags=["parameters"])')
    elif code[0].source != params:
        found.append(f'{name}.py: its parameters cell differs from the one built from {PARAMETERS_FILE}')
    if len(code) < 2 or code[1].source != setup:
        found.append(f'{name}.py: its set-up cell differs from {CANONICAL}.py\'s (only the NOTEBOOK line may differ)')
    path = NB_DIR / f'{name}.ipynb'
    if not path.is_file():
        return found + [f'{name}.ipynb is missing']
    nb = nbformat.read(path, as_version=4)
    if any(c.get('outputs') or c.get('execution_count') for c in code_cells(nb)):
        found.append(f'{name}.ipynb holds outputs: clear them (sync does)')
    fresh = build(name)
    if [(c.id, c.cell_type, c.source, c.metadata.get('tags')) for c in fresh.cells] != \
            [(c.id, c.cell_type, c.source, c.metadata.get('tags')) for c in nb.cells]:
        found.append(f'{name}.ipynb differs from {name}.py')
    if runtime_of(nb) != RUNTIMES[name]:
        found.append(f'{name}.ipynb asks Colab for a {runtime_of(nb)} runtime, utils.notebook.parameters.RUNTIMES says '
                     f'{RUNTIMES[name]}: run sync')
    return found


def _pull_back(name: str) -> bool:
    """Convert an edited, newer ``.ipynb`` back into its ``.py``; True when it did."""
    py, ipynb = NB_DIR / f'{name}.py', NB_DIR / f'{name}.ipynb'
    if not ipynb.is_file() or (py.is_file() and py.stat().st_mtime >= ipynb.stat().st_mtime):
        return False
    edited = nbformat.read(ipynb, as_version=4)
    if py.is_file() and [(c.cell_type, c.source) for c in edited.cells] == \
            [(c.cell_type, c.source) for c in read_source(name).cells]:
        return False
    for cell in edited.cells:
        cell.metadata = {'tags': cell.metadata['tags']} if cell.metadata.get('tags') else {}
    _write_source(name, edited)
    return True


def _write_source(name: str, nb) -> None:
    """``notebooks/<name>.py`` from ``nb``, without a jupytext header (it would change with each jupytext version)."""
    nb.metadata = {'jupytext': {'notebook_metadata_filter': '-all'}}
    (NB_DIR / f'{name}.py').write_text(jupytext.writes(nb, fmt='py:percent'))


def _share(name: str) -> bool:
    """Copy the shared cells of 00_setup.py into ``name``.py; True when something changed."""
    nb = read_source(name)
    code = code_cells(nb)
    params, setup = shared_cells(name)
    if len(code) >= 2 and (code[0].source, code[1].source) == (params, setup):
        return False
    code[0].source, code[1].source = params, setup
    code[0].metadata['tags'] = ['parameters']
    _write_source(name, nb)
    return True


def sync() -> list[str]:
    """Pull back edited notebooks, share the common cells, build every ``.ipynb``; returns what it did."""
    done = [f'{n}.ipynb -> {n}.py (edited notebook brought back)' for n in NAMES if _pull_back(n)]
    done += [f'{n}.py: shared cells copied from {PARAMETERS_FILE} and {CANONICAL}.py' for n in NAMES if _share(n)]
    for name in NAMES:
        nbformat.write(build(name), NB_DIR / f'{name}.ipynb')
    return done + [f'built {len(NAMES)} notebooks in {NB_DIR}']


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m scripts.notebooks', description=__doc__.splitlines()[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('command', choices=['sync', 'check'])
    a = p.parse_args(argv)
    if a.command == 'sync':
        print('\n'.join(sync()))
        return 0
    found = [msg for name in NAMES for msg in problems(name)]
    print('\n'.join(found) if found else 'notebooks in sync')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
