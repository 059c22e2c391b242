"""Assemble ``handin/`` from a run, check it against the course specification, and zip it under the matriculation
number. A missing item (screenshot, matriculation number, submission) is reported in the check table with what to
do; it never stops the draft from being built. Files a student put into ``handin/`` (``score.png``,
``report.pdf``, an edited draft) are never overwritten: a file there is replaced only if this module wrote it and it
is unchanged since (``.handin-manifest.json`` keeps their hashes)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..labels import REPO_ROOT
from ..record import PER_CLASS_FILE, RECORD_FILE, WEIGHTS_FILE
from .run import collect
from .rundata import HandinError, RunData

MANIFEST = '.handin-manifest.json'
SCREENSHOTS = ('score.png', 'score.jpg', 'score.jpeg')
PRESENT, MISSING, FILLED = 'present', 'missing', 'filled from the run'
CODE_GLOBS = ('utils/**/*.py', 'configs/**/*.py', 'notebooks/*.py', 'notebooks/*.ipynb', 'scripts/**/*.py',
              'assets/*', 'docs/*.md', 'requirements*.txt', 'constraints-ci.txt', 'README.md', 'Makefile',
              'pyproject.toml')
LIBRARIES = ('torch', 'torchvision', 'numpy', 'mmsegmentation', 'mmengine', 'mmcv-lite', 'mmcv', 'opencv-python',
             'opencv-python-headless', 'Pillow', 'matplotlib', 'pandas', 'scipy')


@dataclass
class HandinResult:
    """What :func:`build_handin` made: the folder, the zip, the draft's length and the check table."""

    folder: Path
    zip_path: Path
    pages: float
    checks: list[tuple[str, str, str]]  # (item, status, what / what to do)
    notes: list[str] = field(default_factory=list)

    def frame(self):
        """The hand-in check as a DataFrame (item, status, detail)."""
        import pandas as pd

        return pd.DataFrame(self.checks, columns=['item', 'status', 'detail']).set_index('item')

    def styled(self):
        """The check table coloured by status, its caption giving the zip and its size."""
        colours = {PRESENT: '#c6efce', FILLED: '#ddebf7', MISSING: '#ffc7ce'}
        size = self.zip_path.stat().st_size / 1e6 if self.zip_path.is_file() else 0
        return (self.frame().style.map(lambda v: f'background-color: {colours.get(v, "")}', subset=['status'])
                .set_caption(f'Hand-in check: {self.zip_path.name}, {size:,.1f} MB; the report draft is about '
                             f'{self.pages} pages'))

    @property
    def missing(self) -> list[str]:
        return [item for item, status, _ in self.checks if status == MISSING]


# --------------------------------------------------------------------------- writing only what is ours
def _sha(path: Path) -> str:
    from ..submit.common import file_sha256

    return file_sha256(path)


def _install(staging: Path, folder: Path, notes: list[str]) -> dict[str, Path]:
    """Move each file from ``staging`` into ``folder``; one that a person put or changed there is kept, and the new
    one goes beside it (``name-new.ext``). Returns relative name -> installed path."""
    manifest_path = folder / MANIFEST
    try:
        ours = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    except (OSError, ValueError):
        ours = {}
    installed = {}
    for src in sorted(p for p in staging.rglob('*') if p.is_file()):
        rel = src.relative_to(staging).as_posix()
        dest = folder / rel
        if dest.exists() and ours.get(rel) != _sha(dest):
            dest = dest.with_name(f'{dest.stem}-new{dest.suffix}')
            notes.append(f'{folder / rel} was not written by the hand-in builder (or was edited since): kept it, '
                         f'and wrote the new one as {dest.name}.')
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        ours[dest.relative_to(folder).as_posix()] = _sha(dest)
        installed[rel] = dest
    from ..layout import write_json_atomic

    write_json_atomic(manifest_path, ours)
    return installed


