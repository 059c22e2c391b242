"""What a newcomer meets first: seven notebooks that agree with each other and with the README (the runtime each
asks Colab for, the introduction, one closing each), the hand-in download, the check's advice, the plan and the
summary of 00 without a GPU or without Drive, the harness's quiet kernels, the numbers and the figures' layout."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from scripts import notebooks as nbtool
from utils.notebook import narrate, session
from utils.notebook.parameters import NOTEBOOKS, RUNTIMES

REPO = Path(__file__).resolve().parent.parent
README_RUNTIME = {'CPU': 'CPU', 'T4 GPU': 'GPU'}


def _readme_runtimes() -> dict[str, str]:
    """README's notebook table: notebook -> its runtime column ('CPU' or 'GPU')."""
    rows = re.findall(r'^\| \[(\d\d_\w+)\]\([^)]*\) \| ([^|]+?) \|', (REPO / 'README.md').read_text(), re.M)
    return {name: README_RUNTIME[runtime] for name, runtime in rows}


# --------------------------------------------------------------------------- the seven notebooks
def test_each_notebook_asks_colab_for_the_runtime_the_readme_names():
    """Built from their sources, the notebooks ask Colab for a T4 exactly where README's table says a GPU is
    needed, and so do the committed .ipynb files; the README lists every notebook, in order."""
    readme = _readme_runtimes()
    assert list(readme) == list(NOTEBOOKS)
    for name in NOTEBOOKS:
        built = nbtool.build(name)
        committed = nbformat.read(REPO / 'notebooks' / f'{name}.ipynb', as_version=4)
        assert nbtool.runtime_of(built) == nbtool.runtime_of(committed) == readme[name], name
    assert {'CPU', 'GPU'} == set(readme.values())  # a table of one kind would pass the loop above by itself
    assert set(session.NEEDS_NO_GPU) == {n for n, r in readme.items() if r == 'CPU'}  # what the set-up cell lets pass


def test_the_checker_names_a_notebook_that_asks_for_the_wrong_runtime(tmp_path, monkeypatch):
    import shutil

    for name in ('06_handin',):
        for suffix in ('.py', '.ipynb'):
            shutil.copy(REPO / 'notebooks' / f'{name}{suffix}', tmp_path / f'{name}{suffix}')
    shutil.copy(REPO / 'notebooks' / '00_setup.py', tmp_path / '00_setup.py')
    monkeypatch.setattr(nbtool, 'NB_DIR', tmp_path)
    assert nbtool.problems('06_handin') == []
    nb = nbformat.read(tmp_path / '06_handin.ipynb', as_version=4)
    nb.metadata.update(nbtool.GPU_METADATA)  # the old build: every notebook asked for a T4
    nbformat.write(nb, tmp_path / '06_handin.ipynb')
    assert any('asks Colab for a GPU runtime' in p for p in nbtool.problems('06_handin'))


def test_00_introduces_every_notebook_with_the_runtime_it_opens_on():
    intro = nbtool.read_source('00_setup').cells[0].source.replace('\n#', ' ').replace('\n', ' ')
    assert all(f'`{name}`' in intro for name in NOTEBOOKS)
    cpu = re.search(r'a CPU runtime for (.*?), a T4 GPU for (.*?)\.', intro)
    assert cpu is not None, intro
    assert set(re.findall(r'`(\d\d_\w+)`', cpu.group(1))) == {n for n, r in RUNTIMES.items() if r == 'CPU'}
    assert set(re.findall(r'`(\d\d_\w+)`', cpu.group(2))) == {n for n, r in RUNTIMES.items() if r == 'GPU'}


def test_each_notebook_ends_with_its_one_closing():
    """The last cell of every notebook is its closing (session.closing): no text after it says "Done" again."""
    for name in NOTEBOOKS:
        cells = nbtool.read_source(name).cells
        assert cells[-1].cell_type == 'code' and cells[-1].source.startswith('session.closing(PLAN'), name
        assert not any('**Done.**' in c.source for c in cells), name


