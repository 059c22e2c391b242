"""Pass / warn / fail check reports, shared by the dataset checker and the submission checker; the CLIs' error line.

:class:`Check` is one line of a report. :class:`Report` gives a list of them ``.ok``, ``.problems``,
``.warnings``, ``report[name]``, ``.to_frame()``, a coloured table in Jupyter and a one-screen text report
(``.format()`` / ``str()``). :class:`utils.data.CheckReport` and :class:`utils.submit.SubmissionReport` are
dataclasses built on it that add their own fields and header text.

:func:`cli_error` is the ``except`` branch of the ``python -m utils.*`` commands: it prints
``error: ...`` (no traceback) and returns exit code 2, or re-raises under ``--debug``.
"""
from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import ClassVar

PASS, WARN, FAIL = 'PASS', 'WARN', 'FAIL'
#: Background colour of each status in the Jupyter table.
COLOURS: dict[str, str] = {PASS: '#c8e6c9', WARN: '#fff3c4', FAIL: '#ffcdd2'}


@dataclass
class Check:
    """One line of a check report: status, summary, the offending files and what to do."""

    name: str
    status: str
    summary: str
    files: list[str] = field(default_factory=list)
    fix: str = ''


def number_formats(frame, decimals: int = 2) -> dict[str, str]:
    """How every table shows its numeric columns (``frame.style.format(number_formats(frame))``): counts as whole
    numbers with thousands separators (``14,643``), other numbers with ``decimals`` decimals (``92.81``)."""
    from pandas.api import types

    return {col: '{:,}' if types.is_integer_dtype(frame[col]) else f'{{:,.{decimals}f}}' for col in frame.columns
            if types.is_numeric_dtype(frame[col]) and not types.is_bool_dtype(frame[col])}


def check_files(name: str, bad: list[str], ok_text: str, bad_text: str, fix: str, status: str = FAIL) -> Check:
    """A :class:`Check` that has ``status`` when ``bad`` lists offending files, PASS otherwise.

    ``bad_text`` may name the number of files as ``{n}``; ``fix`` is kept only when something is wrong.
    """
    if bad:
        return Check(name, status, bad_text.format(n=len(bad)), bad, fix)
    return Check(name, PASS, ok_text, bad, '')


