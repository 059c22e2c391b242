"""The proof that a solution reproduces its masks: ``run.py`` runs in a fresh virtual environment made from
``requirements.txt`` alone, from a folder that holds only the solution's files, on every image, and each mask it
writes is compared pixel for pixel (the decoded class ids, which is what the leaderboard reads) with the submitted one.

The environment is kept between runs in a cache folder named by the SHA-256 of ``requirements.txt``. Two makers:
:func:`pip_env` installs the pinned packages from the package index (real use, e.g. Colab: one download, then
kept); :func:`installed_env` makes one offline from the distributions installed here that ``requirements.txt``
names, plus what those need, each linked in alone (tests, machines without the index), so an import of anything
else (mmseg, mmengine, this project) fails in it just as in a clean install.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from utils.base.layout import KnownError
from utils.submit.solution.export import SOLUTION_FILES

READY = 'solution-env-ready.txt'
EnvMaker = Callable[[Path, Path], None]


class SolutionEnvError(KnownError, RuntimeError):
    """The fresh environment for ``run.py`` could not be made; the message says why and what to do."""


class SolutionMismatchError(KnownError, RuntimeError):
    """``run.py`` did not reproduce the submitted masks (or did not run); the files are named."""


def env_key(requirements: str | os.PathLike) -> str:
    """The SHA-256 of ``requirements.txt`` (its bytes): an environment serves only the very file it was made from."""
    return hashlib.sha256(Path(requirements).read_bytes()).hexdigest()


def default_env_cache() -> Path:
    """``~/.cache/celebamask-parsing/solution-envs``: local disk (a few GB of torch do not belong on Drive)."""
    return Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'celebamask-parsing' / 'solution-envs'


def _env_python(env_dir: Path) -> Path:
    return env_dir / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')


def _run(cmd: Sequence[str], what: str, timeout: float = 3600, **kw) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise SolutionEnvError(f'{what} took over {timeout:.0f} s and was stopped.') from None
    if done.returncode != 0:
        tail = '\n'.join((done.stdout + done.stderr).strip().splitlines()[-12:])
        raise SolutionEnvError(f'{what} failed (exit {done.returncode}):\n{tail}')
    return done


def pip_env(env_dir: Path, requirements: Path) -> None:
    """A virtual environment with ``pip install -r requirements.txt`` (downloads from the package index).

    The venv is made without pip (Colab's Python lacks ``ensurepip``, so ``python -m venv`` alone fails there) and
    this interpreter's pip installs into it with ``--python``."""
    _run([sys.executable, '-m', 'venv', '--without-pip', env_dir], f'python -m venv {env_dir}', timeout=600)
    _run([sys.executable, '-m', 'pip', '--python', _env_python(env_dir), 'install', '--quiet',
          '--disable-pip-version-check', '--no-input', '-r', requirements],
         f'pip install -r {requirements} (into {env_dir}; it needs the package index: check the connection, then '
         'run again)')


#: The Pythons a course's machine may run today; the pins must install on each (checked against the index).
PYTHONS = ('3.11', '3.12', '3.13')


def pins_missing_wheels(requirements: str | os.PathLike, pythons: Sequence[str] = PYTHONS,
                        platforms: Sequence[str] = ('manylinux_2_28_x86_64', 'manylinux_2_17_x86_64',
                                                    'manylinux2014_x86_64'), index: Sequence[str] = ()) -> dict[str, str]:
    """``{python: pip's reason}`` for each Python on which the pinned packages have no wheel (asks the package index
    with ``pip install --dry-run``; nothing is installed; ``index``: pip's index options, e.g. ``--no-index
    --find-links DIR``). Empty when the pins install everywhere."""
    missing = {}
    with tempfile.TemporaryDirectory(prefix='pins-') as tmp:
        for py in pythons:
            done = subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--quiet', '--no-deps',
                                   '--ignore-installed', '--disable-pip-version-check', '--no-input',
                                   '--only-binary=:all:', '--python-version', py,
                                   *[a for p in platforms for a in ('--platform', p)],
                                   *index, '--target', tmp, '-r', str(requirements)], capture_output=True, text=True,
                                  timeout=600)
            if done.returncode != 0:
                missing[py] = ' '.join(done.stderr.strip().splitlines()[-1:])[:200]
    return missing


def _requirement_names(requirements: Path) -> list[tuple[str, str | None]]:
    """``(name, pinned version or None)`` of each line of a requirements file."""
    out = []
    for line in requirements.read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            name, _, version = line.partition('==')
            out.append((name.strip(), version.strip() or None))
    return out