def test_a_smoke_runs_closing_never_asks_for_an_upload_or_a_hand_in(tmp_path):
    zip_path = tmp_path / 'submission-SMOKE-not-for-upload.zip'
    smoke = narrate.summary('05_submit', [('the zip', zip_path)], smoke=True)
    real = narrate.summary('05_submit', [('the zip', zip_path)], smoke=False)
    assert 'upload the zip to the leaderboard' in real and 'upload the zip to the leaderboard' not in smoke
    assert 'never upload it' in smoke and smoke.count('**Next:**') == 1
    handin = narrate.summary('06_handin', [], smoke=True)
    assert 'hand in that zip' not in handin and 'SMOKE = False in 00_setup' in handin


# --------------------------------------------------------------------------- 06's download
def _handin(tmp_path, missing: list[str]):
    path = tmp_path / 'G1234567A.zip'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('Readme.txt', 'x')
    return SimpleNamespace(zip_path=path, missing=missing)


@pytest.mark.parametrize('smoke,missing,asked,expected', [
    (False, [], None, True),  # complete and real: the zip to hand in
    (False, ['the leaderboard screenshot'], None, False),  # the first run, before the screenshot exists
    (True, [], None, False),  # a smoke run hands nothing in
    (True, ['the report PDF'], True, True),  # asked: always
    (False, [], False, False)])
def test_06_downloads_only_a_complete_real_zip_unless_asked(tmp_path, smoke, missing, asked, expected):
    from utils.notebook.handin import should_download

    assert should_download(_handin(tmp_path, missing), smoke, asked) is expected


def test_06_says_why_it_did_not_download(tmp_path, monkeypatch, capsys):
    import sys
    import types

    from utils.notebook import handin as steps

    got = []
    colab = types.ModuleType('google.colab')
    colab.files = types.SimpleNamespace(download=got.append)
    monkeypatch.setitem(sys.modules, 'google.colab', colab)
    monkeypatch.setitem(sys.modules, 'google.colab.files', colab.files)
    result = _handin(tmp_path, ['the report PDF'])
    assert steps.offer(result, smoke=False) is False and got == []
    assert 'Not downloaded (items are missing)' in capsys.readouterr().out
    assert steps.offer(result, smoke=False, download=True) is True and got == [str(result.zip_path)]


# --------------------------------------------------------------------------- 05's check, for a student
def test_the_checks_advice_is_for_a_student_and_agrees_with_the_flip_tta(tmp_path):
    """Every failing line of a broken submission says what to do in notebook terms (no Python calls to type), and
    the class-collapse advice never blames the flip TTA that this project's runs use (it swaps left and right)."""
    from PIL import Image

    from utils.submit import check_submission

    images = tmp_path / 'test_image'
    images.mkdir()
    for k in range(4):
        Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(images / f'{k}.jpg')
    masks = tmp_path / 'sub.zip'
    label = np.zeros((16, 16), np.uint8)
    label[4:8, 2:6] = 4  # l_eye only: r_eye collapsed
    with zipfile.ZipFile(masks, 'w') as zf:
        for k, arr in enumerate([label, np.zeros((16, 16), np.uint8), np.full((8, 8), 200, np.uint8)]):
            buf = __import__('io').BytesIO()
            Image.fromarray(arr).save(buf, format='PNG')
            zf.writestr(f'sub/{k}.png', buf.getvalue())
        zf.writestr('sub/x.png', b'not a png')
        zf.writestr('__MACOSX/._0.png', b'junk')
    reference = np.full(19, 1000)
    report = check_submission(masks, images, reference=reference, progress=False)
    failing = [r for r in report.results if r.status != 'PASS']
    assert len(failing) >= 5, [(r.name, r.status) for r in report.results]
    for r in failing:
        assert r.fix and not re.search(r'[A-Za-z_]\w*\(', r.fix), (r.name, r.fix)  # no function to call
    collapse = report['class distribution']
    assert 'l_eye/r_eye' in ' '.join(collapse.files) and "TTA = 'flip'" in collapse.fix
    assert not re.search(r'flip[^.]*collapses', collapse.fix)


