"""The notebooks 00-06: sources in sync, shared cells identical, and Run All as Colab runs them, each notebook on a
fresh runtime with only a stand-in Google Drive shared (scripts/run_notebooks.py), plus the ways a step fails."""
from __future__ import annotations

import ast
import importlib.metadata as md
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from facts import SEED_PARAMS

from scripts import notebooks as nbtool
from scripts.run_notebooks import (COURSE_COUNTS, NOTEBOOKS, NotebookError, drive_dir, drive_usage, export_figures,
                                   first_parameters, run_notebook, runtime_env)

REPO = Path(__file__).resolve().parent.parent
SEED_20K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512'
SEED_30K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-30k_celebamask-512x512'


# --------------------------------------------------------------------------- the sources
def test_notebooks_are_built_from_their_sources_with_shared_cells():
    """Each .ipynb equals the build of its .py (no outputs, stable ids), and the parameters and set-up cells
    equal 00_setup's (the set-up cell differs only in its NOTEBOOK line)."""
    assert [p for n in NOTEBOOKS for p in nbtool.problems(n)] == []
    setups = {nbtool.code_cells(nbtool.read_source(n))[1].source for n in NOTEBOOKS}
    assert len(setups) == len(NOTEBOOKS)  # one per notebook: the names differ ...
    assert len({s.replace(f"NOTEBOOK = '{n}'", '') for n, s in zip(NOTEBOOKS, [
        nbtool.code_cells(nbtool.read_source(n))[1].source for n in NOTEBOOKS])}) == 1  # ... and nothing else


def test_the_set_up_cell_folds_in_colab_and_says_what_it_does():
    """Colab shows the set-up cell as a form: its '#@title' line says what it does, the code is folded away."""
    for name in NOTEBOOKS:
        nb = json.loads((REPO / 'notebooks' / f'{name}.ipynb').read_text())
        setup = [c for c in nb['cells'] if c['cell_type'] == 'code'][1]
        assert setup['metadata'].get('cellView') == 'form', name
        assert ''.join(setup['source']).startswith('#@title Set-up: gets this project\'s code'), name


def test_the_checker_catches_drift(tmp_path, monkeypatch):
    """A notebook whose set-up cell drifted, or whose .ipynb was not rebuilt, is reported."""
    for name in ('00_setup', '02_train_20k'):
        shutil.copy(REPO / 'notebooks' / f'{name}.py', tmp_path / f'{name}.py')
        shutil.copy(REPO / 'notebooks' / f'{name}.ipynb', tmp_path / f'{name}.ipynb')
    monkeypatch.setattr(nbtool, 'NB_DIR', tmp_path)
    assert nbtool.problems('02_train_20k') == []
    src = (tmp_path / '02_train_20k.py').read_text()
    (tmp_path / '02_train_20k.py').write_text(src.replace('PLAN = bootstrap.start(', 'PLAN = bootstrap.begin('))
    found = nbtool.problems('02_train_20k')
    assert any('set-up cell differs' in f for f in found) and any('differs from 02_train_20k.py' in f for f in found)




#: utils.notebook.cells' display of a reading and of its result, and the live curves redrawn while training (read afterwards
#: by the stage's results, utils.notebook.steps.stage_results)
_DISPLAYS_ITSELF = {('cells.py', 'say'), ('cells.py', 'show'), ('live.py', '_draw')}