# --------------------------------------------------------------------------- pieces
def _check_predictions(run: RunData, test_images: Path | None) -> tuple[str, str]:
    if run.submission is None:
        return MISSING, 'no submission zip: run 05_submit (it writes submission-<recipe>.zip), then this again'
    if test_images is None or not Path(test_images).is_dir():
        return PRESENT, f'{run.submission.name} (not checked: the test images are not on this machine)'
    from ..submit.check import check_submission

    report = check_submission(run.submission, test_images, progress=False)
    if not report.ok:
        return MISSING, f'{run.submission.name} FAILED the submission check: {"; ".join(report.problems)[:300]}'
    return PRESENT, f'test_predictions.zip: {report.masks} masks, submission check PASSED'


def _code_files() -> list[tuple[Path, str]]:
    files = {}
    for pattern in CODE_GLOBS:
        for path in REPO_ROOT.glob(pattern):
            if path.is_file() and '__pycache__' not in path.parts:
                files[path] = 'code/' + path.relative_to(REPO_ROOT).as_posix()
    return sorted(files.items())


def _run_files(run: RunData) -> list[tuple[Path, str]]:
    """Each stage's resolved config, records and logged scalars (what the draft was built from)."""
    out = []
    for wd, record in zip(run.stages, run.records):
        names = [RECORD_FILE, WEIGHTS_FILE, PER_CLASS_FILE] + ([record['config_file']] if record.get('config_file')
                                                               else [p.name for p in wd.glob('*.py')])
        out += [(wd / n, f'code/run/{wd.name}/{n}') for n in names if (wd / n).is_file()]
        out += [(p, f'code/run/{wd.name}/{p.parent.parent.name}_scalars.json') for p in wd.glob('*/vis_data/scalars.json')]
    return out


def _commit() -> str | None:
    try:
        got = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return got.stdout.strip() or None if got.returncode == 0 else None


def _libraries(run: RunData) -> dict[str, str]:
    sessions = [s for r in run.records for s in r.get('sessions', [])]
    if sessions and sessions[-1].get('versions'):
        return dict(sessions[-1]['versions'])
    from ..record import versions

    return versions()


def readme_text(run: RunData, *, matric: str | None, leaderboard_name: str | None, checkpoint_arc: str | None,
                commit: str | None, has_screenshot: bool, has_pdf: bool, has_predictions: bool = True) -> str:
    """``Readme.txt``: who, what each file is, the libraries with the versions the run used, how to run."""
    libs = _libraries(run)
    lines = [f'Matriculation number: {matric or "MISSING (set MATRIC in 06_handin, or --matric)"}',
             f'Leaderboard user name: {leaderboard_name or "MISSING (set LEADERBOARD_NAME, or --leaderboard-name)"}',
             '', 'Files', '-----',
             f'report.pdf            the report{"" if has_pdf else " (MISSING: export report_draft.docx as PDF)"}',
             'report_draft.docx     the editable report draft, built from the training run',
             'report.tex, figures/  the same draft as LaTeX with its figures (PNG and PDF)',
             'tables/               the report\'s tables as CSV, Markdown and LaTeX',
             'test_predictions.zip  the best test predictions: one PNG mask per test image, as submitted'
             + ('' if has_predictions else ' (MISSING: run 05_submit)'),
             f'score.png             the leaderboard screenshot{"" if has_screenshot else " (MISSING)"}',
             f'{checkpoint_arc or "checkpoint/ (MISSING)":<21} the submitted model\'s checkpoint',
             'code/                 the code as it ran' + (f' (git commit {commit})' if commit else '')
             + '; code/run/<stage>/ holds each stage\'s resolved config, run record and logged curves',
             'Readme.txt            this file', '', 'Third-party libraries (versions of the training run)',
             '-----------------------------------------------------']
    lines += [f'{name:24s}{libs[name]}' for name in ('python', *LIBRARIES) if name in libs]
    loaded = [w for r in run.records for w in r.get('weights_loaded') or [] if w.get('setting') != 'load_from']
    lines += ['', 'Pre-trained weights loaded (as the run recorded them)', '-----------------------------------------']
    lines += [f'{w.get("setting")}: {w.get("source")} (SHA-256 {w.get("sha256") or "not recorded"})' for w in loaded] \
        or ['none recorded (random initialisation, or a run recorded before weights were)']
    configs = [wd.name for wd in run.stages]
    lines += ['', 'How to run', '----------',
              'In Google Colab: open code/notebooks/00_setup.ipynb and run 00_setup to 06_handin in order '
              '(code/README.md, "In Colab, step by step").', 'From a shell (install torch first):',
              '  pip install -r code/requirements.txt', '  cd code']
    prev = None
    for config in configs:
        resume = f' --resume work_dirs/{prev}' if prev else ''
        lines.append(f'  python -m utils.train {config} --data-root data/celebamask --work-dir work_dirs/{config}'
                     f'{resume} --amp')
        prev = config
    lines += ['  python -m utils.evaluate CHECKPOINT --data-root data/celebamask',
              '  python -m utils.submit CHECKPOINT --images data/celebamask/test/test_image --out submission.zip', '']
    return '\n'.join(lines)