def _closure(names: Sequence[str]) -> list[metadata.Distribution]:
    """The installed distributions ``names`` and everything they require here (markers evaluated, no extras)."""
    from packaging.requirements import Requirement

    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency this platform does not install
        key = dist.metadata['Name'].lower().replace('_', '-')
        if key in seen:
            continue
        seen[key] = dist
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                todo.append(req.name)
    return list(seen.values())


def installed_env(env_dir: Path, requirements: Path) -> None:
    """An offline environment: a venv without pip whose site-packages links in only the installed distributions
    that ``requirements.txt`` names (each at the pinned version) and their own dependencies."""
    pins = _requirement_names(requirements)
    wrong = [f'{n}=={v} (installed: {_version(n)})' for n, v in pins if v is not None and _version(n) != v]
    if wrong:
        raise SolutionEnvError(f'{requirements} pins {", ".join(wrong)}: an environment from the installed '
                               'packages would not be the one it asks for. Use pip_env (it installs the pins).')
    _run([sys.executable, '-m', 'venv', '--without-pip', env_dir], f'python -m venv {env_dir}', timeout=600)
    site = Path(_run([_env_python(env_dir), '-I', '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                     'finding the new environment\'s site-packages').stdout.strip())
    for dist in _closure([n for n, _ in pins]):
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith('..')}
        for top in sorted(tops):
            src, dst = Path(dist.locate_file(top)), site / top
            if src.exists() and not os.path.lexists(dst) and top != '__pycache__':
                dst.symlink_to(src, target_is_directory=src.is_dir())


def _version(name: str) -> str | None:
    try:
        return metadata.version(name).split('+', 1)[0]
    except metadata.PackageNotFoundError:
        return None


def solution_env(requirements: str | os.PathLike, cache: str | os.PathLike | None = None,
                 maker: EnvMaker = pip_env, progress: bool = False) -> Path:
    """The python of an environment made from ``requirements`` alone: kept in ``cache/<sha256[:16]>``, made once
    (a folder left without its ready mark by an interrupted run is made again)."""
    requirements = Path(requirements)
    key = env_key(requirements)
    env_dir = Path(cache or default_env_cache()).absolute() / key[:16]
    ready = env_dir / READY
    if ready.is_file() and ready.read_text().split('\n', 1)[0] == key and _env_python(env_dir).exists():
        return _env_python(env_dir)
    if os.path.lexists(env_dir):
        shutil.rmtree(env_dir)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f'making the solution\'s environment from {requirements.name} in {env_dir} (once; kept for later runs)')
    try:
        maker(env_dir, requirements)
    except BaseException:
        shutil.rmtree(env_dir, ignore_errors=True)
        raise
    ready.write_text(f'{key}\n{requirements.read_text()}')
    return _env_python(env_dir)


#: The most pixels (a share of all compared) in which run.py's masks may differ from the project's own prediction:
#: the two implementations sum in other orders, so a pixel whose two best classes tie to the last bits can go either
#: way (seen: 1 pixel of 32,768 on a CPU). More than this is a wrong export, not a tie.
TIE_SHARE = 1e-4


def compare_masks(expected_dir: Path, produced_dir: Path, names: Sequence[str]) -> tuple[list[str], dict[str, int], int]:
    """What run.py's masks (``produced_dir``) say against the project's (``expected_dir``): the masks that cannot be
    compared (missing, unreadable, another size), one line each; ``{name: pixels whose class ids differ}`` of the
    others where any differ; and how many pixels were compared."""
    broken, differ, total = [], {}, 0
    for name in names:
        mine = produced_dir / name
        if not mine.is_file():
            broken.append(f'{name}: run.py wrote no mask')
            continue
        try:
            with Image.open(expected_dir / name) as a, Image.open(mine) as b:
                want, got = np.asarray(a), np.asarray(b)
        except Exception as exc:  # noqa: BLE001 - any unreadable mask is a difference to name
            broken.append(f'{name}: unreadable ({type(exc).__name__}: {exc})')
            continue
        if want.shape != got.shape:
            broken.append(f'{name}: {got.shape} from run.py, {want.shape} submitted')
            continue
        total += want.size
        if n := int(np.count_nonzero(want != got)):
            differ[name] = n
    return broken, differ, total