# --------------------------------------------------------------------------- 00 without a GPU, without Drive
def _colab_without(monkeypatch, tmp_path):
    import sys
    import types

    from utils.core import env

    monkeypatch.setitem(sys.modules, 'google.colab', types.ModuleType('google.colab'))
    monkeypatch.setattr(env, 'DRIVE_ROOT', tmp_path / 'no-drive')


def test_00_on_a_cpu_runtime_shows_the_real_runs_plan_and_a_declined_drive_is_said(tmp_path, monkeypatch, capsys):
    """00 in Colab on a CPU with nothing set: the plan table is the real run's (no smoke, the config's iterations,
    data still to name in 01), as 02-05 will follow it; with Drive declined the summary says that no later notebook
    reads the settings it wrote (they lie on this runtime's own disk)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    _colab_without(monkeypatch, tmp_path)
    plan = session.start('00_setup', {'WORK_ROOT': str(tmp_path / 'work')})
    out = capsys.readouterr().out
    assert "The plan below is the real run's" in out and 'SMOKE RUN' not in out
    frame = plan.frame().data['value']
    assert frame['smoke run'] == 'False' and frame['iterations, stage 1'].startswith("the config's (20,000)")
    assert frame['data source'].startswith('- (set DATA_SOURCE') and frame['mixed precision (AMP)'] == 'False'
    assert not plan.keep_shared and 'no later notebook sees them' in ' '.join(plan.notes)
    closing = narrate.summary('00_setup', narrate.produced(plan, '00_setup'))
    assert 'read by every later notebook' not in closing and 'no later notebook reads them' in closing


def test_the_closing_of_00_with_drive_says_later_notebooks_read_the_settings(tmp_path):
    from utils.notebook.workflow import make_plan

    plan = make_plan({'SMOKE': True, 'WORK_ROOT': str(tmp_path)}, notebook='00_setup')
    assert plan.keep_shared  # outside Colab, or in Colab with Drive: the place later notebooks read
    assert 'read by every later notebook' in narrate.summary('00_setup', narrate.produced(plan, '00_setup'))


# --------------------------------------------------------------------------- the harness's kernels
def test_the_harness_kernel_prints_no_unencrypted_tcp_warning(tmp_path, capfd):
    """The harness starts each kernel on local IPC sockets: the notebook runs, and ipykernel's warning about
    plain-text TCP (once per notebook in `make demo` otherwise) never reaches the terminal."""
    from scripts.run_notebooks import execute

    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nb.cells = [nbformat.v4.new_code_cell('print(6 * 7)')]
    nbformat.write(nb, tmp_path / 'in.ipynb')
    done = execute(tmp_path / 'in.ipynb', tmp_path / 'out.ipynb', {}, tmp_path, timeout=120)
    assert nbformat.read(done, as_version=4).cells[0].outputs[0]['text'] == '42\n'
    captured = capfd.readouterr()
    assert 'without encryption' not in captured.err + captured.out


# --------------------------------------------------------------------------- numbers and figures
def test_tables_show_counts_with_thousands_separators_and_scores_with_two_decimals():
    from utils.core.metrics import per_class_table
    from utils.base.report import number_formats
    from utils.submit.score import score_arrays

    frame = pd.DataFrame({'IoU': [92.8123], 'union': np.array([15778], np.int64), 'ok': [True]})
    assert number_formats(frame) == {'IoU': '{:,.2f}', 'union': '{:,}'}
    gt = np.zeros((200, 100), np.uint8)
    pred = gt.copy()
    pred[:10] = 1
    html = score_arrays([(pred, gt)]).table().to_html()  # 05's leaderboard table
    assert '>20,000<' in html and '>19,000<' in html and '>95.00<' in html
    per_class = pd.DataFrame({'IoU': [95.0, 0.0], 'gt_pixels': np.array([20000, 0], np.int64)},
                             index=['background', 'skin'])
    assert '>20,000<' in per_class_table(per_class).to_html()  # 04's per-class table


def test_05_says_the_zips_size_as_its_download_line_does():
    from utils.base.report import human_bytes

    report = SimpleNamespace(warnings=[], verdict='PASSED')
    text = narrate.submission(SimpleNamespace(report=report, masks=1000, folder='sub', bytes=4_700))
    assert '1,000 masks' in text and f', {human_bytes(4_700)};' in text and human_bytes(4_700) == '4.6 KB'


def test_drive_and_runtime_readings_hold_no_doubled_parentheses():
    frame = pd.DataFrame({'space on Drive': ['about 0.4 GB for the course data', '1.57 GB at the peak of a save',
                                             '0.93 GB at the peak of a save', 'a few MB'],
                          'GB': [0.4, 1.57, 0.93, None]},
                         index=['dataset copy (01_data_check)', 'stage 1 checkpoints (02_train_20k)',
                                'stage 2 checkpoints (03_resume_30k)', 'settings.json, logs'])
    runtime = pd.DataFrame({'value': {'torch': '2.13', 'mmsegmentation': '1.2.2', 'GPU': 'none (CPU only)',
                                      'mmcv ops': 'pure-PyTorch fallback (mmcv-lite)'}})
    for text in (narrate.drive_space(frame), narrate.runtime(runtime)):
        assert '))' not in text and ') (' not in text, text
    assert '1.57 + 0.93 GB for the checkpoints together' in narrate.drive_space(frame)  # both stages kept at once


def _drawn_points(line) -> np.ndarray:
    """Display coordinates of a line's points, with 20 points between each pair (a segment crosses a box too)."""
    xy = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
    t = np.linspace(0, 1, 21)[:, None]
    return np.concatenate([a + t * (b - a) for a, b in zip(xy[:-1], xy[1:])]) if len(xy) > 1 else xy


