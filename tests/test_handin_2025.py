"""utils.handin under the 2025-26 rules, on a crafted run whose numbers are known (tests/handin_fixtures.py): the zip
named after the matriculation number with masks/ of the test images, the draft in Arial 10 with the sections of
the grade split, the experiment table from every evaluation; and the report check on crafted PDFs."""
from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest

from handin_fixtures import CONFIG, EVALS, PARAMS, make_run_2025
from utils.base.edition import PARAM_CAP
from utils.handin.kit import MISSING, PRESENT, build_handin

SECTIONS = ('Model', 'Number of parameters', 'Loss functions', 'Optimization and regularization',
            'Experimental analysis', 'Results', 'Test result', 'Training machine', 'Discussion', 'References')


@pytest.fixture(scope='module')
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp('run2025')
    run = make_run_2025(root)
    result = build_handin(run['stages'], root / 'handin', matric='G7654321B', leaderboard_name='parser',
                          submission=run['submission'], checkpoint=run['checkpoint'], test_images=run['test_images'],
                          edition='2025')
    return {**run, 'root': root, 'result': result}


def _doc(crafted):
    import docx

    return docx.Document(str(crafted['result'].folder / 'report_draft.docx'))


def test_the_zip_is_named_after_the_matric_and_holds_the_test_masks(crafted):
    result = crafted['result']
    assert result.zip_path.name == 'G7654321B.zip' and result.edition == '2025'
    with zipfile.ZipFile(result.zip_path) as zf:
        names = set(zf.namelist())
    masks = {Path(n).stem for n in names if n.startswith('masks/')}
    assert masks == set(crafted['stems']) and len(masks) == 100  # one per test image, named as its input
    assert {'report_draft.docx', 'report.tex', 'Readme.txt', 'code/utils/manifest.txt',
            'checkpoint/best_imgF_iter_100.pth', f'code/run/{CONFIG}/split.json'} <= names
    assert 'test_predictions.zip' not in names and not any(n.startswith('solution/') for n in names)
    status = {item: s for item, s, _ in result.checks}
    assert status['best test predictions'] == PRESENT and status['zip named after the matriculation number'] == PRESENT
    detail = {item: d for item, _, d in result.checks}
    assert detail['report: model and parameter count'] == (f'{PARAMS:,} parameters by the course formula (fewer than '
                                                            f'the cap {PARAM_CAP:,})')


def test_the_draft_is_arial_10_everywhere_with_the_sections_of_the_grade_split(crafted):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = _doc(crafted)
    assert doc.styles['Normal'].font.size == Pt(10)
    for name in ('Normal', 'Title', 'Heading 1', 'Heading 2', 'Caption'):
        fonts = doc.styles[name].element.rPr.find(qn('w:rFonts'))
        assert fonts.get(qn('w:ascii')) == 'Arial' and fonts.get(qn('w:asciiTheme')) is None, name
    named = {r.font.name for p in doc.paragraphs for r in p.runs if r.font.name}
    assert named <= {'Arial', 'Courier New'}  # code blocks in Courier, nothing else
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith('Heading')]
    assert [s for s in SECTIONS if s not in headings] == []


def test_the_draft_states_the_holdout_f_the_cap_and_a_to_do_for_the_test_f(crafted):
    text = '\n'.join(p.text for p in _doc(crafted).paragraphs)
    plain, flip, biased = (e[4] for e in EVALS[:3])  # the submitted checkpoint's three evaluations
    assert f'TTA none: {plain:.4f}; TTA flip: {flip:.4f}; TTA flip + class biases: {biased:.4f}' in text
    assert f'{PARAMS:,} parameters, {100 * PARAMS / PARAM_CAP:.1f}% of the cap' in text
    assert f'fewer than {PARAM_CAP:,}' in text and 'sum(p.numel() for p in model.parameters())' in text
    assert re.search(r'\[TO DO: The per-image F on the 100 test images is __\.__', text)
    assert 'RandomRotate(degree=20, prob=0.5)' in text and 'weight decay 0.01' in text  # from the resolved config
    assert 'Dice (loss weight 0.5)' in text