class Report:
    """Shared behaviour of the check reports; subclasses are dataclasses with ``results`` and ``seconds``.

    A subclass writes its own header: :meth:`_heading` (text lines above the table), :meth:`_html_heading`
    (after PASSED/FAILED in Jupyter) and :attr:`fail_note` (after FAILED on the last text line).
    """

    results: list[Check]
    seconds: float
    #: Appended to the last line of :meth:`format` when a check failed.
    fail_note: ClassVar[str] = ''

    def _heading(self) -> list[str]:
        return []

    def _html_heading(self) -> str:
        return f'{self.seconds:.1f} s'

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(r.status != FAIL for r in self.results)

    @property
    def verdict(self) -> str:
        """'PASSED' or 'FAILED'."""
        return 'PASSED' if self.ok else 'FAILED'

    @property
    def problems(self) -> list[str]:
        """One line per failed check, with the first offending files."""
        return [self._line(r) for r in self.results if r.status == FAIL]

    @property
    def warnings(self) -> list[str]:
        """One line per check that only warns."""
        return [self._line(r) for r in self.results if r.status == WARN]

    @staticmethod
    def _line(r: Check, n: int = 3) -> str:
        files = f' ({", ".join(r.files[:n])}{", ..." if len(r.files) > n else ""})' if r.files else ''
        return f'{r.name}: {r.summary}{files}'

    def __getitem__(self, name: str) -> Check:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_frame(self):
        """One row per check: status, summary, number of files, first files, fix (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame([{'check': r.name, 'status': r.status, 'summary': r.summary, 'files': len(r.files),
                              'examples': ', '.join(r.files[:3]), 'fix': r.fix} for r in self.results]
                            ).set_index('check')

    def _repr_html_(self) -> str:
        styled = self.to_frame().style.map(lambda v: f'background-color: {COLOURS.get(v, "")}', subset=['status'])
        return f'<b>{self.verdict}</b>: {self._html_heading()}' + styled.to_html()

    def format(self, max_files: int = 5) -> str:
        """The one-screen text report: a table of the checks, then the files and fix of each that did not pass."""
        w = max(len(r.name) for r in self.results)
        lines = self._heading() + [f'  {"check":<{w}}  status  summary', '  ' + '-' * (w + 60)]
        lines += [f'  {r.name:<{w}}  {r.status:<6}  {r.summary}' for r in self.results]
        for r in self.results:
            if r.status == PASS or not (r.files or r.fix):
                continue
            lines.append(f'{r.status} {r.name}:')
            lines += [f'    {f}' for f in r.files[:max_files]]
            if len(r.files) > max_files:
                lines.append(f'    ... and {len(r.files) - max_files} more')
            if r.fix:
                lines.append(f'  fix: {r.fix}')
        lines.append(f'{self.verdict} in {self.seconds:.1f} s' + ('' if self.ok else self.fail_note))
        return '\n'.join(lines)

    def __str__(self) -> str:
        return self.format()


def cli_error(exc: BaseException, known: type[BaseException] | tuple[type[BaseException], ...] | None = None,
              debug: bool = False) -> int:
    """Print ``error: <message>`` to stderr and return exit code 2; re-raise ``exc`` when ``debug``.

    Exceptions of the ``known`` types (default: :class:`~utils.base.layout.KnownError`, the base of every module's own
    error, whose message says what to do) print their message alone; an OS error names its file and what to
    check; any other gets its type name in front (``error: KeyError: 'x'``) and a pointer to ``--debug``. An
    error re-raised from a DataLoader worker carries the worker's traceback in its message; only its last line
    (the original message) is printed.
    Call it from an ``except`` branch: ``return cli_error(e, debug=args.debug)``.
    """
    if debug:
        raise exc
    print(f'error: {one_message(exc, known)}', file=sys.stderr)
    return 2


def one_message(exc: BaseException, known: type[BaseException] | tuple[type[BaseException], ...] | None = None) -> str:
    """The message of ``exc`` as one paragraph: worker tracebacks cut to their last line, an OS error as
    :func:`os_error_text`, other unknown types named."""
    if known is None:
        from utils.base.layout import KnownError

        known = KnownError
    text = str(exc)
    if 'Original Traceback' in text:  # torch's DataLoader re-raises a worker's error with its traceback inside
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split(': ', 1)[1] if ': ' in last and last.split(': ', 1)[0].replace('.', '').isidentifier() else last
    if isinstance(exc, OSError) and (storage := storage_problem(exc)):
        return storage
    if isinstance(exc, known):
        return text
    if isinstance(exc, OSError) and exc.strerror:  # a file the OS would not give us: name it and what to check
        return os_error_text(exc)
    return f'{type(exc).__name__}: {text} (run again with --debug for the full traceback)'


def _at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number') from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f'{value} must be at least {minimum}')
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse's error names the option)."""
    return _at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (argparse's error names the option)."""
    return _at_least(text, 0)


def os_error_text(exc: OSError) -> str:
    """An operating-system error as one sentence that names the file and what to check."""
    where = f' {exc.filename}' if exc.filename else ''
    return (f'cannot access{where}: {exc.strerror or exc}. Check the path, its permissions and the free disk space, '
            'then run the same command again.')


#: OS errors that mean the storage refused a write (read-only, full, over quota, gone), not a wrong path.
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
FULL = (errno.ENOSPC, errno.EDQUOT)
GONE = (errno.EIO, errno.ENOTCONN, errno.ENODEV, errno.ESTALE, errno.ENXIO)


def _is_dir(path: Path) -> bool:
    """``path.is_dir()`` that a vanished mount cannot turn into an error (pathlib lets ENOTCONN and EIO through)."""
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def _on_drive(path: Path) -> bool:
    from utils.base.places import DRIVE_MOUNT

    return path.is_relative_to(DRIVE_MOUNT)


def free_space_text(folder: Path) -> str:
    """``'1.2 GB free'`` for the nearest existing folder at or above ``folder``, or why it cannot be seen."""
    for place in (folder, *folder.parents):
        try:
            if _is_dir(place):
                return f'{shutil.disk_usage(place).free / 1e9:.2f} GB free there'
        except OSError:
            break
    return 'its free space cannot be read (the folder or its mount is gone)'


def storage_problem(exc: OSError, folder: str | os.PathLike | None = None, kept: bool = False) -> str | None:
    """One message for a write that the storage refused, naming the folder, the free space seen and the fix;
    None for any other OS error. ``folder``: where the write went when the error does not name a file;
    ``kept``: the writer guarantees that nothing was replaced and no partial file stays (the message says so).
    The fix speaks of Google Drive only for a folder on Drive's mount."""
    from utils.base.places import DRIVE_ROOT

    target = Path(exc.filename) if exc.filename else (Path(folder) if folder is not None else None)
    vanished = target is not None and exc.errno == errno.ENOENT and _on_drive(target) and not _is_dir(DRIVE_ROOT)
    if exc.errno not in READ_ONLY + FULL + GONE and not vanished:
        return None
    where = (target if _is_dir(target) else target.parent) if target is not None else Path(folder or '.')
    drive = _on_drive(where)
    if exc.errno in FULL:
        fix = ('free space on Google Drive (delete old checkpoints or submissions there, then empty the Drive '
               'trash), then run this notebook (or command) again.' if drive else
               'free space on that disk (or choose another folder), then run the same step again.')
    elif exc.errno in READ_ONLY:
        fix = ('this folder cannot be used from here: keep the run in your own My Drive (not a folder shared with '
               'you for viewing), or set WORK_ROOT (--work-dir) to a folder you can write, then run again.' if drive
               else 'check the folder\'s permissions, or choose a folder you can write, then run again.')
    elif drive:
        fix = ('Google Drive was disconnected from this runtime: run this notebook again (its set-up cell mounts '
               'Drive again); if it fails again, choose Runtime > Disconnect and delete runtime, then Run all.')
    else:
        fix = 'the disk failed to answer: check that it is still attached, then run the same step again.'
    why = exc.strerror or os.strerror(exc.errno or 0)
    kept_text = ' What was there before is kept, and no partial file was left.' if kept else ''
    return f'Could not use {where}: {why} ({free_space_text(where)}).{kept_text}\nWhat to do: {fix}'


def human_bytes(n: float) -> str:
    """``313.0 MB`` style size."""
    for unit in ('B', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n:.1f} GB'
