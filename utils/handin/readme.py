"""``Readme.txt`` of the hand-in: who, what each file is, the data step, how to run (with the checkpoint's real file
name), and every third-party library the code uses, with the version the run used and a reference (authors,
title, address)."""
from __future__ import annotations

from utils.handin.rundata import RunData

#: package -> (authors, title, address): what the code imports, cited as each project asks to be cited
REFERENCES = {
    'mmsegmentation': ('MMSegmentation Contributors', 'MMSegmentation: OpenMMLab Semantic Segmentation Toolbox and '
                       'Benchmark (2020)', 'https://github.com/open-mmlab/mmsegmentation'),
    'mmengine': ('MMEngine Contributors', 'MMEngine: OpenMMLab Foundational Library for Training Deep Learning Models '
                 '(2022)', 'https://github.com/open-mmlab/mmengine'),
    'mmcv': ('MMCV Contributors', 'MMCV: OpenMMLab Computer Vision Foundation (2018)', 'https://github.com/open-mmlab/mmcv'),
    'torch': ('A. Paszke, S. Gross, F. Massa, A. Lerer, J. Bradbury, G. Chanan, et al.', 'PyTorch: An Imperative '
              'Style, High-Performance Deep Learning Library. NeurIPS 2019', 'https://pytorch.org'),
    'torchvision': ('TorchVision maintainers and contributors', 'TorchVision: PyTorch\'s Computer Vision library '
                    '(2016)', 'https://github.com/pytorch/vision'),
    'numpy': ('C. R. Harris, K. J. Millman, S. J. van der Walt, R. Gommers, et al.', 'Array programming with NumPy. '
              'Nature 585, 357-362 (2020)', 'https://numpy.org'),
    'opencv-python': ('G. Bradski', 'The OpenCV Library. Dr. Dobb\'s Journal of Software Tools (2000)',
                      'https://opencv.org'),
    'Pillow': ('J. A. Clark and contributors', 'Pillow, the friendly PIL fork', 'https://python-pillow.org'),
    'matplotlib': ('J. D. Hunter', 'Matplotlib: A 2D Graphics Environment. Computing in Science & Engineering 9(3), '
                   '90-95 (2007)', 'https://matplotlib.org'),
    'pandas': ('W. McKinney', 'Data Structures for Statistical Computing in Python. SciPy 2010',
               'https://pandas.pydata.org'),
    'scipy': ('P. Virtanen, R. Gommers, T. E. Oliphant, et al.', 'SciPy 1.0: Fundamental Algorithms for Scientific '
              'Computing in Python. Nature Methods 17, 261-272 (2020)', 'https://scipy.org'),
    'python-docx': ('S. Canny and contributors', 'python-docx: create and update Microsoft Word .docx files',
                    'https://github.com/python-openxml/python-docx'),
}
#: the installed distribution a library's version is read from (mmcv-lite stands for mmcv without compiled ops)
DISTRIBUTIONS = {'mmcv': ('mmcv', 'mmcv-lite'), 'opencv-python': ('opencv-python', 'opencv-python-headless')}


def _libraries(run: RunData) -> dict[str, str]:
    sessions = [s for r in run.records for s in r.get('sessions', [])]
    if sessions and sessions[-1].get('versions'):
        return dict(sessions[-1]['versions'])
    from utils.plugins.record import versions

    return versions()


def library_lines(run: RunData) -> list[str]:
    """One entry per third-party library: name and version of the training run, then its reference."""
    libs = _libraries(run)
    lines = [f'python                  {libs["python"]}'] if 'python' in libs else []
    for name, (authors, title, address) in REFERENCES.items():
        dist = next((d for d in DISTRIBUTIONS.get(name, (name,)) if d in libs), None)
        version = (libs[dist] + ('' if dist == name else f' ({dist})') if dist else _installed(name))
        if version is None:
            continue  # neither the run nor this machine has it: the code did not use it
        lines += [f'{name:24s}{version}', f'    {authors.rstrip(".")}. {title}. {address}']
    return lines


def _installed(name: str) -> str | None:
    """The version installed here (for what only the hand-in uses, e.g. python-docx), or None."""
    import importlib.metadata as md

    for dist in DISTRIBUTIONS.get(name, (name,)):
        try:
            return f'{md.version(dist)} (the machine that built this hand-in)'
        except md.PackageNotFoundError:
            continue
    return None


