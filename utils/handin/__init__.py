"""The course hand-in, built from a run's work_dirs: figures, tables, an editable report draft and one zip.

    python -m utils.handin WORK_DIR [WORK_DIR ...] --out handin [--matric N] [--edition 2025] ...

``run`` reads the run (records, curves, per-class history, evaluations, submission), ``figures`` and ``tables``
draw and tabulate it, ``experiments`` lists every evaluation of the work root (the 2025-26 experimental analysis),
``blocks`` orders the draft's content (``draft`` for the 2022 rules, ``draft2025`` for the 2025-26 ones, ``draftparts``
what both say), ``docx_report`` and ``latex`` write it, ``render`` renders it with LibreOffice where installed,
``readme`` writes Readme.txt, ``portable`` makes the run's text files free of the build machine's paths,
``pdfcheck`` reads the student's report.pdf back, ``kit`` assembles ``handin/``, checks it against the specification
and zips it; ``__main__`` is the command.
"""
from utils.handin.run import collect, stage_dirs
from utils.handin.rundata import HandinError, RunData

__all__ = ['HandinError', 'RunData', 'collect', 'stage_dirs']