def _screenshot(folder: Path) -> Path | None:
    return next((folder / n for n in SCREENSHOTS if (folder / n).is_file()), None)


def usable_screenshot(folder: Path, staging: Path, notes: list[str]) -> Path | None:
    """The leaderboard screenshot as a file the report can embed: a PNG or JPEG as it is; any other format Pillow
    reads (a WebP or BMP saved as ``score.png``) converted to PNG in ``staging``; one it cannot read is named in
    ``notes`` and left out."""
    path = _screenshot(folder)
    if path is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.format in ('PNG', 'JPEG'):
                return path
            fmt = im.format
            converted = staging / 'score-converted.png'
            im.convert('RGB').save(converted, format='PNG')
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        notes.append(f'{path} is not an image Pillow can read ({type(exc).__name__}): save the leaderboard '
                     'screenshot again as PNG or JPEG (a screenshot tool, or your browser\'s "Save image as").')
        return None
    notes.append(f'{path} is a {fmt} image under a {path.suffix} name: a PNG copy of it (score-converted.png) was '
                 'put in the report.')
    return converted


def checkpoint_vs_predictions(run: RunData) -> tuple[str, str, str]:
    """A check row: is the hand-in's checkpoint (by SHA-256) the one whose predictions are in the submission?"""
    item = 'checkpoint = the one that predicted the test masks'
    if run.checkpoint is None or run.submission is None:
        return item, MISSING, 'no checkpoint or no submission to compare'
    from ..submit.common import default_masks_dir, file_sha256, read_manifest

    manifest = read_manifest(default_masks_dir(run.submission)) or {}
    recorded = manifest.get('checkpoint_sha256')
    if not recorded:
        return item, MISSING, (f'cannot tell: {default_masks_dir(run.submission)} holds no manifest of the masks; '
                               'run 05_submit again with this checkpoint')
    sha = file_sha256(run.checkpoint)
    if sha != recorded:
        return item, MISSING, (f'{run.checkpoint.name} (SHA-256 {sha[:12]}...) is NOT the checkpoint that predicted '
                               f'{run.submission.name} ({manifest.get("checkpoint", "?")}, SHA-256 {recorded[:12]}...): '
                               'hand in that one (CHECKPOINT in 06_handin), or run 05_submit again with this one')
    return item, PRESENT, f'SHA-256 {sha[:12]}... matches the manifest of the test masks'


#: What a matriculation number and a leaderboard name may be (they name a file and go into the Readme, one line each).
MATRIC_MAX, NAME_MAX = 32, 64


def check_identity(matric: str | None, leaderboard_name: str | None) -> tuple[str | None, str | None]:
    """``(matric, leaderboard_name)`` stripped, or :class:`HandinError` naming the parameter, before anything is
    built: MATRIC names the zip (letters, digits, ``_.-``, at most 32); LEADERBOARD_NAME is one printable line of at
    most 64 characters (a newline would forge a line of the Readme)."""
    matric = (matric or '').strip() or None
    if matric is not None and (len(matric) > MATRIC_MAX or not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]*', matric)):
        raise HandinError(f'MATRIC = {matric[:40]!r}{"..." if len(matric) > 40 else ""} ({len(matric)} characters) '
                          'cannot name the zip: give the matriculation number as letters and digits (e.g. G1234567A), '
                          f'at most {MATRIC_MAX} characters, no spaces, slashes or line breaks (06_handin\'s '
                          'parameters cell, or --matric).')
    name = (leaderboard_name or '').strip() or None
    if name is not None and (len(name) > NAME_MAX or not name.isprintable()):
        raise HandinError(f'LEADERBOARD_NAME = {name[:40]!r}{"..." if len(name) > 40 else ""} is not one line of at '
                          f'most {NAME_MAX} printable characters (it holds a line break or control character, or is '
                          f'{len(name)} long): give the user name as the leaderboard shows it (06_handin\'s parameters '
                          'cell, or --leaderboard-name).')
    return matric, name