@dataclass
class ProofResult:
    """A passed proof: how many masks run.py made, in which environment, in how many seconds, and how many pixels
    (float ties) differ from the project's own prediction; ``masks_dir``: run.py's masks, which the zip carries."""

    masks: int
    python: Path
    seconds: float
    device: str
    differ: dict[str, int] = field(default_factory=dict)
    pixels: int = 0
    masks_dir: Path | None = None

    def __str__(self) -> str:
        where = f'in a fresh environment made from requirements.txt alone ({self.python.parent.parent.name}, ' \
                f'{self.device}, {self.seconds:.1f} s)'
        if not self.differ:
            return f'run.py reproduced all {self.masks} masks pixel for pixel {where}'
        n = sum(self.differ.values())
        return (f'run.py made all {self.masks} masks {where}; they differ from the project\'s own prediction in {n:,} '
                f'of {self.pixels:,} pixels ({len(self.differ)} masks): ties between two implementations\' float sums. '
                'The zip carries run.py\'s own masks, the ones the leaderboard\'s run reproduces.')


#: Set to 'installed' where no package index can be reached (the stand-in runtimes of the notebook harness and the
#: tests): the proof's environment then links in the installed distributions that requirements.txt names, and only
#: those, instead of installing them with pip.
PROOF_ENV_VARIABLE = 'CELEBAMASK_PROOF_ENV'


def default_maker() -> EnvMaker:
    """How the proof's fresh environment is made here: pip from the index (Colab), or :func:`installed_env` when
    ``CELEBAMASK_PROOF_ENV=installed`` says the machine has no index to install from."""
    return installed_env if os.environ.get(PROOF_ENV_VARIABLE) == 'installed' else pip_env


def prove_solution(solution_dir: str | os.PathLike, images: Sequence[str | os.PathLike],
                   masks_dir: str | os.PathLike, *, cache: str | os.PathLike | None = None,
                   maker: EnvMaker = pip_env, device: str = 'cpu', progress: bool = False,
                   keep: str | os.PathLike | None = None) -> ProofResult:
    """Run ``run.py`` on every image in a fresh environment and compare its masks with ``masks_dir``'s; more than
    :data:`TIE_SHARE` of the pixels differing, or a mask missing, raises :class:`SolutionMismatchError` naming the
    files (nothing of the solution is trusted to be right). ``keep``: a folder to receive run.py's masks (emptied
    first), the ones a zip should carry."""
    solution_dir, masks_dir = Path(solution_dir), Path(masks_dir)
    python = solution_env(solution_dir / 'requirements.txt', cache, maker, progress)
    names = [f'{Path(p).stem}.png' for p in images]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='solution-proof-') as tmp:
        work, inputs, out = Path(tmp) / 'solution', Path(tmp) / 'images', Path(tmp) / 'masks'
        work.mkdir()
        inputs.mkdir()
        for name in SOLUTION_FILES:
            shutil.copy2(solution_dir / name, work / name)
        for p in images:
            os.symlink(Path(p).resolve(), inputs / Path(p).name)
        env = {k: v for k, v in os.environ.items() if k in ('PATH', 'HOME', 'LANG', 'SYSTEMROOT', 'TMPDIR')
               or k.endswith('_NUM_THREADS') or k.startswith('CUDA_')}
        done = subprocess.run([str(python), '-I', 'run.py', '--input', str(inputs), '--output', str(out),
                               '--weights', 'ckpt.pth', '--device', device],
                              cwd=work, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = '\n'.join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise SolutionMismatchError(f'solution/run.py failed in its fresh environment ({python}), so it '
                                        f'reproduces none of the masks; no zip was written:\n{tail}')
        broken, differ, total = compare_masks(masks_dir, out, names)
        if broken or sum(differ.values()) > TIE_SHARE * max(total, 1):
            _mismatch(broken + [f'{name}: {n:,} pixels differ' for name, n in differ.items()], len(names))
        if keep is not None:
            keep = Path(keep)
            if keep.exists():
                shutil.rmtree(keep)
            shutil.copytree(out, keep)
    return ProofResult(len(names), python, time.perf_counter() - t0, device, differ, total,
                       Path(keep) if keep is not None else None)


def _mismatch(bad: list[str], count: int) -> None:
    listed = '\n'.join(f'  {b}' for b in bad[:12]) + (f'\n  ... and {len(bad) - 12} more' if len(bad) > 12 else '')
    raise SolutionMismatchError(
        f'solution/run.py, run in a fresh environment from requirements.txt alone, does not reproduce {len(bad)} of '
        f'{count} submitted masks (class ids compared pixel for pixel; at most {TIE_SHARE:.2%} of the pixels may '
        f'differ, as float ties):\n{listed}\nNo zip was written: the leaderboard marks predictions its code does not '
        'reproduce. Export the solution from the same checkpoint the masks were predicted with, and predict on the '
        'same device.')