def test_the_experiment_table_holds_every_evaluation_of_the_work_root(crafted):
    doc = _doc(crafted)
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == 'config')
    header = [c.text for c in table.rows[0].cells]
    body = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert len(body) == len(EVALS)
    f_col, b_col, t_col = header.index('holdout F'), header.index('biases'), header.index('TTA')
    expected = sorted(EVALS, key=lambda e: -e[4])
    assert [r[f_col] for r in body] == [f'{e[4]:.4f}' for e in expected]
    assert [(r[t_col], r[b_col]) for r in body] == [(e[2], 'yes' if e[3] else 'no') for e in expected]
    text = '\n'.join(p.text for p in doc.paragraphs)
    assert f'Flip TTA, holdout F gained: {EVALS[1][4] - EVALS[0][4]:+.4f}' in text
    assert f'Class biases, holdout F gained: {EVALS[2][4] - EVALS[1][4]:+.4f}' in text


def test_no_machine_path_in_the_zip_and_the_code_passes_its_check(crafted, tmp_path):
    from test_handin import assert_no_machine_paths

    from utils.core.env import code_problems

    assert_no_machine_paths(crafted['result'].zip_path, crafted['root'], crafted['work_root'], crafted['data'])
    with zipfile.ZipFile(crafted['result'].zip_path) as zf:
        zf.extractall(tmp_path, [n for n in zf.namelist() if n.startswith('code/')])
        config = zf.read(f'code/run/{CONFIG}/{CONFIG}.py').decode()
    assert code_problems(tmp_path / 'code') == []
    assert f"work_dir = 'work_dirs/{CONFIG}'" in config and "data_root = 'data/celebamask'" in config


def test_the_2025_draft_renders_within_five_pages(crafted, tmp_path):
    from test_handin import assert_fits_the_page

    from utils.handin.latex import compile_pdf
    from utils.handin.render import rendered_length, soffice_pdf

    ran = False
    if shutil.which('soffice') and shutil.which('pdftoppm'):
        length = rendered_length(soffice_pdf(crafted['result'].folder / 'report_draft.docx', tmp_path / 'docx'))
        assert length is not None and length <= 5 and abs(length - crafted['result'].pages) <= 0.5
        ran = True
    if shutil.which('pdflatex'):
        shutil.copytree(crafted['result'].folder, tmp_path / 'tex')
        ok, message = compile_pdf(tmp_path / 'tex' / 'report.tex')
        assert ok, message
        assert_fits_the_page(tmp_path / 'tex' / 'report.tex', max_pages=5)
        ran = True
    if not ran:
        pytest.skip('neither LibreOffice nor pdflatex is installed: .ci/run installs them')


def test_a_smoke_run_says_smoke_in_its_zip_and_readme(tmp_path):
    run = make_run_2025(tmp_path, n_test=3, smoke=True)
    result = build_handin(run['stages'], tmp_path / 'handin', matric='G7654321B', submission=run['submission'],
                          checkpoint=run['checkpoint'], test_images=run['test_images'], edition='2025')
    assert result.zip_path.name == 'G7654321B-SMOKE-not-for-hand-in.zip'
    with zipfile.ZipFile(result.zip_path) as zf:
        assert zf.read('Readme.txt').decode().startswith('SMOKE RUN')


def test_the_command_line_builds_the_2025_hand_in(crafted, tmp_path, capsys):
    from utils.handin.__main__ import main

    code = main([str(crafted['stages'][0]), '--edition', '2025', '--out', str(tmp_path / 'handin'), '--matric',
                 'G7654321B', '--submission', str(crafted['submission']), '--checkpoint', str(crafted['checkpoint']),
                 '--test-images', str(crafted['test_images'])])
    out = capsys.readouterr().out
    assert code == 0 and 'G7654321B.zip' in out and 'the course allows 5' in out


