"""Time `python -m utils.data check` on a dataset (default: a 512 px synthetic set of 5000/1000/1000).

    python scripts/bench_data_check.py [--root /tmp/syn512] [--workers N]

Generates the synthetic set first when ``--root`` does not exist (about 3 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', default='/tmp/syn512', help='dataset folder (created if missing)')
    p.add_argument('--workers', default=None, help='passed to check --workers')
    p.add_argument('--repeat', type=int, default=2, help='timed runs (the first also warms the page cache)')
    a = p.parse_args()
    root = Path(a.root)
    if not root.exists():
        subprocess.run([sys.executable, '-m', 'utils.core.synthetic', '--out', str(root), '--train', '5000', '--val',
                        '1000', '--test', '1000', '--size', '512'], cwd=REPO, check=True)
    cmd = [sys.executable, '-m', 'utils.data', 'check', str(root), '--quiet']
    if a.workers is not None:
        cmd += ['--workers', str(a.workers)]
    n_files = sum(1 for f in root.rglob('*') if f.is_file())
    print(f'{n_files} files, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the runs')
    for i in range(a.repeat):
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        print(f'run {i + 1}: {dt:.2f} s wall, {cpu:.1f} s CPU (exit {r.returncode})')
    print(r.stdout[-3000:])


if __name__ == '__main__':
    main()