def _pdf_pages(path: Path) -> int | None:
    try:
        return len(re.findall(rb'/Type\s*/Page[^s]', path.read_bytes())) or None
    except OSError:
        return None


def _report_checks(run: RunData, figures: dict, pages: float, folder: Path) -> list[tuple[str, str, str]]:
    rec = run.record
    pdf = folder / 'report.pdf'
    n = _pdf_pages(pdf) if pdf.is_file() else None
    rows = [('report PDF (at most 5 A4 pages, Arial 12)',
             PRESENT if pdf.is_file() else MISSING,
             f'report.pdf, {n or "?"} pages' + (' - more than 5: cut it' if n and n > 5 else '') if pdf.is_file() else
             f'finish report_draft.docx (about {pages} pages), export it as PDF (Google Docs: File > Download > '
             'PDF) and save it as handin/report.pdf'),
            ('report draft (.docx and LaTeX)', FILLED, f'report_draft.docx (about {pages} pages), report.tex')]
    rows.append(('report: model and parameter count', FILLED if rec.get('parameters') else MISSING,
                 f"{rec['parameters']:,} trainable parameters by the course formula" if rec.get('parameters') else
                 'no run_record.json (trained before utils.record): add it by hand'))
    heads = (rec.get('recipe') or {}).get('heads') or {}
    rows.append(('report: loss functions', FILLED if heads else MISSING,
                 'equation, class weights with pixel counts, OHEM' if heads else 'describe the loss by hand'))
    curves = 'loss' in figures and 'val_metrics' in figures
    rows.append(('report: training curves (loss, mIoU on val)', FILLED if curves else MISSING,
                 'figures/loss, figures/val_metrics, figures/schedule' if curves else
                 'no logged curves in the work_dirs (vis_data/scalars.json)'))
    sessions = [s for r in run.records for s in r.get('sessions', [])]
    rows.append(('report: training machine', FILLED if sessions else MISSING,
                 'GPU, driver, CUDA, nvcc -V, gcc --version, nvidia-smi, wall time' if sessions else
                 'add nvcc -V, gcc --version and nvidia-smi by hand'))
    rows.append(('report: test score', PRESENT if pdf.is_file() else MISSING,
                 'check that report.pdf gives it' if pdf.is_file() else
                 'type the leaderboard\'s test mIoU where the draft says TO DO'))
    return rows


