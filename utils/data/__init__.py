"""Get the CelebAMask-HQ mini dataset onto local disk in the course layout, and verify it.

    python -m utils.data fetch SOURCE --out DIR        # Drive id/URL, zip, folder or 'synthetic'
    python -m utils.data convert SRC --out DIR         # build it from the full CelebAMask-HQ release
    python -m utils.data check DIR [--expect 5000,1000,1000]
    python -m utils.data fix-rgb MASK_DIR --out DIR    # colour (RGB) masks -> palette index masks
    python -m utils.data fetch TRAIN VAL TEST --out DIR --edition 2025   # the 2025-26 zips
    python -m utils.data check DIR --edition 2025 [--expect 1000,100,100]
    python -m utils.data split DIR --work-dir DIR      # 2025-26: the holdout carved from train (split.json)

One module per job: ``fetch`` (Drive, zip, folder, synthetic), ``unpack`` (safe extraction, finding the
split folders), ``convert`` (from the full release), ``check``
(reads only), ``fix_rgb``, ``split`` (the 2025-26 holdout), ``archive`` (the copy kept on Google Drive for every
notebook's runtime), ``__main__`` (the command).
Nothing here ever deletes or overwrites a user's file: new data is assembled in a temporary folder next
to the target and moved into place only when complete; ``check`` only reads. The staging folders of a
killed run (``.<name>.fetch-XXXXXXXX`` and the like, marked with the process that made them) are removed,
and reported with their size, by the next run of the same kind into the same parent folder.
Zips are checked before anything is written (unsafe paths, links, duplicate entries, zip-bomb ratios,
free space); a damaged or truncated zip is named with the fix. A folder source may hold symbolic links
only to files inside it (followed, with a warning); links pointing outside it are refused.
"""
from utils.data.check import CheckReport, check_dataset
from utils.data.common import (EXPECTED_COUNTS, SYNTHETIC_DEFAULTS, SYNTHETIC_FULL, DataError, dataset_counts,
                               is_dataset)
from utils.data.convert import PARTS, combine_parts, convert, find_release, index_parts, resolve_split
from utils.data.fetch import download_drive_file, fetch, fetch_sources, parse_drive_source, split_sources
from utils.data.fix_rgb import fix_rgb_masks
from utils.data.split import make_holdout, read_split, write_split
from utils.data.unpack import locate_dataset, safe_extract

__all__ = ['CheckReport', 'check_dataset', 'EXPECTED_COUNTS', 'SYNTHETIC_DEFAULTS', 'SYNTHETIC_FULL', 'DataError',
           'dataset_counts', 'is_dataset', 'PARTS', 'combine_parts', 'convert', 'find_release', 'index_parts',
           'resolve_split', 'download_drive_file', 'fetch', 'parse_drive_source', 'fix_rgb_masks',
           'locate_dataset', 'safe_extract', 'fetch_sources', 'split_sources', 'make_holdout', 'read_split',
           'write_split']
