"""Where are we running (Colab or not, GPU or not), where work goes, and a versions table for the record.

    python -m utils.core.env          # print the environment table
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from utils.base import copycheck
from utils.base.labels import REPO_ROOT
from utils.base.places import CONTENT, DRIVE_MOUNT, DRIVE_PROJECT, DRIVE_ROOT, in_colab, trust_key_path  # noqa: F401

#: Warnings that working runs print and that mean nothing for this project (matched by message).
KNOWN_HARMLESS = (
    'You should install ``mmcv`` rather than ``mmcv-lite``',  # mmcv-lite has no compiled ops; none is needed here
    'would be deprecated soon',  # mmseg's build_loss / build_pixel_sampler
    'will be deprecated in future',  # mmengine's FileClient
    'is the alias of "LocalBackend"',
    'The prefix is not set in metric class',
    'torch.cuda.amp.GradScaler(args...)` is deprecated',
    'torch.cuda.amp.autocast(args...)` is deprecated',
    'Advance dataloader',  # mmengine skipping the batches a resumed run has already seen
    'Seems like `optimizer.step()` has been overridden',
    'The draw is False',  # mmseg's visualization hook, which this project does not use
    'Loads checkpoint by ',  # mmengine's note on every load (03 says itself where it resumes from)
)


def quiet_known_warnings() -> None:
    """Hide the :data:`KNOWN_HARMLESS` warnings, from Python's warnings and from MMEngine's logger (idempotent)."""
    import warnings

    for text in KNOWN_HARMLESS:
        warnings.filterwarnings('ignore', message=f'.*{re.escape(text)}')
    for logger in _mmengine_loggers():
        if not any(isinstance(f, KnownHarmless) for f in logger.filters):
            logger.addFilter(KnownHarmless())


def _mmengine_loggers() -> list:
    """MMEngine's loggers that exist now (its MMLogger instances are not in logging's registry)."""
    import logging

    out = [logging.getLogger('mmengine')]
    try:
        from mmengine.logging import MMLogger

        out += list(MMLogger._instance_dict.values())
    except ImportError:
        pass
    return out


class KnownHarmless:
    """A logging filter that drops the :data:`KNOWN_HARMLESS` messages."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not any(text in message for text in KNOWN_HARMLESS)


def work_root(project: str | os.PathLike | None = None) -> Path:
    """Where a run's work_dirs go: ``<project>/work_dirs`` (the run's folder on Drive), else ``<repo>/work_dirs``.
    The one home of this rule (the notebooks' plan, the commands and utils.notebook.session all ask here)."""
    return Path(project or REPO_ROOT) / 'work_dirs'


def default_work_root() -> Path:
    """Root for work_dirs of a command: on Google Drive in Colab (survives disconnects), else ``./work_dirs``."""
    return work_root(DRIVE_PROJECT if in_colab() and DRIVE_ROOT.is_dir() else None)


def pretrained_cache() -> Path:
    """Where ImageNet backbone weights are kept once downloaded: on Drive in Colab (every runtime reuses them)."""
    if in_colab() and DRIVE_ROOT.is_dir():
        return DRIVE_PROJECT / 'pretrained'
    return Path.home() / '.cache' / 'celebamask-parsing' / 'pretrained'


#: The project's code files with their SHA-256 (``<sha256>  <path>`` a line), which every runtime checks it has.
MANIFEST = REPO_ROOT / 'utils' / 'manifest.txt'
#: The folders whose files the manifest lists, and the single files it lists besides.
CODE_FOLDERS, CODE_FILES = copycheck.CODE_FOLDERS, copycheck.CODE_FILES


def code_files(root: str | os.PathLike = REPO_ROOT) -> list[str]:
    """The project's code under ``root`` as the manifest lists it: ``.py`` files of utils/ and configs/, and
    requirements.txt. Walks without following links (a link loop cannot hang it)."""
    return copycheck.code_files(root)


