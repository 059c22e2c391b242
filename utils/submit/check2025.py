"""Check a 2025-26 leaderboard zip the way the course's program reads it: ``masks/<stem>.png`` at the root, one per
input image and nothing else beside them; in the test phase ``solution/{run.py, ckpt.pth, requirements.txt}``, where
``run.py --help`` must answer and ``ckpt.pth`` must load as tensors only."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..labels import NUM_CLASSES
from ..report import FAIL, WARN, Check, check_files
from .check import SubmissionReport, _check_names, _check_zip_file, _content_checks, _MaskScan, is_junk, open_masks
from .common import list_images, mask_name

PHASES = ('dev', 'test')
SOLUTION = ('run.py', 'ckpt.pth', 'requirements.txt')


def _layout(files: list[str], phase: str) -> tuple[list[Check], dict[str, str]]:
    """Only ``masks/`` (and, test phase, ``solution/``) at the root, masks directly inside it; ``{name: entry}``."""
    allowed = ('masks', 'solution') if phase == 'test' else ('masks',)
    junk = [e for e in files if is_junk([p for p in e.split('/') if p])]
    stray, present = [], {}
    for e in files:
        parts = [p for p in e.split('/') if p]
        if e in junk:
            continue
        if parts[0] not in allowed or len(parts) != 2:
            stray.append(e)
        elif parts[0] == 'masks':
            present.setdefault(parts[1], e)
        elif parts[1] not in SOLUTION:
            stray.append(e)
    where = 'masks/ and solution/' if phase == 'test' else 'masks/ (the dev phase takes no code)'
    return [check_files('no junk files', junk, 'no __MACOSX, .DS_Store or hidden files', '{n} junk files',
                        'Build the zip with python -m utils.submit ... --edition 2025, not the Finder/Explorer.'),
            check_files('root layout', stray, f'only {where} at the root',
                        '{n} entries are not masks/<stem>.png' + (' or solution/{run.py,ckpt.pth,requirements.txt}'
                                                                   if phase == 'test' else ''),
                        f'Keep only {where} at the zip\'s root, each file directly inside its folder.')], present


def _run_help(run_py: Path) -> str | None:
    """None when ``python run.py --help`` exits 0 with a usage text, else why not."""
    try:
        done = subprocess.run([sys.executable, '-I', run_py.name, '--help'], cwd=run_py.parent, capture_output=True,
                              text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return 'solution/run.py --help did not answer within 300 s'
    if done.returncode != 0 or 'usage' not in done.stdout.lower():
        tail = ' | '.join((done.stdout + done.stderr).strip().splitlines()[-3:])
        return f'solution/run.py --help exited {done.returncode}: {tail[:300]}'
    return None


def _ckpt_problem(path: Path) -> str | None:
    import torch

    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        return f'solution/ckpt.pth does not load with weights_only=True ({type(exc).__name__}: {str(exc)[:120]})'
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return 'solution/ckpt.pth is not {"state_dict": {name: tensor}}'
    return None


def _requirements_problem(text: str) -> str | None:
    lines = [ln.split('#', 1)[0].strip() for ln in text.splitlines()]
    loose = [ln for ln in lines if ln and '==' not in ln]
    if not any(lines):
        return 'solution/requirements.txt is empty'
    return f'solution/requirements.txt has unpinned lines ({", ".join(loose[:3])})' if loose else None


def _solution_checks(zf: zipfile.ZipFile, names: set[str]) -> list[Check]:
    missing = [f'solution/{n}' for n in SOLUTION if f'solution/{n}' not in names]
    checks = [check_files('solution files', missing, 'solution/ holds run.py, ckpt.pth and requirements.txt',
                          '{n} solution files missing', 'Build the test-phase zip with --solution.')]
    if missing:
        return checks
    with tempfile.TemporaryDirectory(prefix='solution-check-') as tmp:
        for n in SOLUTION:
            (Path(tmp) / n).write_bytes(zf.read(f'solution/{n}'))
        problems = [p for p in (_run_help(Path(tmp) / 'run.py'), _ckpt_problem(Path(tmp) / 'ckpt.pth'),
                                _requirements_problem((Path(tmp) / 'requirements.txt').read_text(errors='replace')))
                    if p]
    checks.append(check_files('solution runs', problems, 'run.py --help answers; ckpt.pth loads as tensors only; '
                              'requirements pinned', '{n} problems with the solution',
                              'Export the solution again (python -m utils.submit CHECKPOINT ... --edition 2025 '
                              '--solution).'))
    return checks


def check_leaderboard_zip(source: Any, images_dir: str | os.PathLike, *, phase: str = 'test', strict: bool = False,
                          progress: bool = True) -> SubmissionReport:
    """Check a 2025-26 zip against the input images: root layout, one mask per image with its stem, single channel
    (mode P or L), the image's size (512 x 512 for the course's images), class ids 0..18; test phase: the solution."""
    if phase not in PHASES:
        raise ValueError(f'phase {phase!r}: one of {PHASES}')
    t0 = time.perf_counter()
    images = list_images(images_dir)
    expected = {mask_name(p): p for p in images}
    src = Path(getattr(source, 'zip_path', source))
    results: list[Check] = []
    counts, n_present = np.zeros(NUM_CLASSES, np.int64), 0
    try:
        masks = open_masks(src)
    except zipfile.BadZipFile as exc:
        results.append(Check('zip file', FAIL, f'not a zip archive ({exc})', [src.name], 'Build the zip again.'))
        masks = None
    if masks is not None and masks.zip is None:
        masks.close()
        results.append(Check('zip file', FAIL, 'a folder, not a zip', [src.name], 'Check the zip itself.'))
        masks = None
    if masks is not None:
        try:
            files = [e for e in masks.entries if not e.endswith('/')]
            results.append(_check_zip_file(masks, src, files))
            layout, present = _layout(files, phase)
            results += layout + _check_names(expected, present)
            scan = _MaskScan.run(masks, expected, present, progress)
            results += scan.checks()
            results += _content_checks(scan.counts, scan.single, scan.checked, None, FAIL if strict else WARN)
            if phase == 'test':
                results += _solution_checks(masks.zip, set(files))
            counts, n_present = scan.counts, len(present)
        finally:
            masks.close()
    return SubmissionReport(src, len(images), n_present, results, counts, time.perf_counter() - t0)

