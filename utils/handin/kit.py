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

from utils.base.labels import REPO_ROOT
from utils.base.edition import rules as rules_of
from utils.plugins.record import PER_CLASS_FILE, RECORD_FILE, WEIGHTS_FILE
from utils.handin.portable import TEXT_SUFFIXES, path_map, portable_bytes
from utils.handin.readme import readme_text
from utils.handin.run import collect
from utils.handin.rundata import HandinError, RunData

MANIFEST = '.handin-manifest.json'
SCREENSHOTS = ('score.png', 'score.jpg', 'score.jpeg')
PRESENT, MISSING, FILLED = 'present', 'missing', 'filled from the run'
#: the project's code as the zip carries it: every file the manifest lists, the manifest itself (so that the copy can
#: be checked with ``utils.core.env.code_problems``), the notebooks, scripts, assets and docs
CODE_GLOBS = ('bootstrap.py', 'utils/**/*.py', 'utils/manifest.txt', 'configs/**/*.py', 'notebooks/*.py', 'notebooks/*.ipynb',
              'scripts/**/*.py', 'assets/*', 'docs/*.md', 'requirements*.txt', 'constraints-ci.txt', 'README.md',
              'Makefile', 'pyproject.toml')


@dataclass
class HandinResult:
    """What :func:`build_handin` made: the folder, the zip, the draft's length and the check table."""

    folder: Path
    zip_path: Path
    pages: float
    checks: list[tuple[str, str, str]]  # (item, status, what / what to do)
    notes: list[str] = field(default_factory=list)
    edition: str = '2022'
    scalars: Any = None  # the run's logged curves (utils.core.metrics.Scalars), for the readings of 06
    report: Any = None  # utils.handin.pdfcheck.ReportState of handin/report.pdf, or None when there is none

    def frame(self):
        """The hand-in check as a DataFrame (item, status, detail)."""
        import pandas as pd

        return pd.DataFrame(self.checks, columns=['item', 'status', 'detail']).set_index('item')

    def styled(self):
        """The check table coloured by status, its caption giving the zip and its size."""
        colours = {PRESENT: '#c6efce', FILLED: '#ddebf7', MISSING: '#ffc7ce'}
        size = self.zip_path.stat().st_size / 1e6 if self.zip_path.is_file() else 0
        return (self.frame().style.map(lambda v: f'background-color: {colours.get(v, "")}', subset=['status'])
                .set_caption(f'Hand-in check ({self.edition} rules): {self.zip_path.name}, {size:,.1f} MB; the '
                             f'report draft is about {self.pages} pages'))

    @property
    def missing(self) -> list[str]:
        return [item for item, status, _ in self.checks if status == MISSING]


# --------------------------------------------------------------------------- writing only what is ours
def _sha(path: Path) -> str:
    from utils.base.trust import sha256_file

    return sha256_file(path)


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
    from utils.base.layout import write_json_atomic

    write_json_atomic(manifest_path, ours)
    return installed


# --------------------------------------------------------------------------- pieces
def _test_stems(test_images: Path | None) -> set[str] | None:
    if test_images is None or not Path(test_images).is_dir():
        return None
    return {p.stem for p in Path(test_images).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg', '.png')}


def _check_predictions(run: RunData, test_images: Path | None, rules) -> tuple[str, str]:
    if run.submission is None:
        return MISSING, 'no submission zip: run 05_submit (it writes the leaderboard zip), then this again'
    if rules.edition != '2022':
        return _check_masks(run.submission, _test_stems(test_images))
    if _test_stems(test_images) is None:
        return PRESENT, f'{run.submission.name} (not checked: the test images are not on this machine)'
    from utils.submit.check import check_submission

    report = check_submission(run.submission, test_images, progress=False)
    if not report.ok:
        return MISSING, f'{run.submission.name} FAILED the submission check: {"; ".join(report.problems)[:300]}'
    return PRESENT, f'test_predictions.zip: {report.masks} masks, submission check PASSED'


def _mask_entries(submission: Path) -> dict[str, str]:
    """stem -> name in the zip of each PNG mask (``masks/<stem>.png`` of the 2025 zip, or at its root)."""
    with zipfile.ZipFile(submission) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith('.png') and not n.startswith(('solution/', '__'))]
    return {Path(n).stem: n for n in names if n.count('/') <= 1}


