"""Run a function over many file jobs with a progress bar, in a process pool when it pays off."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence


def progress_map(fn: Callable[[Any], Any], jobs: Sequence, workers: int, desc: str, progress: bool = True,
                 unit: str = 'img', chunksize: int = 16) -> list:
    """``[fn(job) for job in jobs]`` with a tqdm bar; ``workers > 1`` uses that many processes."""
    from tqdm.auto import tqdm

    results = []
    with tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress) as bar:
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                for result in pool.map(fn, jobs, chunksize=chunksize):
                    results.append(result)
                    bar.update()
        else:
            for job in jobs:
                results.append(fn(job))
                bar.update()
    return results


def default_workers(n_jobs: int, workers: int | None = None, threshold: int = 200) -> int:
    """``workers`` when given, else up to 8 processes for ``n_jobs >= threshold`` and 0 (inline) below."""
    if workers is not None:
        return max(0, workers)
    return min(os.cpu_count() or 1, 8) if n_jobs >= threshold else 0
