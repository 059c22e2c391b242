"""A throw-away JupyterLab server on 127.0.0.1 (for driving notebooks in a headless browser in tests)."""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from utils.base.labels import REPO_ROOT


@dataclass
class Lab:
    port: int
    token: str

    def url(self, path: str) -> str:
        return f'http://127.0.0.1:{self.port}/{path}?token={self.token}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: str | os.PathLike, timeout: float = 90, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """Run JupyterLab serving ``root`` (kernels can ``import utils``; ``env`` adds variables); stop it on exit."""
    lab = Lab(_free_port(), secrets.token_hex(16))
    extra = dict(env or {})
    paths = [extra.pop('PYTHONPATH', None), str(REPO_ROOT), os.environ.get('PYTHONPATH')]
    env = dict(os.environ, **extra, PYTHONPATH=os.pathsep.join(filter(None, paths)))
    env.pop('MPLBACKEND', None)
    log = open(Path(root) / 'jupyterlab.log', 'w')
    server = subprocess.Popen(
        [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', '--ip=127.0.0.1',
         f'--port={lab.port}', f'--ServerApp.token={lab.token}', f'--ServerApp.root_dir={root}',
         '--LabApp.news_url=None'], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(lab.url('api/status'), timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f'JupyterLab did not start; see {log.name}') from None
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
