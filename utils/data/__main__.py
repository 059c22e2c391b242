"""``python -m utils.data``: fetch, convert, check, fix-rgb, split."""
from __future__ import annotations

import argparse
import sys
import warnings

from utils.base.report import cli_error, nonnegative_int, positive_int
from utils.data.check import check_dataset
from utils.data.common import SYNTHETIC_2025_FULL, SYNTHETIC_FULL, expected_counts
from utils.data.convert import convert
from utils.data.fetch import fetch, fetch_sources
from utils.data.fix_rgb import fix_rgb_masks

USAGE = """Get the CelebAMask-HQ mini dataset onto local disk in the course layout, and verify it.

    python -m utils.data fetch SOURCE --out DIR        # Drive id/URL, zip, folder or 'synthetic'
    python -m utils.data convert SRC --out DIR         # build it from the full CelebAMask-HQ release
    python -m utils.data check DIR [--expect 5000,1000,1000]
    python -m utils.data fix-rgb MASK_DIR --out DIR    # colour (RGB) masks -> palette index masks
    python -m utils.data fetch TRAIN VAL TEST --out DIR --edition 2025   # the 2025-26 zips (links, ids, paths)
    python -m utils.data check DIR --edition 2025 [--expect 1000,100,100] [--size 512|none]
    python -m utils.data split DIR --work-dir DIR [--n 100] [--seed 0]    # the 2025-26 holdout (split.json)
"""


def _three(text: str, minimum: int) -> tuple[int, ...]:
    try:
        vals = tuple(int(x) for x in text.split(','))
    except ValueError:
        vals = ()
    if len(vals) != 3 or any(v < minimum for v in vals):
        raise argparse.ArgumentTypeError(f'{text!r}: give three comma-separated whole numbers of at least {minimum}, '
                                         'train,val,test, e.g. 5000,1000,1000')
    return vals


def counts_arg(text: str) -> tuple[int, ...]:
    """argparse type: train,val,test image counts, each at least 1."""
    return _three(text, 1)


def expect_arg(text: str) -> tuple[int, ...] | None:
    """argparse type: expected train,val,test counts (each at least 0), or 'none' to skip the count check."""
    if text.strip().lower() in ('none', 'no', 'off', ''):
        return None
    return _three(text, 0)


def _split_arg(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(','))
    except ValueError:
        vals = ()
    if len(vals) != 3 or any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError(f'{text!r}: expected three numbers of at least 0, e.g. 5000,1000,1000 or '
                                         '0.7,0.15,0.15')
    return tuple(int(v) if v.is_integer() and v > 1 else v for v in vals)


def _size_arg(text: str):
    """argparse type: a side in pixels, or 'none'."""
    if text.strip().lower() in ('none', 'no', 'off', 'any'):
        return None
    return positive_int(text)


def _fetch(args, progress: bool) -> None:
    size, counts = args.size, args.counts
    if args.full:
        full = SYNTHETIC_2025_FULL if args.edition == '2025' else SYNTHETIC_FULL
        size = full['size'] if size is None else size
        counts = full['counts'] if counts is None else counts
    if args.edition == '2022' and len(args.source) == 1:
        fetch(args.source[0], args.out, size=size, counts=counts, download_dir=args.download_dir, progress=progress)
    else:
        fetch_sources(args.source, args.out, args.edition, size=size, counts=counts, download_dir=args.download_dir,
                      progress=progress)