def readme_text(run: RunData, *, matric: str | None, leaderboard_name: str | None, checkpoint_arc: str | None,
                commit: str | None, has_screenshot: bool, has_pdf: bool, has_predictions: bool = True,
                rules=None) -> str:
    """``Readme.txt``: who, what each file is, the data step, how to run, the libraries with their references."""
    from utils.base.edition import rules as rules_of

    rules = rules or rules_of(run.edition)
    lines = (['SMOKE RUN: built from a smoke run (synthetic faces, a few iterations on a CPU). NOT FOR HANDING IN: '
              'train the real run and build the hand-in again.', ''] if run.smoke else [])
    lines += [f'Matriculation number: {matric or "MISSING (set MATRIC in 06_handin, or --matric)"}',
              f'Leaderboard user name: {leaderboard_name or "MISSING (set LEADERBOARD_NAME, or --leaderboard-name)"}',
              f'Course rules: the {rules.edition} edition ({rules.weights_words}).', '', 'Files', '-----',
              f'report.pdf            the report{"" if has_pdf else " (MISSING: export report_draft.docx as PDF)"}',
              'report_draft.docx     the editable report draft, built from the training run',
              'report.tex, figures/  the same draft as LaTeX with its figures (PNG and PDF)',
              'tables/               the report\'s tables as CSV, Markdown and LaTeX']
    missing = '' if has_predictions else ' (MISSING: run 05_submit)'
    lines.append(f'masks/                the test predictions: one PNG mask per test image, named as its image{missing}'
                 if rules.edition != '2022' else
                 f'test_predictions.zip  the best test predictions: one PNG mask per test image, as submitted{missing}')
    lines += [f'score.png             the leaderboard screenshot{"" if has_screenshot else " (MISSING)"}',
              f'{checkpoint_arc or "checkpoint/ (MISSING)":<21} the submitted model\'s checkpoint',
              'code/                 the code as it ran' + (f' (git commit {commit})' if commit else '')
              + '; code/run/<stage>/ holds each stage\'s resolved config, run record and logged curves, their paths '
              'relative to the run (work_dirs/<stage>, data/celebamask)',
              'Readme.txt            this file', '']
    loaded = [w for r in run.records for w in r.get('weights_loaded') or []
              if isinstance(w, dict) and w.get('setting') != 'load_from']
    lines += ['Pre-trained weights loaded (as the run recorded them)', '-----------------------------------------']
    lines += [f'{w.get("setting")}: {w.get("source")} (SHA-256 {w.get("sha256") or "not recorded"})' for w in loaded] \
        or ['none recorded (random initialisation, or a run recorded before weights were)']
    lines += ['']
    lines += _how_to_run(run, checkpoint_arc, rules)
    lines += ['', 'Third-party libraries (versions of the training run) and their references',
              '--------------------------------------------------------------------------', *library_lines(run), '']
    return '\n'.join(lines)


def _how_to_run(run: RunData, checkpoint_arc: str | None, rules) -> list[str]:
    ckpt = f'../{checkpoint_arc}' if checkpoint_arc else 'CHECKPOINT'
    data = 'data/celebamask'
    lines = ['Data', '----',
             f'The course\'s dataset ({", ".join(f"{n:,}" for n in rules.counts)} train / val / test images, '
             f'{rules.stems}), unpacked into the layout the code reads:',
             '  cd code', '  pip install -r requirements.txt       (install torch first)',
             f'  python -m utils.data fetch COURSE_ZIP_OR_DRIVE_LINK --out {data}',
             f'  python -m utils.data check {data}', '', 'How to run', '----------',
             'In Google Colab: open code/notebooks/00_setup.ipynb and run 00_setup to 06_handin in order '
             '(code/README.md, "In Colab, step by step"). From a shell, in code/:']
    prev = None
    for wd in run.stages:
        resume = f' --resume work_dirs/{prev}' if prev else ''
        lines.append(f'  python -m utils.train {wd.name} --data-root {data} --work-dir work_dirs/{wd.name}{resume} --amp')
        prev = wd.name
    lines += [f'  python -m utils.evaluate {ckpt} --data-root {data}',
              f'  python -m utils.submit {ckpt} --images {data}/test/test_image --out submission.zip']
    if checkpoint_arc:
        lines.append(f'The submitted checkpoint is {checkpoint_arc} (beside code/ in this zip).')
    return lines
