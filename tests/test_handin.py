"""utils.handin: the hand-in built from a smoke run resumed into a second stage: the .docx draft opened and checked
against the run's own files, the LaTeX source (compiled where pdflatex exists), the hand-in check, the zip."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from utils.handin.kit import MISSING, PRESENT, build_handin
from utils.base.labels import CLASSES
from utils.core.metrics import read_scalars

HEADINGS = ('Background', 'Model', 'Number of parameters', 'Loss function', 'Optimizer and scheduler',
            'Training curves', 'Results on the val set', 'Test result', 'Training machine', 'Discussion', 'References')
#: the figures the 2022 draft embeds (the per-class chart and the test predictions stay in figures/: the page budget)
DRAFT_FIGURES = ('schedule', 'loss', 'val_metrics')


@pytest.fixture(scope='module')
def run(resumed_run, synthetic_root, tmp_path_factory):
    """The resumed run evaluated as 04 does (without and with TTA) and submitted as 05 does, then handed in
    without a matriculation number or a screenshot."""
    from utils.core.checkpoints import best_or_newest
    from utils.evaluate import evaluate
    from utils.submit import make_submission

    stages = [r['work_dir'] for r in resumed_run]
    ckpt = best_or_newest(*reversed(stages))
    for tta in ('none', 'flip'):
        evaluate(ckpt, synthetic_root, split='val', tta=tta)
    root = tmp_path_factory.mktemp('handin')
    test_images = synthetic_root / 'test' / 'test_image'
    sub = make_submission(ckpt, test_images, root / 'submission-seed.zip', tta='flip', strict=False)
    result = build_handin(stages, root / 'handin', leaderboard_name='  ', submission=sub.zip_path,
                          test_images=test_images)
    return {'stages': stages, 'ckpt': ckpt, 'root': root, 'result': result, 'test_images': test_images,
            'submission': sub.zip_path}


def _docx(run):
    import docx

    return docx.Document(str(run['result'].folder / 'report_draft.docx'))


def _text(doc) -> str:
    return '\n'.join(p.text for p in doc.paragraphs)


def test_docx_has_every_section_in_the_course_font_and_page(run):
    from docx.shared import Cm, Pt

    doc = _docx(run)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith('Heading')]
    assert [h for h in HEADINGS if h not in headings] == []
    normal = doc.styles['Normal'].font
    assert normal.name == 'Arial' and normal.size == Pt(12)
    section = doc.sections[0]
    assert abs(section.page_width - Cm(21)) < Cm(0.01) and abs(section.page_height - Cm(29.7)) < Cm(0.01)
    assert 1 <= run['result'].pages <= 8


def test_docx_embeds_the_figures(run):
    doc = _docx(run)
    figures = {p.stem for p in (run['result'].folder / 'figures').glob('*.png')}
    assert {'loss', 'val_metrics', 'schedule', 'per_class_iou', 'predictions'} <= figures
    assert {p.stem for p in (run['result'].folder / 'figures').glob('*.pdf')} == figures  # vector twins for LaTeX
    assert len(doc.inline_shapes) == len(DRAFT_FIGURES)


def test_docx_numbers_equal_the_runs_files(run):
    doc = _docx(run)
    text = _text(doc)
    record = json.loads((run['stages'][-1] / 'run_record.json').read_text())
    assert f"{record['parameters']:,} trainable parameters" in text and str(record['parameters']) in text
    assert 'OHEMPixelSampler' in text and 'probability below 0.7' in text
    val = read_scalars(run['stages']).val.set_index('step')
    best = int(run['ckpt'].stem.rsplit('_', 1)[-1])  # best_mIoU_iter_N.pth: the submitted model's validation
    summary = next(t for t in doc.tables if t.rows[0].cells[0].text == 'run')
    row = next(r for r in summary.rows if r.cells[0].text.startswith(f'ours, best validation ({best} it)'))
    assert [c.text for c in row.cells[1:]] == [f"{val.loc[best, k]:.2f}" for k in ('aAcc', 'mIoU', 'mAcc', 'mDice')]
    per_class = pd.read_csv(run['stages'][-1] / 'val_per_class.csv')
    ours = per_class[per_class['step'] == best].set_index('class')
    table = next(t for t in doc.tables if t.rows[1].cells[1].text == 'IoU')  # two header rows: run, then metric
    runs, metrics = [c.text for c in table.rows[0].cells], [c.text for c in table.rows[1].cells]
    col = next(i for i, (r, m) in enumerate(zip(runs, metrics)) if r == f'ours, best: {best} it' and m == 'IoU')
    assert [r.cells[0].text for r in table.rows[2:]] == list(CLASSES)
    assert [r.cells[col].text for r in table.rows[2:]] == [f'{v:.2f}' for v in ours.loc[list(CLASSES), 'IoU']]
    weights = next(t for t in doc.tables if t.rows[0].cells[-1].text.strip() == 'pixel share %')  # in two halves
    source = pd.read_csv(run['stages'][0] / 'class_weights.csv')
    assert [c.text for c in weights.rows[1].cells] == [
        CLASSES[0], f"{source['decode_head.loss_ce'][0]:.2f}", f"{100 * source['train_pixel_share'][0]:.2f}",
        CLASSES[10], f"{source['decode_head.loss_ce'][10]:.2f}", f"{100 * source['train_pixel_share'][10]:.2f}"]
    assert '74.72' in [c.text for r in summary.rows for c in r.cells]  # the report's best val mIoU beside ours
    machine = record['sessions'][-1]['machine']
    assert (machine['gcc']['output'] or machine['gcc']['absent']).splitlines()[0] in text


def test_tables_in_three_formats(run):
    tables = run['result'].folder / 'tables'
    for name in ('per_class', 'summary', 'class_weights', 'tta_gain'):
        assert {p.suffix for p in tables.glob(f'{name}.*')} == {'.csv', '.md', '.tex'}, name
    weights = pd.read_csv(tables / 'class_weights.csv').set_index('class')
    assert weights['weight'].tolist() == pd.read_csv(run['stages'][0] / 'class_weights.csv')[
        'decode_head.loss_ce'].tolist()
    assert '\\toprule' in (tables / 'summary.tex').read_text()


def test_latex_source_names_existing_figures_and_compiles_where_tex_exists(run, tmp_path):
    import re

    from utils.handin.latex import compile_pdf

    folder = run['result'].folder
    tex = (folder / 'report.tex').read_text()
    included = re.findall(r'\\includegraphics\[[^]]*\]\{([^}]+)\}', tex)
    assert included and all((folder / name).is_file() for name in included)
    assert tex.count('\\begin{table}') == 3 and '\\end{document}' in tex  # weights, summary, per class
    if shutil.which('pdflatex') is None:
        pytest.skip('no pdflatex here: the LaTeX source is checked, not compiled')
    copy = tmp_path / 'tex'
    shutil.copytree(folder, copy)
    ok, message = compile_pdf(copy / 'report.tex')
    assert ok, message
    assert_fits_the_page(copy / 'report.tex', max_pages=5)


def assert_fits_the_page(tex: Path, max_pages: int) -> None:
    """The compiled draft has at most ``max_pages`` pages and nothing runs into the margin (pdflatex's log)."""
    import re

    from utils.handin.pdfcheck import pdf_pages

    log = tex.with_suffix('.log').read_text(errors='replace')
    overfull = [float(x) for x in re.findall(r'Overfull \\hbox \(([0-9.]+)pt too wide\)', log)]
    assert [x for x in overfull if x > 1.0] == [], f'lines into the margin: {overfull}'
    assert pdf_pages(tex.with_suffix('.pdf')) <= max_pages


def test_check_reports_missing_items_as_missing_not_errors(run):
    result = run['result']
    status = {item: s for item, s, _ in result.checks}
    assert status['leaderboard screenshot'] == MISSING and status['matriculation number'] == MISSING
    assert status['leaderboard user name'] == MISSING  # blank is not a name
    assert status['best test predictions'] == PRESENT and status['submitted checkpoint'] == PRESENT
    detail = dict((item, d) for item, _, d in result.checks)
    assert 'score.png' in detail['leaderboard screenshot']
    assert result.zip_path.name == 'MATRIC-MISSING-SMOKE-not-for-hand-in.zip' and result.zip_path.is_file()
    readme = (result.folder / 'Readme.txt').read_text()
    assert 'Matriculation number: MISSING' in readme
    record = json.loads((run['stages'][-1] / 'run_record.json').read_text())
    assert f"mmsegmentation          {record['sessions'][-1]['versions']['mmsegmentation']}" in readme


def test_a_second_build_keeps_what_the_student_added(run):
    from PIL import Image

    folder = run['result'].folder
    Image.new('RGB', (40, 20), (10, 200, 10)).save(folder / 'score.png')
    shot = (folder / 'score.png').read_bytes()
    (folder / 'Readme.txt').write_text('my own notes')  # edited by hand: must survive
    result = build_handin(run['stages'], folder, matric='G1234567A', leaderboard_name='face-parser',
                          submission=run['submission'], test_images=run['test_images'])
    status = {item: s for item, s, _ in result.checks}
    assert status['leaderboard screenshot'] == PRESENT and status['matriculation number'] == PRESENT
    assert (folder / 'score.png').read_bytes() == shot and (folder / 'Readme.txt').read_text() == 'my own notes'
    assert 'Matriculation number: G1234567A' in (folder / 'Readme-new.txt').read_text()
    assert result.zip_path.name == 'G1234567A-SMOKE-not-for-hand-in.zip'  # a smoke run says so
    with zipfile.ZipFile(result.zip_path) as zf:
        names = set(zf.namelist())
    assert {'score.png', 'report_draft.docx', 'report.tex', 'test_predictions.zip', 'Readme.txt',
            f'checkpoint/{run["ckpt"].name}', 'code/utils/handin/kit.py', 'code/configs/_base_/default_runtime.py'} <= names
    assert any(n.startswith(f'code/run/{run["stages"][0].name}/') and n.endswith('run_record.json') for n in names)
    assert not any(Path(n).name.startswith('.') for n in names)
    assert len(_docx(run).inline_shapes) == len(DRAFT_FIGURES) + 1  # the screenshot is in the draft now


def test_cli_help_and_a_clear_error(tmp_path, capsys):
    from utils.handin.__main__ import main

    with pytest.raises(SystemExit):
        main(['--help'])
    assert 'leaderboard' in capsys.readouterr().out
    assert main([str(tmp_path / 'nowhere'), '--out', str(tmp_path / 'h')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: No work_dir of the run') and 'Traceback' not in err


def test_06_without_a_trained_stage_says_what_to_do(tmp_path):
    from types import SimpleNamespace

    from utils.notebook.handin import build_for_plan
    from utils.handin.rundata import HandinError

    plan = SimpleNamespace(trained_work_dirs=[], recipe='seed', work_root=tmp_path, checkpoint=None,
                           work_dir_20k=tmp_path / 'a', work_dir_30k=None, config_30k=None, sources={}, edition='2022')
    from utils.base.layout import KnownError

    with pytest.raises(HandinError, match='run 02_train_20k') as info:
        build_for_plan(plan)
    assert isinstance(info.value, KnownError)  # the notebook's guard shows it as one message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_test_images_come_from_the_dataset_copy_on_drive_and_nothing_else(tmp_path):
    from types import SimpleNamespace

    from utils.notebook.handin import test_images_from_drive

    keep = tmp_path / 'drive'
    (keep / 'data').mkdir(parents=True)
    with zipfile.ZipFile(keep / 'data' / 'celebamask-dataset.zip', 'w') as zf:
        zf.writestr('test/test_image/0.jpg', b'jpg0')
        zf.writestr('test/test_image/../../evil.jpg', b'x')
        zf.writestr('train/train_image/1.jpg', b'jpg1')
    plan = SimpleNamespace(test_images=tmp_path / 'none', keep_dir=keep)
    out = test_images_from_drive(plan, tmp_path / 'runtime')
    assert sorted(p.name for p in out.iterdir()) == ['0.jpg'] and not (tmp_path / 'evil.jpg').exists()


def test_a_matric_that_cannot_name_a_file_is_refused(run, tmp_path):
    from utils.handin.rundata import HandinError

    with pytest.raises(HandinError, match='cannot name the zip'):
        build_handin(run['stages'], tmp_path / 'handin', matric='../G1')
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_a_final_fit_draft_says_its_val_scores_are_not_honest(tmp_path):
    """The draft of a final fit (trained on train + val) marks its val results, as 04 does (a review found 06 did
    not); the command line builds it from the <config>_trainval work_dirs with --final-fit."""
    from types import SimpleNamespace

    from utils.core.config import FINAL_FIT_SUFFIX
    from utils.handin.draft import _results_blocks

    tables = {'summary': 'S', 'per_class': 'P'}
    final = SimpleNamespace(checkpoint=tmp_path / f'cfg{FINAL_FIT_SUFFIX}' / 'best_mIoU_iter_9.pth')
    plain = SimpleNamespace(checkpoint=tmp_path / 'cfg' / 'best_mIoU_iter_9.pth')
    assert any('final fit on train + val' in (b.text or '') for b in _results_blocks(final, tables, {}))
    assert not any('final fit' in (b.text or '') for b in _results_blocks(plain, tables, {}))


# --------------------------------------------------------------------------- what a marker reads first (2022)
def test_loss_and_model_sections_say_what_the_run_trained_with(run):
    """Each head's loss as the record has it: the decode head class-weighted with OHEM (its minimum per image), the
    auxiliary head plain cross-entropy at 0.4 without class weights or OHEM; the architecture and the weights."""
    record = json.loads((run['stages'][-1] / 'run_record.json').read_text())
    heads = record['recipe']['heads']
    aux, ohem = heads['auxiliary_head'], heads['decode_head']['sampler']
    assert aux['losses'][0]['class_weight'] is None and aux['sampler'] is None  # the oracle: what the config built
    text = _text(_docx(run))
    loss = text[text.index('Loss function'):text.index('Optimizer and scheduler')]
    assert f"plain cross-entropy (loss weight {aux['losses'][0]['loss_weight']:g})" in loss
    assert 'no class weights and no OHEM' in loss and 'adds the same loss' not in loss
    batch = record['recipe']['batch_size']
    assert f"at least {ohem['min_kept']:,} pixels per image, {ohem['min_kept'] * batch:,} in a batch of {batch}" in loss
    assert 'm_p = 1 if OHEM keeps pixel p' in loss and 'm(p)' in loss  # the equation carries the OHEM mask
    model = text[text.index('\nModel'):text.index('Number of parameters')]
    assert 'DeepLabV3+' in model and 'ResNet-50-v1c' in model and 'ImageNet-1k' in model
    assert 'open-mmlab://resnet50_v1c' in model  # the source of the real run's weights (the smoke run has none)


def test_title_headings_captions_and_tables_are_arial_and_numbered(run):
    """No theme font is left for Word to prefer (python-docx's template gives the headings Calibri Light); every
    caption is numbered in order; no table is set below 9 pt."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = _docx(run)
    for name in ('Normal', 'Title', 'Heading 1', 'Heading 2', 'Caption'):
        fonts = doc.styles[name].element.rPr.find(qn('w:rFonts'))
        assert {k.split('}')[-1]: v for k, v in fonts.attrib.items()} == {
            'ascii': 'Arial', 'hAnsi': 'Arial', 'eastAsia': 'Arial', 'cs': 'Arial'}, name
    captions = [p.text for p in doc.paragraphs if p.style.name == 'Caption']
    figures = [c for c in captions if c.startswith('Figure')]
    tables = [c for c in captions if c.startswith('Table')]
    assert [c.split('.')[0] for c in figures] == [f'Figure {k}' for k in range(1, len(figures) + 1)]
    assert [c.split('.')[0] for c in tables] == [f'Table {k}' for k in range(1, len(doc.tables) + 1)]
    sizes = {r.font.size for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs}
    assert sizes and min(sizes) >= Pt(9)
    assert 'Discussion' in [p.text for p in doc.paragraphs if p.style.name == 'Heading 1']


#: what a Colab T4 session records (utils.plugins.record): the longest machine section a real draft has
T4_SMI = """Mon Dec  7 10:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  Tesla T4                       Off |   00000000:00:04.0 Off |                    0 |
| N/A   44C    P8              9W /   70W |       0MiB /  15360MiB |      0%      Default |
|                                         |                        |                  N/A |
+-----------------------------------------+------------------------+----------------------+

+-----------------------------------------------------------------------------------------+
| Processes:                                                                              |
|  No running processes found                                                             |
+-----------------------------------------------------------------------------------------+"""
T4_MACHINE = {'gpus': [{'name': 'Tesla T4', 'memory_gib': 15.0}], 'driver': '550.54.15', 'cuda_torch': '12.4',
              'cudnn': 90100, 'cpu': 'Intel(R) Xeon(R) CPU @ 2.20GHz', 'cpu_count': 2, 'memory_gib': 12.7,
              'colab': True, 'nvidia_smi': {'output': T4_SMI, 'absent': None},
              'nvcc': {'output': 'nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2024 NVIDIA Corporation\n'
                                 'Built on Thu_Mar_28_02:18:24_PDT_2024\nCuda compilation tools, release 12.4, '
                                 'V12.4.131\nBuild cuda_12.4.r12.4/compiler.34097967_0', 'absent': None},
              'gcc': {'output': 'gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\nCopyright (C) 2021 Free Software '
                                'Foundation, Inc.\nThis is free software; see the source for copying conditions.',
                      'absent': None}}


@pytest.fixture(scope='module')
def filled(run, tmp_path_factory):
    """The hand-in as a real run fills it: the stages' records with a Colab T4 machine and a disconnect in stage 1
    (two sessions), and what a student adds before rendering: the screenshot and the names."""
    import os

    from PIL import Image

    root = tmp_path_factory.mktemp('filled')
    stages = []
    for stage in run['stages']:  # hard links: the checkpoints are not copied; the records are rewritten
        shutil.copytree(stage, root / stage.name, copy_function=os.link)
        record = json.loads((stage / 'run_record.json').read_text())
        for session in record['sessions']:
            session['machine'] = T4_MACHINE
        if stage == run['stages'][0]:
            record['sessions'].append(dict(record['sessions'][-1], resumed_from='iter_2.pth'))
        (root / stage.name / 'run_record.json').unlink()
        (root / stage.name / 'run_record.json').write_text(json.dumps(record))
        stages.append(root / stage.name)
    folder = root / 'handin'
    folder.mkdir()
    Image.new('RGB', (1400, 380), (230, 230, 240)).save(folder / 'score.png')  # a leaderboard strip
    return build_handin(stages, folder, matric='G1234567A', leaderboard_name='face-parser',
                        submission=run['submission'], test_images=run['test_images'])


def test_the_filled_draft_renders_to_four_pages_as_estimated(filled, tmp_path):
    """Rendered by LibreOffice (Liberation Sans has Arial's metrics), the filled draft takes at most 4 pages, a page
    left for the student's words, and the builder's estimate is within half a page of the rendering."""
    from utils.handin.render import rendered_length, soffice_pdf

    if shutil.which('soffice') is None or shutil.which('pdftoppm') is None:
        pytest.skip('LibreOffice (soffice) and poppler (pdftoppm) are not installed: .ci/run installs them')
    pdf = soffice_pdf(filled.folder / 'report_draft.docx', tmp_path)
    length = rendered_length(pdf)
    assert length is not None and length <= 4.0
    assert abs(filled.pages - length) <= 0.5, (filled.pages, length)
    import subprocess

    fonts = subprocess.run(['pdffonts', str(pdf)], capture_output=True, text=True).stdout.splitlines()[2:]
    assert {line.split()[0].split('+')[-1].split('-')[0] for line in fonts} <= {'LiberationSans', 'LiberationMono'}


def test_the_filled_latex_draft_compiles_to_five_pages_within_the_margins(filled, tmp_path):
    from utils.handin.latex import compile_pdf

    if shutil.which('pdflatex') is None:
        pytest.skip('no pdflatex here: .ci/run installs TeX')
    shutil.copytree(filled.folder, tmp_path / 'tex')
    ok, message = compile_pdf(tmp_path / 'tex' / 'report.tex')
    assert ok, message
    assert_fits_the_page(tmp_path / 'tex' / 'report.tex', max_pages=5)


def test_an_unedited_draft_saved_as_report_pdf_is_not_finished(filled, run, tmp_path):
    """The draft exported as report.pdf unchanged: the check calls it not finished and names what is left; the
    screenshot's row says that the report states no test score yet."""
    from utils.handin.render import soffice_pdf

    if shutil.which('soffice') is None:
        pytest.skip('LibreOffice (soffice) is not installed: .ci/run installs it (the crafted PDFs of '
                    'test_handin_2025.py cover the check without it)')
    folder = tmp_path / 'handin'
    shutil.copytree(filled.folder, folder)
    pdf = soffice_pdf(folder / 'report_draft.docx', tmp_path / 'pdf')
    shutil.copyfile(pdf, folder / 'report.pdf')
    result = build_handin(run['stages'], folder, matric='G1234567A', leaderboard_name='face-parser')
    status = {item: (s, d) for item, s, d in result.checks}
    pdf_row = next(v for k, v in status.items() if k.startswith('report PDF'))
    assert pdf_row[0] == MISSING and 'NOT FINISHED' in pdf_row[1]
    assert 'TO DO mark' in pdf_row[1] and '__.__' in pdf_row[1]
    assert status['report: test score'][0] == MISSING
    assert 'states no test score yet' in status['leaderboard screenshot'][1]


def _text_files(zip_path: Path) -> dict[str, str]:
    """Every text file of a zip (UTF-8 without NUL bytes), the report's .docx XML included."""
    import io

    out = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.endswith('.docx'):
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    out.update({f'{name}/{n}': inner.read(n).decode('utf-8', 'replace') for n in inner.namelist()
                                if n.endswith('.xml')})
            elif b'\0' not in data[:8192]:
                try:
                    out[name] = data.decode('utf-8')
                except UnicodeDecodeError:
                    pass
    return out


def assert_no_machine_paths(zip_path: Path, *roots: Path) -> None:
    """No text file of the zip names the build machine's folders (the run's tmp folder, this checkout)."""
    from utils.base.labels import REPO_ROOT

    needles = {str(r) for r in (*roots, REPO_ROOT)} | {str(r.resolve()) for r in (*roots, REPO_ROOT)}
    found = {name: n for name, text in _text_files(zip_path).items() for n in needles if n in text}
    assert found == {}


def test_the_zip_is_clean_and_its_code_passes_the_code_check(filled, run, tmp_path):
    """code/ holds the manifest and passes utils.core.env.code_problems; records and configs say paths relative to the
    run; the Readme names the smoke run, the data step, the checkpoint's file and every library's reference."""
    from utils.core.env import code_problems
    from utils.handin.readme import REFERENCES

    assert 'SMOKE' in filled.zip_path.name
    stage = run['stages'][-1]
    config_file = json.loads((stage / 'run_record.json').read_text())['config_file']
    with zipfile.ZipFile(filled.zip_path) as zf:
        zf.extractall(tmp_path / 'unzipped', [n for n in zf.namelist() if n.startswith('code/')])
        readme = zf.read('Readme.txt').decode()
        config = zf.read(f'code/run/{stage.name}/{config_file}').decode()
    assert (tmp_path / 'unzipped' / 'code' / 'utils' / 'manifest.txt').is_file()
    assert code_problems(tmp_path / 'unzipped' / 'code') == []
    assert "data_root = 'data/celebamask'" in config and f"load_from = 'work_dirs/{run['stages'][0].name}/" in config
    assert_no_machine_paths(filled.zip_path, run['root'], run['stages'][0].parent, run['test_images'].parent.parent,
                            filled.folder.parent)
    assert readme.startswith('SMOKE RUN') and 'python -m utils.data fetch' in readme
    assert f"python -m utils.evaluate ../checkpoint/{run['ckpt'].name}" in readme
    listed = [line.split()[0] for line in readme.splitlines() if line.split() and line.split()[0] in REFERENCES]
    assert {'mmsegmentation', 'mmengine', 'mmcv', 'torch', 'numpy'} <= set(listed)
    for name in listed:  # each library's line is followed by its authors, title and address
        authors, title, address = REFERENCES[name]
        assert f'{authors.rstrip(".")}. {title}. {address}' in readme, name