def build_handin(work_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, *, matric: str | None = None,
                 leaderboard_name: str | None = None, submission: str | os.PathLike | None = None,
                 checkpoint: str | os.PathLike | None = None, test_images: str | os.PathLike | None = None,
                 zip_path: str | os.PathLike | None = None) -> HandinResult:
    """Build ``out`` (``handin/``) and the zip from the run's stage work_dirs (stage 1 first); see the module doc."""
    from .docx_report import write_docx
    from .draft import report_blocks
    from .figures import write_figures
    from .latex import render
    from .tables import all_tables, write_tables

    matric, leaderboard_name = check_identity(matric, leaderboard_name)  # before anything is built
    run = collect(work_dirs, submission=submission, checkpoint=checkpoint)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    staging = Path(tempfile.mkdtemp(prefix='.staging-', dir=folder))
    try:
        screenshot = usable_screenshot(folder, staging, notes)
        figures = write_figures(run, staging / 'figures', test_images)
        tables = all_tables(run)
        write_tables(tables, staging / 'tables')
        if screenshot is not None:
            figures['score'] = screenshot
        blocks = report_blocks(run, tables, figures, matric=matric, leaderboard_name=leaderboard_name,
                               has_screenshot=screenshot is not None)
        pages = write_docx(blocks, staging / 'report_draft.docx', figures)
        (staging / 'report.tex').write_text(render(blocks, figures))
        pred_status, pred_detail = _check_predictions(run, Path(test_images) if test_images else None)
        if pred_status == PRESENT:
            shutil.copyfile(run.submission, staging / 'test_predictions.zip')
        ckpt_arc = f'checkpoint/{run.checkpoint.name}' if run.checkpoint else None
        commit = _commit()
        (staging / 'Readme.txt').write_text(readme_text(
            run, matric=matric, leaderboard_name=leaderboard_name, checkpoint_arc=ckpt_arc, commit=commit,
            has_screenshot=screenshot is not None, has_pdf=(folder / 'report.pdf').is_file(),
            has_predictions=pred_status == PRESENT))
        _install(staging, folder, notes)
    except OSError as exc:
        _name_folder(exc, folder)  # a full disk: the message names this folder and its free space, not the cwd's
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    zip_path = Path(zip_path) if zip_path else folder.parent / f'{matric or "MATRIC-MISSING"}.zip'
    extra = ([(run.checkpoint, ckpt_arc)] if run.checkpoint else []) + _code_files() + _run_files(run)
    checks = _report_checks(run, figures, pages, folder) + [
        ('best test predictions', pred_status, pred_detail),
        ('all the code', FILLED, f'code/ in the zip: {len(extra) - bool(run.checkpoint)} files'
         + (f', commit {commit[:10]}' if commit else '')),
        ('leaderboard screenshot', PRESENT if screenshot else MISSING,
         _screenshot(folder).name if screenshot else
         f'add the leaderboard screenshot as {folder / "score.png"}, then run again'),
        checkpoint_vs_predictions(run),
        ('submitted checkpoint', PRESENT if run.checkpoint else MISSING,
         f'{ckpt_arc} ({run.checkpoint.stat().st_size / 1e6:,.0f} MB)' if run.checkpoint else
         'no checkpoint in the work_dirs: train first (02_train_20k)'),
        ('Readme.txt', FILLED, 'files, libraries with versions, how to run'),
        ('matriculation number', PRESENT if matric else MISSING,
         matric or 'set MATRIC in the parameters cell of 06_handin (or --matric), then run again'),
        ('leaderboard user name', PRESENT if leaderboard_name else MISSING,
         leaderboard_name or 'set LEADERBOARD_NAME in 06_handin (or --leaderboard-name), then run again')]
    with _writing_in(zip_path.parent):
        write_zip(folder, zip_path, extra)
    checks.append(('zip named after the matriculation number', PRESENT if matric else MISSING,
                   f'{zip_path.name}, {zip_path.stat().st_size / 1e6:,.1f} MB'
                   + ('' if matric else ': named MATRIC-MISSING until MATRIC is set')))
    return HandinResult(folder, zip_path, pages, checks, notes)


def _name_folder(exc: OSError, folder: Path) -> None:
    if not exc.filename:  # zipfile and docx report a full disk without the file: the folder being written is named
        exc.filename = str(folder)


@contextlib.contextmanager
def _writing_in(folder: Path):
    try:
        yield
    except OSError as exc:
        _name_folder(exc, folder)
        raise


def write_zip(folder: Path, zip_path: Path, extra: list[tuple[Path, str]]) -> Path:
    """Zip ``folder`` (not its hidden files) plus ``extra`` (path, name in the zip) into ``zip_path``, atomically."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{zip_path.name}.', dir=zip_path.parent)
    os.close(fd)
    stored = ('.zip', '.pth', '.png', '.jpg', '.jpeg', '.pdf')
    try:
        with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as zf:
            files = [(p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob('*')) if p.is_file()
                     and not any(part.startswith('.') for part in p.relative_to(folder).parts)]
            for path, arc in files + list(extra):
                zf.write(path, arc, compress_type=zipfile.ZIP_STORED if path.suffix.lower() in stored else None)
        os.chmod(tmp, 0o644)
        os.replace(tmp, zip_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return zip_path


def summary_of(result: HandinResult) -> dict[str, Any]:
    """A JSON-safe summary (for the command line)."""
    return {'folder': str(result.folder), 'zip': str(result.zip_path), 'pages': result.pages,
            'missing': result.missing, 'notes': result.notes}
