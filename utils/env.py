"""Where are we running (Colab or not, GPU or not), where work goes, and a versions table for the record.

    python -m utils.env          # print the environment table
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from .labels import REPO_ROOT

DRIVE_ROOT = Path('/content/drive/MyDrive')
DRIVE_PROJECT = DRIVE_ROOT / 'celebamask-parsing'


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ or 'COLAB_GPU' in os.environ


def mount_drive(mountpoint: str = '/content/drive') -> bool:
    """Mount Google Drive in Colab (no-op elsewhere); True when Drive is available afterwards."""
    if not in_colab():
        return False
    if not DRIVE_ROOT.is_dir():
        from google.colab import drive  # type: ignore[import-not-found]

        drive.mount(mountpoint)
    return DRIVE_ROOT.is_dir()


def default_work_root() -> Path:
    """Root for work_dirs: on Google Drive in Colab (survives disconnects), else ``./work_dirs``."""
    if in_colab() and DRIVE_ROOT.is_dir():
        return DRIVE_PROJECT / 'work_dirs'
    return REPO_ROOT / 'work_dirs'


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


def environment_table() -> list[tuple[str, str]]:
    """(item, value) rows: Python, packages, GPU, CUDA, nvcc, gcc, Colab."""
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
    from . import compat

    rows.append(('mmcv ops', 'pure-PyTorch fallback (mmcv-lite)' if compat.using_mmcv_lite() else 'compiled'))
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        rows += [('GPU', f'{props.name} ({props.total_memory / 2**30:.1f} GiB)'),
                 ('CUDA (torch)', str(torch.version.cuda)), ('cuDNN', str(torch.backends.cudnn.version()))]
    else:
        rows.append(('GPU', 'none (CPU only)'))
    rows += [('nvcc', _first_line(['nvcc', '-V'], -1)), ('gcc', _first_line(['gcc', '--version'])),
             ('Colab', 'yes' if in_colab() else 'no'), ('work root', str(default_work_root()))]
    return rows


def environment_frame():
    """The environment table as a pandas DataFrame (renders as a table in notebooks)."""
    import pandas as pd

    return pd.DataFrame(environment_table(), columns=['item', 'value']).set_index('item')


def main() -> None:
    for key, value in environment_table():
        print(f'{key:24s} {value}')


if __name__ == '__main__':
    main()