def code_problems(root: str | os.PathLike = REPO_ROOT) -> list[str]:
    """What is wrong with a copy of the project at ``root``: links inside its code folders (a copy has none;
    a link could point anywhere or loop); the manifest's files missing; top-level entries that shadow an installed
    package or run at Python's start-up. Empty when it is whole (:func:`code_changes` says how it was edited)."""
    root = Path(root)
    problems = []
    links = [(Path(here) / name).relative_to(root).as_posix()
             for folder in CODE_FOLDERS for here, dirs, files in os.walk(root / folder)
             for name in dirs + files if (Path(here) / name).is_symlink()]
    if links:
        problems.append(f'{len(links)} symbolic link(s) inside the code: {", ".join(sorted(links)[:5])}'
                        + (', ...' if len(links) > 5 else ''))
    problems += copycheck.manifest_problems(root)
    shadows = copycheck.shadowing(root)
    if shadows:
        problems.append(f'{len(shadows)} entries at the top of the copy would be imported or run in place of '
                        f'Python\'s own: {", ".join(shadows[:6])}; remove them (a `pip install --target` into the '
                        'project folder leaves such folders)')
    return problems


def code_changes(root: str | os.PathLike = REPO_ROOT) -> list[str]:
    """How the code at ``root`` differs from its manifest by content: modules modified, code files added."""
    return copycheck.manifest_changes(root)


def write_manifest() -> Path:
    """Write :data:`MANIFEST` from this checkout (``python -m utils.core.env --write-manifest``; a test checks it)."""
    MANIFEST.write_text(copycheck.manifest_text(REPO_ROOT))
    return MANIFEST


def default_work_dir(config: str | os.PathLike) -> Path:
    """``<work root>/<config name>``, MMSeg's convention."""
    return default_work_root() / Path(config).stem


def device() -> str:
    """'cuda' when a GPU is usable, else 'cpu'."""
    import torch

    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _first_line(cmd: list[str], pick: int = 0) -> str:
    if not shutil.which(cmd[0]):
        return 'not found'
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return 'not found'
    return out[pick].strip() if len(out) > abs(pick) else 'not found'


def environment_table(work_root: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(item, value) rows: Python, packages, GPU, CUDA, nvcc, gcc, Colab, and where work goes."""
    import importlib.metadata as md

    import torch

    rows = [('python', platform.python_version()), ('platform', platform.platform())]
    for pkg in ('torch', 'torchvision', 'numpy', 'mmengine', 'mmcv', 'mmcv-lite', 'mmsegmentation',
                'opencv-python', 'opencv-python-headless', 'pandas', 'matplotlib', 'ipywidgets'):
        try:
            rows.append((pkg, md.version(pkg)))
        except md.PackageNotFoundError:
            if pkg not in ('mmcv', 'mmcv-lite', 'opencv-python', 'opencv-python-headless', 'torchvision'):
                rows.append((pkg, 'not installed'))
    from utils.core import compat

    rows.append(('mmcv ops', 'pure-PyTorch fallback (mmcv-lite)' if compat.using_mmcv_lite() else 'compiled'))
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        rows += [('GPU', f'{props.name} ({props.total_memory / 2**30:.1f} GiB)'),
                 ('CUDA (torch)', str(torch.version.cuda)), ('cuDNN', str(torch.backends.cudnn.version()))]
    else:
        rows.append(('GPU', 'none (CPU only)'))
    rows += [('nvcc', _first_line(['nvcc', '-V'], -1)), ('gcc', _first_line(['gcc', '--version'])),
             ('Colab', 'yes' if in_colab() else 'no'), ('work root', str(work_root or default_work_root()))]
    return rows


def environment_frame(work_root: str | os.PathLike | None = None):
    """The environment table as a pandas DataFrame (renders as a table in notebooks)."""
    import pandas as pd

    return pd.DataFrame(environment_table(work_root), columns=['item', 'value']).set_index('item')


def main(argv: list[str] | None = None) -> None:
    if (argv if argv is not None else sys.argv[1:]) == ['--write-manifest']:
        print(f'wrote {write_manifest()} ({len(code_files())} files)')
        return
    for key, value in environment_table():
        print(f'{key:24s} {value}')


if __name__ == '__main__':
    main()
