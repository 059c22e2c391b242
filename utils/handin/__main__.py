"""Build the course hand-in from a run: ``handin/`` (figures, tables, report draft as .docx and LaTeX, Readme.txt,
test predictions) and one zip named after the matriculation number, with the submitted checkpoint and the code.

    python -m utils.handin WORK_DIR [WORK_DIR ...] --out handin [--matric G1234567A] [--leaderboard-name NAME]
                           [--submission submission-seed.zip] [--test-images data/celebamask/test/test_image]
                           [--checkpoint CKPT] [--zip PATH] [--debug]
    python -m utils.handin --work-root work_dirs --recipe seed --out handin ...    # the stage work_dirs of a recipe
    python -m utils.handin --work-root work_dirs --edition 2025 --out handin ...  # the 2025-26 rules' hand-in

WORK_DIRs are the run's stage work_dirs, stage 1 first (the folders with iter_*.pth). The check table at the end
lists every item the course asks for: present, filled from the run, or missing with what to do. A missing item
(the leaderboard screenshot: put it in handin/ as score.png; the report PDF: export the draft as handin/report.pdf)
never stops the build: add it and run the command again. Exit code 0 even with missing items; 2 on an error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.base.report import cli_error
from utils.handin.kit import build_handin
from utils.handin.run import stage_dirs
from utils.handin.rundata import HandinError


def default_submission(work_root: Path, recipe: str, final_fit: bool) -> Path | None:
    """05's leaderboard zip of ``recipe`` in the work root: ``submission-<recipe>[-trainval].zip``, else the
    newest ``submission-<recipe>*.zip`` (a test-phase zip before a dev-phase one)."""
    exact = work_root / f'submission-{recipe}{"-trainval" if final_fit else ""}.zip'
    if exact.is_file():
        return exact
    found = sorted(work_root.glob(f'submission-{recipe}*.zip'), key=lambda p: ('test' in p.name, p.stat().st_mtime))
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    from utils.core.config import FINAL_FIT_SUFFIX, RECIPES
    from utils.base.edition import DEFAULT_EDITION, EDITIONS, rules

    p = argparse.ArgumentParser(prog='python -m utils.handin', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('work_dirs', nargs='*', metavar='WORK_DIR', help='stage work_dirs, stage 1 first')
    p.add_argument('--work-root', help='instead of WORK_DIRs: the folder holding the recipe\'s work_dirs')
    p.add_argument('--edition', choices=EDITIONS, default=DEFAULT_EDITION,
                   help='the course rules the hand-in follows (default: %(default)s)')
    p.add_argument('--recipe', choices=sorted(RECIPES), help='with --work-root (default: the edition\'s default recipe)')
    p.add_argument('--final-fit', action='store_true', help='with --work-root: the recipe\'s final fit on train + val '
                   '(<config>_trainval, submission-<recipe>-trainval.zip), as FINAL_FIT = True in the notebooks')
    p.add_argument('--out', required=True, help='the handin/ folder to build (files you added there are kept)')
    p.add_argument('--matric', help='matriculation number: names the zip, fills Readme.txt and the draft')
    p.add_argument('--leaderboard-name', help='leaderboard user name, for Readme.txt and the draft')
    p.add_argument('--submission', help='the submission zip of 05 (default: submission-<recipe>.zip in the work root)')
    p.add_argument('--test-images', help='test images, to check the submission (utils.submit\'s checker)')
    p.add_argument('--checkpoint', help='the submitted checkpoint (default: the run\'s final, as 04 and 05 choose)')
    p.add_argument('--zip', help='where the zip goes (default: <out>/../<matric>.zip)')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        work_dirs = [Path(w) for w in a.work_dirs]
        submission = a.submission
        if a.work_root:
            recipe = a.recipe or rules(a.edition).default_recipe
            if recipe not in RECIPES:
                raise HandinError(f'The recipe {recipe!r} is not in this code\'s RECIPES: pass --recipe.')
            suffix = FINAL_FIT_SUFFIX if a.final_fit else ''
            work_dirs = stage_dirs(a.work_root, [c + suffix for c in RECIPES[recipe] if c])
            submission = submission or default_submission(Path(a.work_root), recipe, a.final_fit)
        if not work_dirs:
            raise HandinError('Give the run\'s stage work_dirs (stage 1 first), or --work-root with --recipe.')
        result = build_handin(work_dirs, a.out, matric=a.matric, leaderboard_name=a.leaderboard_name,
                              submission=submission, checkpoint=a.checkpoint, test_images=a.test_images, zip_path=a.zip,
                              edition=a.edition)
    except Exception as exc:  # one message naming the file and the fix; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    frame = result.frame()
    width = max(len(i) for i in frame.index)
    for item, row in frame.iterrows():
        print(f'{item:{width}s}  {row["status"]:20s} {row["detail"]}')
    for note in result.notes:
        print('note:', note)
    print(f'\n{result.folder}: the report draft is about {result.pages} pages (the course allows '
          f'{rules(result.edition).max_pages})')
    print(f'{result.zip_path}: {result.zip_path.stat().st_size / 1e6:,.1f} MB'
          + (f'; missing: {", ".join(result.missing)}' if result.missing else '; nothing missing'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