def _check_masks(submission: Path, stems: set[str] | None) -> tuple[str, str]:
    masks = _mask_entries(submission)
    if not masks:
        return MISSING, f'{submission.name} holds no PNG mask: run 05_submit again'
    if stems is None:
        return PRESENT, f'masks/: {len(masks)} masks from {submission.name} (not compared: no test images here)'
    missing, extra = sorted(stems - set(masks)), sorted(set(masks) - stems)
    if missing or extra:
        return MISSING, (f'masks/ of {submission.name} do not match the test images: missing {missing[:3]}, '
                         f'extra {extra[:3]}; predict the test images again (05_submit)')
    return PRESENT, f'masks/: {len(masks)} masks, one per test image, named as the images'


def _write_predictions(run: RunData, staging: Path, rules) -> None:
    if rules.edition == '2022':
        shutil.copyfile(run.submission, staging / 'test_predictions.zip')
        return
    (staging / 'masks').mkdir()
    with zipfile.ZipFile(run.submission) as zf:
        for stem, name in _mask_entries(run.submission).items():
            (staging / 'masks' / f'{stem}.png').write_bytes(zf.read(name))


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
        out += [(p, f'code/run/{wd.name}/{p.name}') for p in (wd / 'split.json', wd / 'class_bias.json') if p.is_file()]
    return out


def _commit() -> str | None:
    try:
        got = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return got.stdout.strip() or None if got.returncode == 0 else None


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
    from utils.core.checkpoints import checkpoint_identity
    from utils.submit.common import default_masks_dir, read_manifest

    manifest = read_manifest(default_masks_dir(run.submission)) or {}
    recorded = manifest.get('checkpoint_sha256')
    if not recorded:
        return item, MISSING, (f'cannot tell: {default_masks_dir(run.submission)} holds no manifest of the masks; '
                               'run 05_submit again with this checkpoint')
    sha = checkpoint_identity(run.checkpoint)['checkpoint_sha256']  # submit's and evaluate's identity of it
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


def zip_name(matric: str | None, smoke: bool) -> str:
    """``<matric>.zip``; a smoke run's says so and that it is not for handing in."""
    stem = matric or 'MATRIC-MISSING'
    return f'{stem}-SMOKE-not-for-hand-in.zip' if smoke else f'{stem}.zip'


def _pdf_row(state, pages: float, rules) -> tuple[str, str, str]:
    item = f'report PDF (at most {rules.max_pages} A4 pages, Arial {rules.report_font_pt})'
    if state is None:
        return (item, MISSING, f'finish report_draft.docx (about {pages} pages), export it as PDF (Google Docs: '
                               'File > Download > PDF) and save it as handin/report.pdf')
    if not state.finished:
        return item, MISSING, f'report.pdf is NOT FINISHED: {"; ".join(state.left)}; finish it and export it again'
    return item, PRESENT, f'report.pdf, {state.pages or "?"} pages, no TO DO left, test score {state.test_score}'


