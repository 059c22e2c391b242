"""The six notebooks: committed clean, generated from scripts/build_notebooks.py, lint-clean, and Run All in smoke mode."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from scripts.run_notebooks import NOTEBOOKS, NotebookError, export_figures, notebook_parameters, run_notebook

REPO = Path(__file__).resolve().parent.parent
NB_DIR = REPO / 'notebooks'


def _load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NB_DIR / f'{name}.ipynb', as_version=4)


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_committed_without_outputs_with_parameters_and_badge(name):
    nb = _load(name)
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert all(not c.outputs and c.execution_count is None for c in code), f'{name} has outputs: clear them'
    tagged = [c for c in code if 'parameters' in c.metadata.get('tags', [])]
    assert len(tagged) == 1 and tagged[0] is code[0], 'the first code cell must be the only parameters cell'
    assert 'colab.research.google.com/github/' in nb.cells[0].source


def test_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location('build_notebooks', REPO / 'scripts' / 'build_notebooks.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert set(mod.NOTEBOOKS) == set(NOTEBOOKS)
    for name, (title, intro, cells) in mod.NOTEBOOKS.items():
        fresh = mod.notebook(name, title, intro, cells)
        assert [(c.id, c.source) for c in fresh.cells] == [(c.id, c.source) for c in _load(name).cells], \
            f'{name}.ipynb differs from scripts/build_notebooks.py: run `python scripts/build_notebooks.py`'


def test_notebook_code_passes_ruff():
    ruff = shutil.which('ruff') or str(Path(sys.executable).parent / 'ruff')
    if not Path(ruff).exists():
        pytest.skip('ruff is not installed')
    out = subprocess.run([ruff, 'check', '--no-cache', str(NB_DIR)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_colab_install_cannot_replace_torch_or_numpy():
    """The set-up cell pins Colab's installed torch/numpy/opencv as pip constraints, and requirements.txt lists none of them."""
    setup = _load('00_setup').cells[2].source
    pip = [line.strip() for line in setup.splitlines() if line.strip().startswith('!pip install')]
    assert len(pip) == 1 and '-c /tmp/colab-keep.txt' in pip[0] and '-U' not in pip[0].split()
    freeze = next(line for line in setup.splitlines() if 'colab-keep.txt' in line and 'freeze' in line)
    assert all(name in freeze for name in ('torch', 'numpy', 'opencv'))
    listed = [line.split('=')[0].split('<')[0].split('>')[0].strip().lower()
              for line in (REPO / 'requirements.txt').read_text().splitlines() if line.strip() and line[0] != '#']
    assert not {'torch', 'torchvision', 'numpy', 'opencv-python'} & set(listed), listed


def test_export_figures_writes_each_png_output(tmp_path):
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new('RGB', (4, 3), (200, 10, 10)).save(buf, format='PNG')
    png = base64.b64encode(buf.getvalue()).decode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('# t'), nbformat.v4.new_code_cell('x'), nbformat.v4.new_code_cell('y')]
    nb.cells[1].outputs = [nbformat.v4.new_output('stream', name='stdout', text='hi')]
    nb.cells[2].outputs = [nbformat.v4.new_output('display_data', data={'image/png': png, 'text/plain': 'fig'}),
                           nbformat.v4.new_output('execute_result', data={'image/png': png}, execution_count=1)]
    nbformat.write(nb, tmp_path / 'demo.ipynb')
    files = export_figures(tmp_path / 'demo.ipynb', tmp_path / 'figs')
    assert [f.name for f in files] == ['demo_cell02_0.png', 'demo_cell02_1.png']
    assert Image.open(files[1]).size == (4, 3)


def _text(nb_path: Path) -> str:
    """Every text output of an executed notebook, joined (for checking what a reader sees)."""
    parts = []
    for cell in json.loads(nb_path.read_text())['cells']:
        for out in cell.get('outputs', []):
            parts.append(''.join(out.get('text', '')))
            data = out.get('data', {})
            parts.append(''.join(data.get('text/plain', '')) + ''.join(data.get('text/html', '')))
    return '\n'.join(parts)


def _pngs(nb_path: Path) -> int:
    return sum('image/png' in out.get('data', {}) for cell in json.loads(nb_path.read_text())['cells']
               for out in cell.get('outputs', []))