# --------------------------------------------------------------------------- the report PDF read back
def tiny_pdf(lines: list[str], compress: bool = False) -> bytes:
    """A one-page PDF drawing ``lines`` in Helvetica (what any exporter writes, in small)."""
    text = 'BT /F1 10 Tf 72 760 Td 14 TL ' + ' '.join(
        '(' + line.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)') + ") '" for line in lines) + ' ET'
    content = zlib.compress(text.encode('latin-1')) if compress else text.encode('latin-1')
    objects = [b'<< /Type /Catalog /Pages 2 0 R >>', b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
               b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R '
               b'/Resources << /Font << /F1 5 0 R >> >> >>',
               b'<< /Length %d%s >>\nstream\n' % (len(content), b' /Filter /FlateDecode' if compress else b'')
               + content + b'\nendstream',
               b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>']
    out, offsets = bytearray(b'%PDF-1.4\n'), []
    for k, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b'%d 0 obj\n' % k + body + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    out += b''.join(b'%010d 00000 n \n' % o for o in offsets)
    out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objects) + 1, xref)
    return bytes(out)


UNFINISHED = ['Face Parsing', '[TO DO: Your name and e-mail.]', 'Test result',
              '[TO DO: The per-image F on the 100 test images is __.__ (copy it from the leaderboard).]']
EMPTY_SCORE = ['Face Parsing', 'Test result', 'The per-image F on the 100 test images is (copy it from the board).']
FINISHED = ['Face Parsing', 'Test result', 'The per-image F on the 100 test images is 0.8123.']


@pytest.mark.parametrize('reader', ['pdftotext', 'fallback'])
@pytest.mark.parametrize('compress', [False, True])
def test_a_report_with_to_do_marks_or_no_score_is_not_finished(tmp_path, monkeypatch, reader, compress):
    from utils.handin import pdfcheck

    if reader == 'fallback':
        monkeypatch.setattr(pdfcheck.shutil, 'which', lambda name: None)
    elif shutil.which('pdftotext') is None:
        pytest.skip('poppler (pdftotext) is not installed: the fallback reader is tested beside')
    states = {}
    for name, lines in (('unfinished', UNFINISHED), ('empty', EMPTY_SCORE), ('finished', FINISHED)):
        (tmp_path / f'{name}.pdf').write_bytes(tiny_pdf(lines, compress))
        states[name] = pdfcheck.report_state(tmp_path / f'{name}.pdf', max_pages=5)
    assert not states['unfinished'].finished
    assert states['unfinished'].left[:2] == ['2 TO DO mark(s)', 'the __.__ placeholder']
    assert not states['empty'].finished and states['empty'].left == [
        'the test score (empty: copy it from the leaderboard)']
    assert states['finished'].finished and states['finished'].test_score == '0.8123'
    assert states['finished'].pages == 1


def test_the_check_shows_the_score_read_back_beside_the_screenshot(crafted, tmp_path):
    from PIL import Image

    folder = tmp_path / 'handin'
    shutil.copytree(crafted['result'].folder, folder)
    Image.new('RGB', (300, 80), 'white').save(folder / 'score.png')
    (folder / 'report.pdf').write_bytes(tiny_pdf(FINISHED))
    result = build_handin(crafted['stages'], folder, matric='G7654321B', submission=crafted['submission'],
                          checkpoint=crafted['checkpoint'], test_images=crafted['test_images'], edition='2025')
    status = {item: (s, d) for item, s, d in result.checks}
    assert status['leaderboard screenshot'] == (PRESENT, 'score.png; the report states the test score 0.8123')
    assert status['report: test score'] == (PRESENT, 'report.pdf states 0.8123')
    assert next(v for k, v in status.items() if k.startswith('report PDF (at most 5 A4 pages, Arial 10)'))[0] == PRESENT
    (folder / 'report.pdf').write_bytes(tiny_pdf(UNFINISHED))
    again = build_handin(crafted['stages'], folder, matric='G7654321B', edition='2025')
    row = next(r for r in again.checks if r[0].startswith('report PDF'))
    assert row[1] == MISSING and 'NOT FINISHED: 2 TO DO mark(s); the __.__ placeholder' in row[2]
