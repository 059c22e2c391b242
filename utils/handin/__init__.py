"""The course hand-in, built from a run's work_dirs: figures, tables, an editable report draft and one zip.

    python -m utils.handin WORK_DIR [WORK_DIR ...] --out handin [--matric N] [--leaderboard-name NAME] ...

``run`` reads the run (records, curves, per-class history, evaluations, submission), ``figures`` and ``tables``
draw and tabulate it, ``docx_report`` and ``latex`` write the report draft, ``kit`` assembles ``handin/``, checks
it against the specification and zips it; ``__main__`` is the command.
"""
from .run import collect, stage_dirs
from .rundata import HandinError, RunData

__all__ = ['HandinError', 'RunData', 'collect', 'stage_dirs']
