"""``python -m utils.submit``: predict (the default), check, score."""
from __future__ import annotations

import argparse
import sys

from utils.core.config import TTA_MODES
from utils.base.edition import DEFAULT_EDITION, EDITIONS
from utils.base.report import cli_error, positive_int
from utils.submit.check import check_submission
from utils.submit.common import SubmitError
from utils.submit.package import SubmissionCheckError, make_submission
from utils.submit.score import score_submission

USAGE = """Predict the test images and build a validated leaderboard zip; check or score a zip.

    python -m utils.submit CHECKPOINT --images DIR --out submission.zip [--tta none|flip|ms] [--batch-size 8]
    python -m utils.submit CHECKPOINT --images DIR --out submission-test.zip --edition 2025 [--solution]
    python -m utils.submit check submission.zip --images DIR [--reference VAL_MASK_DIR] [--strict]
    python -m utils.submit check submission-test.zip --images DIR --edition 2025 [--phase dev|test]
    python -m utils.submit score submission.zip --masks TEST_MASK_DIR      # data with masks (synthetic)
"""


_COMMANDS = ('predict', 'check', 'score')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m utils.submit', description=USAGE.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='predict is the default command: python -m utils.submit CHECKPOINT --images '
                                       'DIR --out submission.zip')
    sub = p.add_subparsers(dest='cmd', required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument('--quiet', action='store_true', help='no progress bars')
        s.add_argument('--debug', action='store_true', help='show full tracebacks')

    r = sub.add_parser('predict', help='predict the test images and write a checked zip (the default command)')
    r.add_argument('checkpoint', help='trained checkpoint (.pth), e.g. work_dirs/<config>/best_mIoU_iter_30000.pth')
    r.add_argument('--config', default=None, help='config it was trained with (default: the config training wrote '
                                                   'into its work_dir, else the one of its run name in configs/)')
    r.add_argument('--images', required=True, help='folder of test images, e.g. data/celebamask/test/test_image')
    r.add_argument('--out', required=True, help='zip to write, e.g. submission.zip')
    r.add_argument('--tta', choices=TTA_MODES, default=None,
                   help="test-time augmentation (default: the config's test_tta, 'flip' with the left/right swap)")
    r.add_argument('--batch-size', type=positive_int, default=8, help='images per forward pass (default 8)')
    r.add_argument('--masks-dir', default=None, help='where masks are kept (default: <zip stem>_masks next to it)')
    r.add_argument('--folder', default=None, help='folder name inside the zip (default: the zip stem)')
    r.add_argument('--overwrite', action='store_true', help='predict every image again, replacing kept masks')
    r.add_argument('--reference', default=None, help='ground-truth masks (val/val_mask) for the collapse check')
    r.add_argument('--strict', action='store_true', help='content warnings (empty/collapsed classes) fail')
    r.add_argument('--device', default=None, help='cuda or cpu (default: cuda when available; 2025: cpu, whose '
                                                  'masks the fresh environment reproduces bit for bit)')
    r.add_argument('--no-amp', action='store_true', help='no mixed precision on GPU')
    r.add_argument('--edition', choices=EDITIONS, default=DEFAULT_EDITION,
                   help='the course rules of the zip (2025: masks/ at the root, class biases, one image per pass)')
    r.add_argument('--solution', action='store_true',
                   help='2025 test phase: add solution/ (run.py, ckpt.pth, requirements.txt), proven first')
    r.add_argument('--env-cache', default=None, help='where the proof keeps its environments (default: '
                                                      '~/.cache/celebamask-parsing/solution-envs)')
    r.add_argument('--env-from-installed', action='store_true',
                   help='make the proof\'s environment offline from the installed torch/numpy/Pillow instead of '
                        'pip (no package index needed; the pins must equal the installed versions)')
    common(r)

    c = sub.add_parser('check', help='check a submission zip against the test images (exit 1 on failure)')
    c.add_argument('zip', help='submission zip (or a folder of masks)')
    c.add_argument('--images', required=True, help='folder of test images')
    c.add_argument('--reference', default=None, help='ground-truth masks (val/val_mask) for the collapse check')
    c.add_argument('--strict', action='store_true', help='content warnings (empty/collapsed classes) fail')
    c.add_argument('--max-files', type=positive_int, default=5, help='files listed per problem')
    c.add_argument('--edition', choices=EDITIONS, default=DEFAULT_EDITION, help='the course rules to check against')
    c.add_argument('--phase', choices=('dev', 'test'), default='test',
                   help='2025: dev (masks only) or test (masks and solution/; the default)')
    common(c)

    s = sub.add_parser('score', help='mIoU of a zip against ground-truth masks (synthetic data has test masks)')
    s.add_argument('zip', help='submission zip (or a folder of masks)')
    s.add_argument('--masks', required=True, help='ground-truth masks of the same images')
    common(s)
    return p


def _leaderboard_zip(args: argparse.Namespace, progress: bool):
    """The 2025 zip of the command line's arguments (its check table printed first)."""
    from utils.submit.leaderboard import build_leaderboard_zip
    from utils.submit.solution.proof import installed_env, pip_env

    if args.reference is not None or args.batch_size != 8 or args.folder is not None:
        raise SubmitError('--reference, --batch-size and --folder are 2022 options: the 2025 zip predicts one image '
                          'per pass (as run.py does) into masks/.')
    res = build_leaderboard_zip(args.checkpoint, args.images, args.out, solution=args.solution, config=args.config,
                                tta=args.tta, masks_dir=args.masks_dir, device=args.device, env_cache=args.env_cache,
                                env_maker=installed_env if args.env_from_installed else pip_env,
                                overwrite=args.overwrite, strict=args.strict, progress=progress)
    print(res.report.format())
    return res


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 check failed, 2 error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in _COMMANDS and argv[0] not in ('-h', '--help'):
        argv.insert(0, 'predict')
    args = build_parser().parse_args(argv)
    progress = not args.quiet
    try:
        if args.cmd == 'predict' and args.edition == '2025':
            print(_leaderboard_zip(args, progress))
        elif args.cmd == 'predict':
            if args.solution:
                raise SubmitError('--solution belongs to the 2025 rules: add --edition 2025.')
            res = make_submission(args.checkpoint, args.images, args.out, config=args.config, tta=args.tta,
                                  batch_size=args.batch_size, masks_dir=args.masks_dir, folder=args.folder,
                                  overwrite=args.overwrite, reference=args.reference, strict=args.strict,
                                  device=args.device, amp=False if args.no_amp else None, progress=progress)
            print(res.report.format())
            print(res)
        elif args.cmd == 'check':
            report = check_submission(args.zip, args.images, reference=args.reference, strict=args.strict,
                                      progress=progress, edition=args.edition, phase=args.phase)
            print(report.format(max_files=args.max_files))
            return 0 if report.ok else 1
        elif args.cmd == 'score':
            print(score_submission(args.zip, args.masks, progress=progress))
    except KeyboardInterrupt:
        print('interrupted: finished masks are kept; run the same command again to continue.', file=sys.stderr)
        return 130
    except SubmissionCheckError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except Exception as e:
        return cli_error(e, debug=args.debug)
    return 0


if __name__ == '__main__':
    sys.exit(main())
