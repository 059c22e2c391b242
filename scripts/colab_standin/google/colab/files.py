"""Stand-in ``google.colab.files``: ``download`` copies the file into the folder named by STANDIN_DOWNLOADS."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def download(filename: str) -> None:
    """Copy ``filename`` to the harness's downloads folder, as the browser would save it."""
    target = Path(os.environ['STANDIN_DOWNLOADS'])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(filename, target / Path(filename).name)