def _split(args) -> None:
    from utils.data.split import describe, holdout_size, make_holdout, train_pairs, write_split

    n = args.n or holdout_size(len(train_pairs(args.root)))
    split = make_holdout(args.root, n=n, seed=args.seed)
    print(f'wrote {write_split(split, args.work_dir)}: {describe(split, args.root)}')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m utils.data', description=USAGE.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(USAGE.splitlines()[1:]))
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    sub = p.add_subparsers(dest='cmd', required=True)

    f = sub.add_parser('fetch', help='download/unzip/copy the dataset into the course layout (once)')
    f.add_argument('source', nargs='+', help="Google Drive file id or share URL, a zip or folder path, or "
                   "'synthetic'; under --edition 2025 up to three (train.zip val.zip test.zip, in that order when "
                   "their names do not say) or one folder or zip holding them")
    f.add_argument('--edition', choices=('2022', '2025'), default='2022',
                   help='the course edition whose data this is (default 2022)')
    f.add_argument('--out', required=True, help='dataset folder to create, on local disk (e.g. /content/data)')
    f.add_argument('--size', type=positive_int, default=None, help='synthetic only: image size (default 64)')
    f.add_argument('--counts', type=counts_arg, default=None,
                   help='synthetic only: train,val,test (default 40,12,12; 2025: 40,8,8)')
    f.add_argument('--full', action='store_true', help='synthetic only: course size, 512 px and 5000,1000,1000 '
                   '(2025: 1000,100,100)')
    f.add_argument('--download-dir', default=None, help='where the Drive zip is kept (default: next to --out)')
    f.add_argument('--quiet', action='store_true', help='no progress bars')

    c = sub.add_parser('convert', help='build the course layout from the full CelebAMask-HQ release')
    c.add_argument('src', help='folder holding CelebA-HQ-img and CelebAMask-HQ-mask-anno')
    c.add_argument('--out', required=True, help='new dataset folder')
    c.add_argument('--split-file', default=None, help='JSON {"train": [ids], ...} or lines "<id> <split>"')
    c.add_argument('--split', type=_split_arg, default=None,
                   help='counts (5000,1000,1000) or ratios (0.7,0.15,0.15); default: course sizes')
    c.add_argument('--seed', type=int, default=0, help='shuffle seed for counts/ratios')
    c.add_argument('--size', type=positive_int, default=512, help='output size in pixels (default 512)')
    c.add_argument('--workers', type=nonnegative_int, default=None, help='processes (default: auto; 0 = inline)')
    c.add_argument('--quiet', action='store_true', help='no progress bars')

    k = sub.add_parser('check', help='verify a dataset folder (reads only; exit code 1 on failure)')
    k.add_argument('root', help='dataset folder in the course layout')
    k.add_argument('--expect', type=expect_arg, default=argparse.SUPPRESS,
                   help="expected train,val,test image counts, a warning only (default the edition's: 5000,1000,1000 "
                   "or 1000,100,100; 'none')")
    k.add_argument('--edition', choices=('2022', '2025'), default='2022',
                   help='2025: val masks optional, 32-hex-digit names, every file 512x512 (see --size)')
    k.add_argument('--size', type=_size_arg, default=argparse.SUPPRESS,
                   help="2025: the side every image and mask must have (default 512; 'none' for any; synthetic "
                   "smoke faces: 64)")
    k.add_argument('--workers', type=nonnegative_int, default=None, help='processes (default: auto; 0 = inline)')
    k.add_argument('--max-files', type=positive_int, default=5, help='files listed per problem')
    k.add_argument('--quiet', action='store_true', help='no progress bar')

    x = sub.add_parser('fix-rgb', help='convert colour (RGB) masks into palette index masks in a new folder')
    x.add_argument('mask_dir', help='folder of RGB masks')
    x.add_argument('--out', required=True, help='new folder for the converted masks')
    x.add_argument('--quiet', action='store_true', help='no progress bar')
    s = sub.add_parser('split', help='make the 2025-26 holdout and write it to WORK_DIR/split.json')
    s.add_argument('root', help='dataset folder in the course layout')
    s.add_argument('--work-dir', required=True, help='the training run\'s work_dir')
    s.add_argument('--n', type=positive_int, default=None, help='holdout pairs (default 100, or 10%% of a small set)')
    s.add_argument('--seed', type=nonnegative_int, default=0, help='shuffle seed (default 0)')
    s.add_argument('--quiet', action='store_true', help=argparse.SUPPRESS)
    for sp in (f, c, k, x, s):  # --debug also after the command; SUPPRESS keeps a --debug given before it
        sp.add_argument('--debug', action='store_true', default=argparse.SUPPRESS, help='show full tracebacks')
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 check failed, 2 error)."""
    args = build_parser().parse_args(argv)
    progress = not args.quiet
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('always')
            warnings.showwarning = lambda msg, *a, **k: print(f'warning: {msg}', file=sys.stderr)
            if args.cmd == 'fetch':
                _fetch(args, progress)
            elif args.cmd == 'convert':
                convert(args.src, args.out, args.split_file or args.split, size=args.size, seed=args.seed,
                        workers=args.workers, progress=progress)
            elif args.cmd == 'check':
                expect = getattr(args, 'expect', expected_counts(args.edition))
                report = check_dataset(args.root, expect=expect, workers=args.workers, progress=progress,
                                       edition=args.edition, size=getattr(args, 'size', 'auto'))
                print(report.format(max_files=args.max_files))
                return 0 if report.ok else 1
            elif args.cmd == 'fix-rgb':
                fix_rgb_masks(args.mask_dir, args.out, progress=progress)
            elif args.cmd == 'split':
                _split(args)
    except KeyboardInterrupt:
        print('interrupted; nothing half-written was left at the target.', file=sys.stderr)
        return 130
    except Exception as e:  # the CLI names the problem instead of dumping a traceback
        return cli_error(e, debug=args.debug)
    return 0


if __name__ == '__main__':
    sys.exit(main())
