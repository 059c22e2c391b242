"""Where this runtime keeps things: Colab's local disk, Google Drive's mount and this project's folder on it.

The lowest floor of the house (it imports nothing of the project), so that the checkpoint trust rule and the
one-message storage errors can use it; :mod:`utils.core.env` re-exports all of it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: The runtime's local disk in Colab (``CELEBAMASK_CONTENT`` moves it: the tests' stand-in runtimes do).
CONTENT = Path(os.environ.get('CELEBAMASK_CONTENT', '/content'))
DRIVE_MOUNT = CONTENT / 'drive'
DRIVE_ROOT = DRIVE_MOUNT / 'MyDrive'
#: This project's folder on Drive: settings.json, the dataset archive, work_dirs, the submission, the trust key.
DRIVE_PROJECT = DRIVE_ROOT / 'celebamask-parsing'


def in_colab() -> bool:
    """True inside a Google Colab runtime (or a stand-in runtime that says it is one)."""
    return 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ or 'COLAB_GPU' in os.environ


def trust_key_path() -> Path:
    """The run's secret key that binds each work_dir's trust marker (``utils.core.checkpoints``) to this student.

    On Drive in Colab, in MyDrive itself and not in the project's folder (every runtime of the run shares it; a
    copy of someone's ``celebamask-parsing`` folder, markers and all, does not carry it), else in the user's own
    config folder (``CELEBAMASK_STATE`` moves it: the tests do).
    """
    if in_colab() and DRIVE_ROOT.is_dir():
        return DRIVE_ROOT / '.celebamask-parsing-trust-key'
    state = os.environ.get('CELEBAMASK_STATE') or Path(os.environ.get('XDG_CONFIG_HOME') or Path.home() / '.config') \
        / 'celebamask-parsing'
    return Path(state) / 'trust-key'
