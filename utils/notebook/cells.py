"""What a notebook cell shows and how it stops: one message instead of a traceback (:class:`StopRun`), Markdown that
renders, a result followed by its reading, and the guard that turns every known failure into one message. The lowest
floor of the notebook face: :mod:`utils.notebook.session` and :mod:`utils.notebook.steps` both stand on it."""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator


class StopRun(Exception):
    """Stops Run All at this cell with one message (what failed and what to do), without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return ['\x1b[1;31m' + line + '\x1b[0m' for line in str(self).splitlines()]


def say(markdown: str) -> None:
    """Show ``markdown`` in a notebook (bold renders), or print it elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except ImportError:
        pass
    print(markdown.replace('**', ''))


@contextlib.contextmanager
def guard(folder: str | os.PathLike | None = None, kept: bool = True) -> Iterator[None]:
    """Within this block a known failure (any :class:`~utils.base.layout.KnownError`: bad data, checkpoint, config,
    weights, ...) or an OS error stops the notebook with one message.

    So does a write that the storage refuses (a read-only, full or vanished Drive): the message names the folder
    (``folder`` when the error names no file), the free space seen and the fix. ``kept``: every writer in the
    block writes atomically (a temporary file renamed when complete), so the message may say nothing was lost;
    training passes False (MMEngine removes its oldest kept checkpoint before it writes the next one).
    """
    from utils.base.layout import KnownError
    from utils.base.report import one_message, storage_problem

    try:
        yield
    except OSError as exc:  # a refused write (folder, free space, fix), else the file and what to check
        raise StopRun(storage_problem(exc, folder, kept=kept) or one_message(exc)) from None
    except KnownError as exc:  # every module's own error: its message names the file and the fix
        raise StopRun(one_message(exc)) from None


def show(result: Any, reading: str) -> None:
    """Display a table or figure, then its reading (:mod:`utils.notebook.narrate`): what to look for, in this run's numbers."""
    from IPython.display import display

    display(result)
    say(reading)
