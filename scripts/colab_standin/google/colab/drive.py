"""Stand-in ``google.colab.drive``: ``mount`` links the harness's persistent folder in as ``<mountpoint>/MyDrive``."""
from __future__ import annotations

import os
from pathlib import Path


def mount(mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False) -> None:
    """Make ``<mountpoint>/MyDrive`` the folder named by STANDIN_DRIVE, and print what Colab prints."""
    if os.environ.get('STANDIN_DRIVE_FAIL'):
        raise ValueError('mount failed: credential propagation was unsuccessful')
    drive = Path(os.environ['STANDIN_DRIVE'])
    link = Path(mountpoint) / 'MyDrive'
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        drive.mkdir(parents=True, exist_ok=True)
        link.symlink_to(drive, target_is_directory=True)
    print(f'Mounted at {mountpoint}')