@pytest.fixture(scope='module')
def smoke_out(tmp_path_factory):
    """One output folder shared by the six notebooks, run in order; a failure skips the ones after it."""
    out = tmp_path_factory.mktemp('notebooks')
    return {'out': out, 'params': notebook_parameters(out, smoke=True), 'failed': None}


def _run(smoke_out, name: str) -> Path:
    if smoke_out['failed']:
        pytest.skip(f"{smoke_out['failed']} failed first")
    try:
        return run_notebook(name, smoke_out['out'], smoke_out['params'], timeout=900)
    except NotebookError as exc:
        smoke_out['failed'] = name
        pytest.fail(str(exc), pytrace=False)


def test_00_setup(smoke_out):
    text = _text(_run(smoke_out, '00_setup'))
    assert 'mmsegmentation' in text and 'nvcc' in text and 'gcc' in text
    assert '43,589,878' in text  # the report's parameter count, computed by the notebook


def test_01_data_check(smoke_out):
    nb = _run(smoke_out, '01_data_check')
    text = _text(nb)
    assert 'PASSED' in text and 'median' in text.lower()
    assert _pngs(nb) >= 3  # frequencies, overlays, rare classes


def test_02_train_20k(smoke_out):
    nb = _run(smoke_out, '02_train_20k')
    text = _text(nb)
    assert 'iter_60.pth' in text and 'mIoU' in text
    assert _pngs(nb) >= 3  # schedule, live curve, curves


def test_03_resume_30k(smoke_out):
    nb = _run(smoke_out, '03_resume_30k')
    text = _text(nb)
    assert 'resumed epoch: 0, iter: 60' in text and 'iter_90.pth' in text
    assert _pngs(nb) >= 3


def test_04_evaluate(smoke_out):
    nb = _run(smoke_out, '04_evaluate')
    text = _text(nb)
    assert 'mIoU' in text and 'seed' in text.lower()
    assert _pngs(nb) >= 3  # curves, confusion matrix, inspector


def test_05_submit(smoke_out):
    nb = _run(smoke_out, '05_submit')
    text = _text(nb)
    assert 'submission.zip' in text and 'SHA-256' in text
    zips = list(Path(smoke_out['params']['WORK_ROOT']).glob('*.zip'))
    assert len(zips) == 1
    from utils.submit import check_submission

    report = check_submission(zips[0], Path(smoke_out['params']['DATA_ROOT']) / 'test' / 'test_image', progress=False)
    assert report.ok, report.format()


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason='Debian chromium is not installed (apt-get install chromium)')
def test_inspector_in_a_real_browser(smoke_out, tmp_path):
    """JupyterLab on 127.0.0.1, the executed evaluate notebook re-run in headless Chromium, a class picked in the
    inspector's dropdown: the rendered example image must change."""
    playwright = pytest.importorskip('playwright.sync_api')
    import numpy as np
    from PIL import Image

    from jupyter_lab import jupyter_lab

    for name in NOTEBOOKS[:5]:  # alone (`pytest -m browser`) it first runs 00..04 itself
        if not (smoke_out['out'] / f'{name}.ipynb').is_file():
            _run(smoke_out, name)
    with jupyter_lab(smoke_out['out']) as lab, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
            '--disable-component-update', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.goto(lab.url('lab/tree/04_evaluate.ipynb'))
        page.wait_for_selector('text=| Idle', timeout=90_000)
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
        page.wait_for_selector('.celebamask-class select', timeout=300_000)
        example = page.locator('.celebamask-example').first
        example.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        example.screenshot(path=str(tmp_path / 'before.png'))
        labels = page.eval_on_selector_all('.celebamask-class select option', 'els => els.map(e => e.textContent)')
        assert len(labels) == 19
        page.select_option('.celebamask-class select', label=labels[-1])  # the best class: another picture
        page.wait_for_timeout(3000)
        example.screenshot(path=str(tmp_path / 'after.png'))
        page.screenshot(path=str(smoke_out['out'] / 'inspector_browser.png'))
        browser.close()
    before = np.asarray(Image.open(tmp_path / 'before.png').convert('RGB'), dtype=np.int16)
    after = np.asarray(Image.open(tmp_path / 'after.png').convert('RGB'), dtype=np.int16)
    assert before.shape == after.shape and before.std() > 5  # a real picture, not a blank box
    changed = (np.abs(before - after).sum(axis=2) > 30).mean()
    assert changed > 0.01, f'only {changed:.2%} of the pixels changed after picking another class'