def _called(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _narrate_call(node: ast.AST) -> bool:
    """``narrate.<reading>(...)``: a reading of utils.notebook.narrate, computed from the run's own numbers."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        isinstance(node.func.value, ast.Name) and node.func.value.id == 'narrate'


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _reads_with_narrate(calls: list[ast.Call]) -> bool:
    """Some ``say(reading)`` or ``show(result, reading)`` among ``calls`` says a reading of utils.notebook.narrate."""
    return any(_narrate_call(c.args[-1]) for c in calls if _called(c) in ('say', 'show') and c.args)


def unread_results(sources: dict[str, list[str]], utils_dir: Path = REPO / 'utils') -> set[str]:
    """What a notebook's code (``{notebook: [code cell, ...]}``) or utils/ shows without a reading of utils.notebook.narrate:
    a ``show(result, reading)`` whose reading is not a ``narrate.*`` call, and a cell that displays a result itself
    (``display``) or through a utils function that does so without a reading of its own, and says none."""
    silent, found = set(), set()
    for path in sorted(utils_dir.rglob('*.py')):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or (path.name, fn.name) in _DISPLAYS_ITSELF:
                continue
            calls = _calls(fn)
            found |= {f'{path.relative_to(utils_dir.parent)}: {ast.unparse(c.args[0])}' for c in calls
                      if _called(c) == 'show' and len(c.args) > 1 and not _narrate_call(c.args[1])}
            if any(_called(c) == 'display' for c in calls) and not _reads_with_narrate(calls):
                silent.add(fn.name)
    for name, cells in sources.items():
        for source in cells:
            calls = _calls(ast.parse(source))
            found |= {f'{name}: {ast.unparse(c.args[0])}' for c in calls
                      if _called(c) == 'show' and len(c.args) > 1 and not _narrate_call(c.args[1])}
            found |= {f'{name}: {_called(c)}(...) with no reading in its cell' for c in calls
                      if _called(c) in silent | {'display'} and not _reads_with_narrate(calls)}
    return found


def test_every_result_a_cell_shows_is_read_by_narrate():
    """Every table or figure a notebook shows is followed by a reading that utils.notebook.narrate computed from the run's
    numbers, never a fixed sentence: checked on the notebooks' code and on utils/, where their cells' helpers show
    results (test_every_result_is_read_and_every_notebook_ends_with_a_summary checks, in the executed notebooks, that
    a reading follows each result)."""
    sources = {n: [c.source for c in nbtool.code_cells(nbtool.read_source(n))] for n in NOTEBOOKS}
    found = unread_results(sources)
    assert not found, sorted(found)


def test_the_reading_guard_tells_a_narrate_reading_from_any_other_output(tmp_path):
    """The checker itself, on made-up cells and a made-up helper: a printed line, a fixed sentence or a helper that
    displays a figure without a reading is reported; a narrate reading, in show or said after the helper, is not."""
    (tmp_path / 'utils').mkdir()
    (tmp_path / 'utils' / 'figs.py').write_text('def grid(x):\n    display(x)\n\n\ndef table(x):\n'
                                                '    show(x, narrate.table(x))\n\n\ndef bad(x):\n    show(x, "look")\n')
    cells = ['session.show(t, narrate.evaluation(t))', "session.show(t, 'Look at the worst class.')",
             'figs.grid(x)\nprint(x.mean())', 'figs.grid(x)\nsession.say(narrate.handin_figures(x))', 'figs.table(x)',
             'display(t)']
    assert unread_results({'nb': cells}, tmp_path / 'utils') == {
        'utils/figs.py: x', 'nb: t', 'nb: grid(...) with no reading in its cell', 'nb: display(...) with no reading in its cell'}


def test_each_run_gets_todays_code_and_a_full_run_an_empty_drive(tmp_path):
    """The code copy on the stand-in Drive is made again every run (an old copy once ran yesterday's code), and a
    full run clears only what the harness wrote; a folder it did not write is refused untouched."""
    from scripts.run_notebooks import MARKER, copy_code, start_fresh

    code = copy_code(drive_dir(tmp_path / 'out'))
    (code / 'utils' / 'stale.py').write_text('x = 1\n')
    (code / 'utils' / 'notebook' / 'workflow.py').write_text('# yesterday\n')
    code = copy_code(drive_dir(tmp_path / 'out'))
    assert not (code / 'utils' / 'stale.py').exists()
    assert (code / 'utils' / 'notebook' / 'workflow.py').read_text() == (REPO / 'utils' / 'notebook' / 'workflow.py').read_text()

    out = tmp_path / 'out'
    (out / MARKER).write_text('')
    (out / 'runtimes' / '02_train_20k').mkdir(parents=True)
    (out / '02_train_20k.ipynb').write_text('{}')
    (out / 'notes.txt').write_text('mine')
    start_fresh(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, 'notes.txt'])

    foreign = tmp_path / 'foreign'
    (foreign / 'drive').mkdir(parents=True)
    (foreign / 'thesis.tex').write_text('do not touch')
    with pytest.raises(NotebookError, match='did not write'):
        start_fresh(foreign)
    assert (foreign / 'thesis.tex').read_text() == 'do not touch' and (foreign / 'drive').is_dir()


def test_the_drive_summary_names_each_work_dir_and_each_file_of_the_work_root(tmp_path):
    """The harness's closing line: the data copy, each work_dir, and a file lying in the work root itself (06's
    hand-in zip) by its own name, never folded into a bare 'work_dirs'."""
    project = drive_dir(tmp_path) / 'celebamask-parsing'
    for rel, size in (('data/copy.zip', 3), ('work_dirs/smoke/run_a/iter_30.pth', 5), ('work_dirs/smoke/run_a/x.json', 1),
                      ('work_dirs/smoke/hand-in.zip', 7), ('work_dirs/real_run/iter_10.pth', 2), ('settings.json', 1)):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_bytes(b'x' * size)
    assert drive_usage(tmp_path) == {'data': 3, 'work_dirs/smoke/run_a': 6, 'work_dirs/smoke/hand-in.zip': 7,
                                     'work_dirs/real_run': 2, 'settings.json': 1}


def test_export_figures_writes_each_png_output(tmp_path):
    import base64
    import io

    import nbformat
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


# --------------------------------------------------------------------------- Run All, one runtime each
def _outputs(nb_path: Path) -> list[tuple[str, str]]:
    """``(mime or stream, text)`` of every output, in order."""
    found = []
    for cell in json.loads(nb_path.read_text())['cells']:
        for out in cell.get('outputs', []):
            if out['output_type'] == 'stream':
                found.append((out['name'], ''.join(out['text'])))
            for mime, value in out.get('data', {}).items():
                found.append((mime, ''.join(value) if isinstance(value, list) else str(value)))
    return found


def _text(nb_path: Path) -> str:
    return '\n'.join(text for mime, text in _outputs(nb_path) if mime != 'image/png')


def _pngs(nb_path: Path) -> int:
    return sum(mime == 'image/png' for mime, _ in _outputs(nb_path))


@pytest.fixture(scope='module')
def colab(tmp_path_factory):
    """One stand-in Drive for the run; each notebook gets a fresh runtime. A failure skips the ones after it."""
    out = tmp_path_factory.mktemp('colab')
    return {'out': out, 'params': first_parameters(out, smoke=True), 'failed': None, 'times': {}}


def _run(colab, name: str) -> Path:
    import time

    if colab['failed']:
        pytest.skip(f"{colab['failed']} failed first")
    try:
        start = time.time()
        nb = run_notebook(name, colab['out'], colab['params'][name], timeout=900)
        colab['times'][name] = time.time() - start
        print(f'\n{name}: {colab["times"][name]:.0f} s on a fresh runtime')
        return nb
    except NotebookError as exc:
        colab['failed'] = name
        pytest.fail(str(exc), pytrace=False)


def _project(colab) -> Path:
    return drive_dir(colab['out']) / 'celebamask-parsing'


def _smoke_banner_first(nb: Path) -> None:
    mime, text = _outputs(nb)[0]
    assert mime == 'text/markdown' and text.startswith('**SMOKE RUN'), (mime, text[:80])


def test_00_setup(colab):
    nb = _run(colab, '00_setup')
    _smoke_banner_first(nb)
    text = _text(nb)
    import torch

    assert f'>{torch.__version__}<' in text and f'>{md.version("mmsegmentation")}<' in text  # the real versions
    assert f'{SEED_PARAMS:,}' in text  # the report's parameter count, computed by the notebook
    settings = json.loads((_project(colab) / 'settings.json').read_text())
    assert settings['SMOKE'] is True and settings['RECIPE'] == 'seed' and settings['REPO'].endswith('celebamask-parsing-code')
    assert 'DATA_SOURCE' not in settings  # only 01 needs it


def test_01_data_check(colab):
    nb = _run(colab, '01_data_check')
    _smoke_banner_first(nb)
    text = _text(nb)
    assert 'PASSED' in text and 'median_freq' in text
    assert _pngs(nb) >= 3  # frequencies, overlays, rare classes
    settings = json.loads((_project(colab) / 'settings.json').read_text())
    assert settings['DATA_SOURCE'].endswith('celebamask_mini.zip') and settings['SMOKE'] is True
    info = json.loads((_project(colab) / 'data' / 'celebamask-dataset.zip.json').read_text())
    assert info['counts'] == dict(zip(('train', 'val', 'test'), COURSE_COUNTS))


def _runtime_data(colab, name: str) -> Path:
    return colab['out'] / 'runtimes' / name / 'content' / 'data' / 'celebamask'


def test_02_train_20k(colab):
    nb = _run(colab, '02_train_20k')
    _smoke_banner_first(nb)
    text = _text(nb)
    from utils.data import dataset_counts

    assert dataset_counts(_runtime_data(colab, '02_train_20k')) == dict(zip(('train', 'val', 'test'), COURSE_COUNTS))
    assert 'unpacking the dataset kept on Drive' in text and 'every file checked' in text
    assert (_project(colab) / 'work_dirs' / 'smoke' / SEED_20K / 'iter_60.pth').is_file()  # on Drive, not the runtime
    assert 'Iter(train)' not in text and 'Config:' not in text  # MMEngine's log went to the log file
    assert _pngs(nb) >= 3  # the schedule, live curves, curves


def test_03_resume_30k(colab):
    nb = _run(colab, '03_resume_30k')
    _smoke_banner_first(nb)
    text = _text(nb)
    assert f'MyDrive/celebamask-parsing/work_dirs/smoke/{SEED_20K}/iter_60.pth' in text.split('resuming from', 1)[1]
    assert 'Loads checkpoint by' not in text  # MMEngine's own line: 03 says where it resumes from
    assert (_project(colab) / 'work_dirs' / 'smoke' / SEED_30K / 'iter_90.pth').is_file()
    assert _pngs(nb) >= 3


def test_04_evaluate(colab):
    nb = _run(colab, '04_evaluate')
    _smoke_banner_first(nb)
    text = _text(nb)
    evals = sorted((_project(colab) / 'work_dirs' / 'smoke' / SEED_30K / 'eval').glob('*_val_*/summary.json'))
    summaries = {json.loads(p.read_text())['tta']: json.loads(p.read_text()) for p in evals}
    assert set(summaries) == {'none', 'flip'}  # the report's way and with TTA
    for s in summaries.values():
        assert f">{s['mIoU']:.2f}<" in text  # each shown, rounded to 2 decimals
    assert '>74.72<' in text  # the report's best val mIoU, next to ours
    assert 'TTA gain' in text and _pngs(nb) >= 3  # curves, confusion matrix, inspector


def test_05_submit(colab):
    nb = _run(colab, '05_submit')
    _smoke_banner_first(nb)
    from utils.base.layout import list_files
    from utils.submit import check_submission

    downloads = list((colab['out'] / 'downloads').glob('*.zip'))
    assert [z.name for z in downloads] == ['submission-SMOKE-not-for-upload.zip']
    test_images = _runtime_data(colab, '05_submit') / 'test' / 'test_image'
    with zipfile.ZipFile(downloads[0]) as zf:
        names = sorted(Path(n).stem for n in zf.namelist() if n.endswith('.png'))
    assert names == sorted(Path(n).stem for n in list_files(test_images))
    assert check_submission(downloads[0], test_images, progress=False).ok
    text = _text(nb)
    assert 'do not upload it' in text and 'never upload it' in text  # the download line and the closing agree
    assert 'upload the zip to the leaderboard' not in text


def test_06_handin(colab):
    """On a fresh CPU runtime, from Drive only: the hand-in folder, the check with the missing items named, the zip
    (kept on Drive, not downloaded: a smoke run hands nothing in)."""
    nb = _run(colab, '06_handin')
    _smoke_banner_first(nb)
    text = _text(nb)
    handin = _project(colab) / 'work_dirs' / 'smoke' / 'handin'
    for name in ('report_draft.docx', 'report.tex', 'Readme.txt', 'test_predictions.zip', 'figures/loss.pdf',
                 'figures/per_class_iou.png', 'tables/per_class.md'):
        assert (handin / name).is_file(), name
    assert 'submission check PASSED' in text  # the test images came from the dataset copy on Drive
    assert 'handin/score.png' in text and 'set MATRIC' in text  # missing, with what to do
    downloads = sorted(z.name for z in (colab['out'] / 'downloads').glob('*.zip'))
    assert 'MATRIC-MISSING-SMOKE-not-for-hand-in.zip' not in downloads  # a smoke run hands nothing in
    assert (_project(colab) / 'work_dirs' / 'smoke' / 'MATRIC-MISSING-SMOKE-not-for-hand-in.zip').is_file()
    assert 'Not downloaded (a smoke run has nothing to hand in)' in text
    assert _pngs(nb) >= 5  # loss, val metrics, schedule, per-class IoU, predictions
    assert not (colab['out'] / 'runtimes' / '06_handin' / 'content' / 'data').exists()  # no dataset unpacked


def test_every_result_is_read_and_every_notebook_ends_with_a_summary(colab):
    """In the executed notebooks, every table or figure is followed in its cell by a sentence that reads it, and
    each notebook's last output is its summary. That the sentence is a reading of utils.notebook.narrate, not any printed
    line, is test_every_result_a_cell_shows_is_read_by_narrate's check of the notebooks' code."""
    for name in NOTEBOOKS:
        nb_path = colab['out'] / f'{name}.ipynb'
        if not nb_path.is_file():
            pytest.skip(f'{name} did not run')
        unread = []
        for k, cell in enumerate(json.loads(nb_path.read_text())['cells']):
            outs = cell.get('outputs', [])
            kinds = ['result' if {'image/png', 'text/html'} & set(o.get('data', {})) else
                     'reading' if 'text/markdown' in o.get('data', {}) or o.get('name') == 'stdout' else 'other'
                     for o in outs]
            if 'result' in kinds and 'reading' not in kinds[len(kinds) - kinds[::-1].index('result'):]:
                unread.append(f'{name} cell {k}: {"".join(cell["source"])[:60]!r}')
            unread += [f'{name} cell {k}: a raw repr {"".join(o["data"]["text/plain"])[:60]!r}' for o in outs
                       if set(o.get('data', {})) == {'text/plain'}]  # e.g. PosixPath('...') or a dict
        assert not unread, unread
        last = [o for c in json.loads(nb_path.read_text())['cells'] for o in c.get('outputs', [])][-1]
        text = ''.join(last.get('data', {}).get('text/markdown', ''))
        assert text.startswith(f'**{name}: done.**') and '**Next:**' in text, (name, last)


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason='Debian chromium is not installed (apt-get install chromium)')
def test_inspector_in_a_real_browser(colab, tmp_path):
    """JupyterLab on 127.0.0.1 with a fresh stand-in runtime, the evaluate notebook run in headless Chromium, a
    class picked in the inspector's dropdown: the rendered example image must change."""
    playwright = pytest.importorskip('playwright.sync_api')
    import numpy as np
    from PIL import Image

    from jupyter_lab import jupyter_lab

    for name in NOTEBOOKS[:4]:  # alone (`pytest -m browser`) it first runs 00..03 itself
        if not (colab['out'] / f'{name}.ipynb').is_file():
            _run(colab, name)
    shutil.copy(REPO / 'notebooks' / '04_evaluate.ipynb', colab['out'] / 'browser_04_evaluate.ipynb')
    env = runtime_env(colab['out'], 'browser_04_evaluate')
    with jupyter_lab(colab['out'], env=env) as lab, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
            '--disable-component-update', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.goto(lab.url('lab/tree/browser_04_evaluate.ipynb'))
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
        page.screenshot(path=str(colab['out'] / 'inspector_browser.png'))
        browser.close()
    before = np.asarray(Image.open(tmp_path / 'before.png').convert('RGB'), dtype=np.int16)
    after = np.asarray(Image.open(tmp_path / 'after.png').convert('RGB'), dtype=np.int16)
    assert before.shape == after.shape and before.std() > 5  # a real picture, not a blank box
    changed = (np.abs(before - after).sum(axis=2) > 30).mean()
    assert changed > 0.01, f'only {changed:.2%} of the pixels changed after picking another class'


# --------------------------------------------------------------------------- a step that fails
def _fails(tmp_path, name: str, params: dict, **env) -> str:
    """Run ``name`` alone on a fresh runtime of a fresh stand-in Drive; return its error message."""
    with pytest.raises(NotebookError) as info:
        run_notebook(name, tmp_path, params, env=runtime_env(tmp_path, name, **env), timeout=600)
    return str(info.value)


def _code(tmp_path) -> str:
    """The copy of the project on this test's stand-in Drive (there is no network to clone from)."""
    return first_parameters(tmp_path, smoke=True)['00_setup']['REPO']


def test_a_failed_clone_is_one_message(tmp_path):
    """REPO on GitHub, but no network (this machine has none): the clone fails with git's reason and the fix."""
    msg = _fails(tmp_path, '00_setup', dict(SMOKE=True, REPO='celebamask-parsing/no-such-repo'))
    assert 'Getting the code failed: git clone https://github.com/celebamask-parsing/no-such-repo' in msg
    assert 'check REPO' in msg


def test_without_data_a_later_notebook_says_which_to_run(tmp_path):
    """02 on a runtime (and a Drive) without the dataset: one line naming 01_data_check."""
    msg = _fails(tmp_path, '02_train_20k', dict(SMOKE=True, REPO=_code(tmp_path)))
    assert 'StopRun' in msg and 'run 01_data_check first' in msg


def test_real_data_without_a_gpu_stops_with_the_menu_path(tmp_path):
    """DATA_SOURCE set, SMOKE left to decide, no GPU: training stops at once, naming the menu path to a T4
    runtime (setting up and checking the data need no GPU, and say that the later notebooks do)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    msg = _fails(tmp_path, '02_train_20k', dict(DATA_SOURCE='1AbCdEfGhIjKlMnOpQrStUvWx', REPO=_code(tmp_path)))
    assert 'No GPU' in msg and 'Runtime > Change runtime type > T4 GPU' in msg and 'SMOKE = True' in msg


def test_a_real_run_sets_up_without_a_gpu_and_says_that_training_needs_one(tmp_path):
    """00_setup of a real run on a CPU runtime (saving GPU time) runs through and says that 02-05 need a GPU."""
    import torch

    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    nb = run_notebook('00_setup', tmp_path, dict(DATA_SOURCE='1AbCdEfGhIjKlMnOpQrStUvWx', REPO=_code(tmp_path)),
                      env=runtime_env(tmp_path, '00_setup'), timeout=600)
    text = _text(nb)
    assert 'no GPU on this runtime: fine for 00_setup, but 02-05 of this real run need one' in text
    assert 'SMOKE RUN' not in text


def test_a_bad_code_source_stops_in_the_set_up_cell(tmp_path):
    """REPO pointing at a Drive folder without the project: one message, nothing after it runs."""
    msg = _fails(tmp_path, '00_setup', dict(SMOKE=True, REPO=str(tmp_path / 'not-the-project')))
    assert 'Getting the code failed' in msg and 'set REPO' in msg


def test_training_without_drive_refuses_unless_allowed(tmp_path):
    """Drive not mounted in Colab: 02 stops (a disconnect would lose the run) and offers ALLOW_LOCAL_WORK."""
    params = first_parameters(tmp_path, smoke=True)['00_setup']
    msg = _fails(tmp_path, '02_train_20k', params, STANDIN_DRIVE_FAIL='1')
    assert 'Google Drive is not mounted' in msg and 'ALLOW_LOCAL_WORK = True' in msg


def test_a_broken_settings_file_is_one_message_naming_it(tmp_path):
    """settings.json on Drive with a control character in it: 04 stops in one message that names the file and the
    fix (it used to be a JSONDecodeError traceback from the set-up cell)."""
    code = _code(tmp_path)
    project = drive_dir(tmp_path) / 'celebamask-parsing'
    project.mkdir(parents=True)
    (project / 'settings.json').write_text('{"SMOKE": true, "RECIPE": "se\x01ed"}')
    msg = _fails(tmp_path, '04_evaluate', dict(REPO=code))
    assert 'settings.json cannot be read (not valid JSON' in msg and 'run 00_setup again' in msg, msg
    assert 'JSONDecodeError' not in msg


def test_a_code_copy_with_links_or_missing_files_stops_in_the_set_up_cell(tmp_path):
    """REPO = a Drive copy holding a dangling link, a link loop and missing modules: named in one message each
    time (a link is copied as a link, never followed), where it used to be shutil.Error or a raw ImportError."""
    code = Path(_code(tmp_path))
    (code / 'utils' / 'README.link').symlink_to(code / 'gone.md')
    (code / 'configs' / 'loop').symlink_to(code / 'configs')
    (code / 'utils' / 'core' / 'metrics.py').unlink()
    msg = _fails(tmp_path, '00_setup', dict(SMOKE=True, REPO=str(code)))
    assert 'is not a whole copy of this project' in msg and '2 symbolic link(s)' in msg and 'utils/core/metrics.py' in msg
    assert 'shutil.Error' not in msg and 'loop/loop' not in msg
    (code / 'utils' / 'notebook' / 'workflow.py').unlink()  # a module the set-up itself imports
    msg = _fails(tmp_path, '00_setup', dict(SMOKE=True, REPO=str(code)))
    assert 'is incomplete' in msg and 'utils.notebook.workflow' in msg and 'Runtime > Disconnect and delete runtime' in msg


def test_each_parameters_cell_shows_only_what_its_notebook_reads():
    """The parameters cells are built from utils.notebook.parameters.DECLARED (each parameter declared once) and show exactly
    the parameters each declaration says the notebook reads, in the declared order."""
    import re

    from utils.notebook.parameters import DECLARED, NOTEBOOKS as DECLARED_NOTEBOOKS

    assert tuple(NOTEBOOKS) == DECLARED_NOTEBOOKS
    for name in NOTEBOOKS:
        shown = re.findall(r'^([A-Z][A-Z0-9_]*) = ', nbtool.code_cells(nbtool.read_source(name))[0].source, re.M)
        assert shown == [p.name for p in DECLARED if name in p.reads], name
    assert 'EDITION' in nbtool.code_cells(nbtool.read_source('00_setup'))[0].source


def test_adding_a_parameter_is_one_declaration(monkeypatch):
    """One Param added to DECLARED reaches the schema, the kept settings, the parameters cells and the plan."""
    import utils.notebook.parameters as parameters
    import utils.notebook.workflow as workflow

    extra = parameters.Param('PATIENCE', 'validations without a better score before stopping (a test parameter)',
                             lambda v: isinstance(v, int) and v > 0, 'a whole number above 0',
                             ('00_setup', '02_train_20k'), label='patience')
    declared = parameters.DECLARED + (extra,)
    tables = workflow.derive_tables(declared)
    for name, value in zip(('PARAMETERS', 'READS', 'KEPT', 'SCHEMA'), tables):
        monkeypatch.setattr(workflow, name, value)
    monkeypatch.setattr(workflow, 'DECLARED', declared)
    assert 'PATIENCE' in workflow.PARAMETERS and 'PATIENCE' in workflow.KEPT and 'PATIENCE' in workflow.SCHEMA
    assert workflow.READS['02_train_20k'][-1] == 'PATIENCE' and 'PATIENCE' not in workflow.READS['04_evaluate']
    cell = parameters.parameters_cell('02_train_20k', declared)
    assert cell.splitlines()[-1].startswith('PATIENCE = None') and 'a test parameter' in cell
    assert 'PATIENCE' not in parameters.parameters_cell('04_evaluate', declared)
    with pytest.raises(workflow.PlanError, match='PATIENCE = 0 .* a whole number above 0'):
        workflow.make_plan({'PATIENCE': 0}, notebook='02_train_20k')
    plan = workflow.make_plan({'PATIENCE': 3}, notebook='02_train_20k')
    assert plan.settings()['PATIENCE'] == 3 and plan.sources['PATIENCE'] == 'set here'
    assert plan.frame().data.loc['patience', 'value'] == '3'