def _report_checks(run: RunData, figures: dict, pages: float, state, rules) -> list[tuple[str, str, str]]:
    rec = run.record
    rows = [_pdf_row(state, pages, rules),
            ('report draft (.docx and LaTeX)', FILLED, f'report_draft.docx (about {pages} pages), report.tex')]
    if rules.edition == '2022':
        count = rec.get('parameters')
    else:  # every parameter of the model that predicts, as the 2025-26 formula counts
        from utils.handin.draft2025 import parameter_count

        count = parameter_count(run)
    words = f'{count:,} parameters by the course formula' if count else ''
    if count and rules.param_cap:
        words += f' ({"fewer than" if count < rules.param_cap else "NOT fewer than"} the cap {rules.param_cap:,})'
    rows.append(('report: model and parameter count', FILLED if count else MISSING,
                 words or 'no run_record.json (trained before utils.plugins.record): add it by hand'))
    heads = (rec.get('recipe') or {}).get('heads') or {}
    rows.append(('report: loss functions', FILLED if heads else MISSING,
                 'each head\'s loss, class weights and OHEM as the run had them' if heads else
                 'describe the loss by hand'))
    curves = 'loss' in figures and 'val_metrics' in figures
    rows.append(('report: training curves (loss, scores on val)', FILLED if curves else MISSING,
                 'figures/loss, figures/val_metrics, figures/schedule' if curves else
                 'no logged curves in the work_dirs (vis_data/scalars.json)'))
    sessions = [s for r in run.records for s in r.get('sessions', [])]
    rows.append(('report: training machine', FILLED if sessions else MISSING,
                 'GPU, driver, CUDA, nvcc -V, gcc --version, nvidia-smi, wall time' if sessions else
                 'add nvcc -V, gcc --version and nvidia-smi by hand'))
    score = state.test_score if state is not None else None
    rows.append(('report: test score', PRESENT if score else MISSING,
                 f'report.pdf states {score}' if score else
                 f'type the leaderboard\'s test {rules.metric} where the draft says TO DO (__.__), export report.pdf'))
    return rows


def _write_draft(run: RunData, staging: Path, folder: Path, rules, **kw) -> tuple[dict, float]:
    """Figures, tables, the .docx and LaTeX drafts into ``staging``; returns the figures and the page estimate."""
    from utils.handin.docx_report import write_docx
    from utils.handin.blocks import report_blocks
    from utils.handin.figures import write_figures
    from utils.handin.latex import render
    from utils.handin.tables import all_tables, write_tables

    figures = write_figures(run, staging / 'figures', kw.pop('test_images'), edition=rules.edition)
    tables = all_tables(run, rules.edition)
    write_tables(tables, staging / 'tables')
    screenshot = usable_screenshot(folder, staging, kw.pop('notes'))
    if screenshot is not None:
        figures['score'] = screenshot
    blocks = report_blocks(run, tables, figures, has_screenshot=screenshot is not None, edition=rules.edition, **kw)
    pages = write_docx(blocks, staging / 'report_draft.docx', figures, body_pt=rules.report_font_pt)
    (staging / 'report.tex').write_text(render(blocks, figures, body_pt=rules.report_font_pt))
    return figures, pages


def build_handin(work_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, *, matric: str | None = None,
                 leaderboard_name: str | None = None, submission: str | os.PathLike | None = None,
                 checkpoint: str | os.PathLike | None = None, test_images: str | os.PathLike | None = None,
                 zip_path: str | os.PathLike | None = None, edition: str | None = None) -> HandinResult:
    """Build ``out`` (``handin/``) and the zip from the run's stage work_dirs (stage 1 first) under the rules of
    ``edition`` (None: the edition the run was trained for); see the module doc."""
    from utils.handin.pdfcheck import report_state

    matric, leaderboard_name = check_identity(matric, leaderboard_name)  # before anything is built
    run = collect(work_dirs, submission=submission, checkpoint=checkpoint)
    rules = rules_of(edition or run.edition)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    images = Path(test_images) if test_images else None
    staging = Path(tempfile.mkdtemp(prefix='.staging-', dir=folder))
    try:
        figures, pages = _write_draft(run, staging, folder, rules, test_images=images, matric=matric,
                                      leaderboard_name=leaderboard_name, notes=notes)
        pred_status, pred_detail = _check_predictions(run, images, rules)
        if pred_status == PRESENT:
            _write_predictions(run, staging, rules)
        ckpt_arc = f'checkpoint/{run.checkpoint.name}' if run.checkpoint else None
        commit = _commit()
        (staging / 'Readme.txt').write_text(readme_text(
            run, matric=matric, leaderboard_name=leaderboard_name, checkpoint_arc=ckpt_arc, commit=commit,
            has_screenshot=_screenshot(folder) is not None, has_pdf=(folder / 'report.pdf').is_file(),
            has_predictions=pred_status == PRESENT, rules=rules))
        _install(staging, folder, notes)
    except OSError as exc:
        _name_folder(exc, folder)  # a full disk: the message names this folder and its free space, not the cwd's
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    state = report_state(folder / 'report.pdf', rules.max_pages) if (folder / 'report.pdf').is_file() else None
    zip_path = Path(zip_path) if zip_path else folder.parent / zip_name(matric, run.smoke)
    extra = ([(run.checkpoint, ckpt_arc)] if run.checkpoint else []) + _code_files() + _run_files(run)
    checks = _report_checks(run, figures, pages, state, rules) + _item_checks(
        run, folder, extra, commit, ckpt_arc, matric, leaderboard_name, (pred_status, pred_detail), state,
        readable='score' in figures)
    with _writing_in(zip_path.parent):
        write_zip(folder, zip_path, extra, path_map(run, [images.parent.parent] if images else []))
    checks.append(('zip named after the matriculation number', PRESENT if matric and not run.smoke else MISSING,
                   f'{zip_path.name}, {zip_path.stat().st_size / 1e6:,.1f} MB'
                   + ('' if matric else ': named MATRIC-MISSING until MATRIC is set')
                   + (': a SMOKE run, not for handing in' if run.smoke else '')))
    return HandinResult(folder, zip_path, pages, checks, notes, edition=rules.edition, scalars=run.scalars,
                        report=state)