def test_the_resume_label_is_clear_of_its_line_and_of_both_curves():
    """03's schedule figure, as the smoke run draws it: no point of the dashed resume line, the LR curve or the
    momentum curve lies in the box of the 'resume at 60' label, which stays inside the plot; stage 2 starts at 60."""
    from utils.notebook.workflow import plot_schedule, schedule_trace

    trace = schedule_trace('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512',
                           'deeplabv3plus_r50-d8_ohem-cw_1xb4-30k_celebamask-512x512', every=7, max_iters=60,
                           resume_max_iters=90, smoke=dict(size=64, max_iters=60))
    assert int(trace.loc[trace['stage'] == 2, 'iter'].min()) == 60  # sampled every 7, the resume is still there
    fig = plot_schedule(trace)
    fig.draw_without_rendering()
    ax, ax2 = fig.axes
    (label,) = ax.texts
    assert label.get_text() == 'resume at 60'
    box = label.get_window_extent()
    assert ax.get_window_extent().contains(box.x0, box.y0) and ax.get_window_extent().contains(box.x1, box.y1)
    for line in ax.lines + ax2.lines:
        pts = _drawn_points(line)
        inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
        assert not inside.any(), line.get_label()


def test_the_preview_legend_sits_right_below_the_pictures(synthetic_root, tmp_path):
    """05's preview grid: between the lowest picture and the legend under it at most 8 points are left (the old
    layout reserved a fixed strip and left a band of about 35 px at 100 dpi)."""
    from utils.submit import preview_grid

    path = tmp_path / 'z.zip'
    with zipfile.ZipFile(path, 'w') as zf:
        for p in (synthetic_root / 'test' / 'test_mask').glob('*.png'):
            zf.writestr(f'sub/{p.name}', p.read_bytes())
    for n in (6, 3):
        fig = preview_grid(path, synthetic_root / 'test' / 'test_image', n=n)
        fig.draw_without_rendering()
        lowest = min(ax.get_window_extent().y0 for ax in fig.axes if ax.images)
        legend = fig.legends[0].get_window_extent()
        gap_points = (lowest - legend.y1) * 72 / fig.dpi
        assert 0 <= gap_points <= 8, (n, gap_points)