def _item_checks(run, folder, extra, commit, ckpt_arc, matric, leaderboard_name, predictions, state, readable=True):
    screenshot = _screenshot(folder) if readable else None  # one Pillow cannot read is named in the notes
    said = (f'; the report states the test score {state.test_score}' if state is not None and state.test_score
            else '; the report states no test score yet')
    return [
        ('best test predictions', *predictions),
        ('all the code', FILLED, f'code/ in the zip: {len(extra) - bool(run.checkpoint)} files with '
         f'utils/manifest.txt' + (f', commit {commit[:10]}' if commit else '')),
        ('leaderboard screenshot', PRESENT if screenshot else MISSING,
         (screenshot.name if screenshot else f'add the leaderboard screenshot as {folder / "score.png"}, then run '
          'again') + said),
        checkpoint_vs_predictions(run),
        ('submitted checkpoint', PRESENT if run.checkpoint else MISSING,
         f'{ckpt_arc} ({run.checkpoint.stat().st_size / 1e6:,.0f} MB)' if run.checkpoint else
         'no checkpoint in the work_dirs: train first (02_train_20k)'),
        ('Readme.txt', FILLED, 'files, data step, how to run, libraries with versions and references'),
        ('matriculation number', PRESENT if matric else MISSING,
         matric or 'set MATRIC in the parameters cell of 06_handin (or --matric), then run again'),
        ('leaderboard user name', PRESENT if leaderboard_name else MISSING,
         leaderboard_name or 'set LEADERBOARD_NAME in 06_handin (or --leaderboard-name), then run again')]


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


def write_zip(folder: Path, zip_path: Path, extra: list[tuple[Path, str]],
              pairs: list[tuple[str, str]] | None = None) -> Path:
    """Zip ``folder`` (not its hidden files) plus ``extra`` (path, name in the zip) into ``zip_path``, atomically;
    the text files of ``extra`` with the absolute paths of ``pairs`` made relative (:mod:`.portable`)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{zip_path.name}.', dir=zip_path.parent)
    os.close(fd)
    stored = ('.zip', '.pth', '.png', '.jpg', '.jpeg', '.pdf')
    try:
        with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as zf:
            files = [(p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob('*')) if p.is_file()
                     and not any(part.startswith('.') for part in p.relative_to(folder).parts)]
            for path, arc in files + list(extra):
                method = zipfile.ZIP_STORED if path.suffix.lower() in stored else zipfile.ZIP_DEFLATED
                if path.suffix.lower() in TEXT_SUFFIXES and pairs:
                    zf.writestr(zipfile.ZipInfo.from_file(path, arc), portable_bytes(path, pairs), method)
                else:
                    zf.write(path, arc, compress_type=method)
        os.chmod(tmp, 0o644)
        os.replace(tmp, zip_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return zip_path


def summary_of(result: HandinResult) -> dict[str, Any]:
    """A JSON-safe summary (for the command line)."""
    return {'folder': str(result.folder), 'zip': str(result.zip_path), 'pages': result.pages,
            'missing': result.missing, 'notes': result.notes}
