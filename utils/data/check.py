"""Verify a dataset folder without modifying it: counts, pairing, decoding, mask format and values, sizes, overlap.

Under the 2025-26 rules (``edition='2025'``) it also checks the file names (32 hex digits, the same stem for an
image and its mask), that every file is 512x512, names masks that were saved as luminance (a palette mask passed
through ``.convert('L')``), and says whether val came with masks (2025) or without (2026): both are fine.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageFile

from utils.base.imageio import exif_orientation
from utils.base.labels import NUM_CLASSES, PALETTE
from utils.base.layout import IMAGE_SUFFIXES, LAYOUT, SPLITS, image_dir, list_files, mask_dir, natural_key
from utils.base.parallel import default_workers
from utils.base.report import FAIL, PASS, WARN, Check, Report, check_files
from utils.data.common import EXPECTED_COUNTS, HEX_STEM, DataError, expected_counts, progress_bar
from utils.data.unpack import locate_dataset


@dataclass
class CheckReport(Report):
    """Result of :func:`check_dataset`: ``.ok``, ``.results``, ``.counts``; ``.to_frame()`` for a table."""

    root: Path
    results: list[Check]
    counts: dict[str, dict[str, int]]
    sizes: dict[str, int]
    seconds: float
    fail_note: ClassVar[str] = ' (nothing was modified)'

    def counts_frame(self):
        """Images / masks per split (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.counts).T

    def _heading(self) -> list[str]:
        return [f'dataset check: {self.root}',
                '  ' + ', '.join(f'{s}: {c.get("images", 0)} images / {c.get("masks", 0)} masks'
                                 for s, c in self.counts.items())]

    def _html_heading(self) -> str:
        return f'{self.root} ({self.seconds:.1f} s)'


def _scan_image(path: str) -> dict:
    """Fully decode one image: size, mode, error, hash of the file bytes."""
    rec: dict[str, Any] = {'path': path}
    try:
        with open(path, 'rb') as f:
            data = f.read()
        rec['hash'] = hashlib.blake2b(data, digest_size=16).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            rec['size'], rec['mode'], rec['format'] = im.size, im.mode, im.format
            rec['orientation'] = exif_orientation(im)
            im.load()
    except Exception as e:  # any decode failure is a finding, not a crash
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def _scan_mask(path: str) -> dict:
    """Decode one mask: size, mode, max value, and the out-of-range values / colours when relevant."""
    rec: dict[str, Any] = {'path': path}
    try:
        with Image.open(path) as m:
            rec['size'], rec['mode'] = m.size, m.mode
            m.load()
            if m.mode in ('P', 'L'):
                a = np.asarray(m)
                top = int(a.max())
                rec['max'] = top
                if top >= NUM_CLASSES:
                    rec['values'] = np.flatnonzero(np.bincount(a.ravel(), minlength=256)).tolist()
                    rec['luminance'] = m.mode == 'L' and set(rec['values']) <= _LUMINANCE
            elif m.mode in ('RGB', 'RGBA'):
                a = np.asarray(m.convert('RGB')).reshape(-1, 3).astype(np.int32)
                codes = np.unique((a[:, 0] << 16) | (a[:, 1] << 8) | a[:, 2])
                pal = {(r << 16) | (g << 8) | b for r, g, b in PALETTE}
                rec['n_colours'] = len(codes)
                rec['palette_colours'] = bool(all(int(c) in pal for c in codes))
                grey = bool(np.all(a[:, 0] == a[:, 1]) and np.all(a[:, 1] == a[:, 2]))
                rec['grey_max'] = int(a[:, 0].max()) if grey else None
            else:
                a = np.asarray(m)
                rec['max'] = int(a.max()) if a.size else 0
    except Exception as e:
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def _palette_grey_levels() -> set[int]:
    """The grey levels that ``.convert('L')`` gives the course palette's colours (Pillow's ITU-R 601-2 luma): a
    mask holding only these is a palette mask saved as a picture, not as class ids."""
    strip = Image.new('RGB', (len(PALETTE), 1))
    strip.putdata([tuple(c) for c in PALETTE])
    return set(np.asarray(strip.convert('L')).ravel().tolist())


_LUMINANCE = _palette_grey_levels()


def _scan_chunk(jobs: list[tuple[str, str]]) -> list[dict]:
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, not be padded with grey
    try:
        return [_scan_image(p) if kind == 'image' else _scan_mask(p) for kind, p in jobs]
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def _scan_all(jobs: list[tuple[str, str]], workers: int | None, progress: bool) -> list[dict]:
    n_workers = default_workers(len(jobs), workers)
    chunk = 64
    chunks = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    bar = progress_bar(len(jobs), 'check', progress and bool(jobs))
    out: list[dict] = []
    if n_workers > 1:
        with ProcessPoolExecutor(n_workers) as pool:
            for recs in pool.map(_scan_chunk, chunks):
                out += recs
                bar.update(len(recs))
    else:
        for c in chunks:
            out += _scan_chunk(c)
            bar.update(len(c))
    bar.close()
    return out


def _parse_expect(expect: Any) -> dict[str, int] | None:
    """``{split: count}`` from 'none', '5000,1000,1000', three numbers or a mapping; DataError naming ``expect``."""
    shown = expect
    if expect is None or expect is False:
        return None
    if isinstance(expect, str):
        if expect.strip().lower() in ('none', 'no', 'off', ''):
            return None
        expect = expect.split(',')
    try:
        out = ({k: int(v) for k, v in expect.items()} if isinstance(expect, Mapping)
               else dict(zip(SPLITS, map(int, expect))) if len(list(expect)) == 3 else None)
    except (TypeError, ValueError):
        out = None
    if out is None or any(v < 0 for v in out.values()) or not set(out) <= set(SPLITS):
        raise DataError(f'--expect {shown!r}: give three counts of at least 0, train,val,test (e.g. 5000,1000,1000), '
                        'or none.')
    return out


def check_dataset(root: str | os.PathLike, expect: Any = EXPECTED_COUNTS, workers: int | None = None,
                  progress: bool = True, *, edition: str | None = None, size: int | str | None = 'auto') -> CheckReport:
    """Verify the dataset at ``root`` without modifying anything; returns a :class:`CheckReport`.

    Checks folders, counts (against ``expect``, a warning only; None to skip), image/mask pairs,
    duplicate names, full decoding of every image, mask format (single-channel) and values (0..18),
    sizes, and identical images in two splits. Runs in a process pool (``workers``; 0 = inline).
    Each check is a small function below that returns its :class:`Check` lines.
    ``edition='2025'``: the 2025-26 counts by default, val masks optional, file names of 32 hex digits,
    luminance masks named, and every file ``size`` x ``size`` (``'auto'``: 512 under 2025; None: any size).
    """
    t0 = time.perf_counter()
    new = edition == '2025'
    if new and expect is EXPECTED_COUNTS:
        expect = expected_counts(edition)
    want = (512 if new else None) if size == 'auto' else size
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f'{root} does not exist. Fetch the data first: python -m utils.data fetch SOURCE --out {root}')
    if not root.is_dir():
        raise DataError(f'{root} is a file, not the dataset folder; if it is the zip, run '
                        f'`python -m utils.data fetch {root} --out DIR`.')
    expected = _parse_expect(expect)
    folders = [image_dir(root, s) for s in SPLITS] + [mask_dir(root, s) for s in ('train', 'val')
                                                      if not (new and s == 'val' and not mask_dir(root, s).exists())]
    missing = [f for f in folders if not f.is_dir()]
    results = [_check_folders(root, folders, missing)]
    listing, names_checks = _list_names(root)
    counts = {s: {'images': len(listing.get((s, 'image'), [])), 'masks': len(listing.get((s, 'mask'), []))}
              for s in SPLITS}
    if not any(listing.values()):  # nothing to look at: the other checks would only pass vacuously
        if not missing:
            results[0] = Check('folders', FAIL, 'split folders present but hold no images or masks',
                               [_rel(root, f) + '/' for f in folders], 'the unzip or copy did not complete: '
                               'fetch the data again: python -m utils.data fetch SOURCE --out NEW_DIR.')
        return CheckReport(root, results, counts, {}, time.perf_counter() - t0)
    results += names_checks
    results.append(_check_counts(root, listing, counts, expected))
    results.append(_check_pairs(root, listing))
    if new:
        results += [_check_stems(root, listing), _check_val_masks(root, counts)]
    jobs = [(role, str((image_dir if role == 'image' else mask_dir)(root, s) / n))
            for (s, role), names in listing.items() for n in names]
    found = _Findings.collect(root, listing, {r['path']: r for r in _scan_all(jobs, workers, progress)}, want,
                              new)
    results += found.checks(sum(counts[s]['images'] for s in SPLITS))
    return CheckReport(root, results, counts, dict(found.sizes), time.perf_counter() - t0)


def _rel(root: Path, path: str | os.PathLike) -> str:
    return os.path.relpath(path, root)


def _check_folders(root: Path, folders: list[Path], missing: list[Path]) -> Check:
    """Every split folder of the course layout is there; else where the data seems to be instead."""
    if not missing:
        return Check('folders', PASS, 'all split folders present')
    hint = ''
    if not any(root.iterdir()):
        summary = f'{root} is empty'
        hint = f'Fetch the data: python -m utils.data fetch SOURCE --out {root}. '
    else:
        summary = f'{len(missing)} of {len(folders)} folders missing'
        try:
            layout = locate_dataset(root)
            hint = (f'The data seems to be under {os.path.relpath(layout["train_image"].folder.parent, root)}'
                    f' with other folder names: run `python -m utils.data fetch {root} --out NEW_DIR` to '
                    'copy it into the course layout. ')
        except DataError:
            pass
    return Check('folders', FAIL, summary, [_rel(root, f) + '/' for f in missing], hint + f'Expected {LAYOUT}.')


def _list_names(root: Path) -> tuple[dict[tuple[str, str], list[str]], list[Check]]:
    """``{(split, 'image'|'mask'): usable names}`` and the checks on names: one file per name, .jpg / .png."""
    listing: dict[tuple[str, str], list[str]] = {}
    dup_files: list[str] = []
    bad_suffix: list[str] = []
    for split in SPLITS:
        for role, folder in (('image', image_dir(root, split)), ('mask', mask_dir(root, split))):
            if not folder.is_dir():
                continue
            names = list_files(folder)
            canon = '.jpg' if role == 'image' else '.png'
            usable = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
            by_stem: dict[str, list[str]] = defaultdict(list)
            for n in usable:
                by_stem[os.path.splitext(n)[0]].append(n)
            dup_files += [' + '.join(_rel(root, folder / g) for g in group) for group in by_stem.values()
                          if len(group) > 1]
            bad_suffix += [_rel(root, folder / n) for n in names if not n.endswith(canon)]
            listing[(split, role)] = usable
    return listing, [
        check_files('duplicate names', dup_files, 'one file per name', '{n} names used by several files',
                    'keep one file per image (e.g. remove 1.JPG when 1.jpg exists).'),
        check_files('file names', bad_suffix, 'images .jpg, masks .png', '{n} files are not .jpg images / .png masks',
                    'the loader reads only N.jpg images and N.png masks: rename .jpeg/.JPG files, '
                    'remove other files (`fetch` does both in a new copy).')]


def _check_counts(root: Path, listing: dict, counts: dict, expected: dict[str, int] | None) -> Check:
    """No empty split; the course's counts when ``expected`` (a warning only: synthetic data differs)."""
    count_txt = ', '.join(f'{s} {counts[s]["images"]}' for s in SPLITS)
    empty = [_rel(root, image_dir(root, s)) + '/' for s in SPLITS
             if (s, 'image') in listing and counts[s]['images'] == 0]
    if empty:
        return Check('counts', FAIL, f'{count_txt} images: a split is empty', empty,
                     'the copy or unzip did not complete: fetch the dataset again into a new folder.')
    if expected and any(counts[s]['images'] != expected.get(s, counts[s]['images']) for s in SPLITS):
        return Check('counts', WARN, f'{count_txt} images; expected ' + '/'.join(str(expected.get(s, '?'))
                                                                                for s in SPLITS),
                     [], 'fine for synthetic or subset data (use expect=None / --expect none); for the real '
                     'dataset re-fetch it: a short count means an incomplete download or unzip.')
    return Check('counts', PASS, f'{count_txt} images')


def _check_pairs(root: Path, listing: dict) -> Check:
    """Every image has its mask and every mask its image, split by split."""
    unpaired: list[str] = []
    for split in SPLITS:
        if (split, 'image') not in listing or (split, 'mask') not in listing:
            continue
        imgs = {os.path.splitext(n)[0]: n for n in listing[(split, 'image')]}
        msks = {os.path.splitext(n)[0]: n for n in listing[(split, 'mask')]}
        unpaired += [f'{_rel(root, image_dir(root, split) / imgs[s])}: no mask {split}/{split}_mask/{s}.png'
                     for s in sorted(set(imgs) - set(msks), key=natural_key)]
        unpaired += [f'{_rel(root, mask_dir(root, split) / msks[s])}: no image {split}/{split}_image/{s}.jpg'
                     for s in sorted(set(msks) - set(imgs), key=natural_key)]
    return check_files('pairs', unpaired, 'every image has its mask and vice versa',
                       '{n} images or masks without their partner',
                       'the data is incomplete (interrupted copy or unzip): fetch it again into a new folder.')


def _hex_key(stem: str) -> str | None:
    """The 32 hex digits inside a stem (lower case), e.g. of ``0A4F...EE2_mask``; None when there are none."""
    m = re.search(r'[0-9A-Fa-f]{32}', stem)
    return m.group(0).lower() if m else None


def _check_stems(root: Path, listing: dict) -> Check:
    """2025-26 names: 32 hex digits, and an image and its mask under one stem (not ``<stem>_mask.png``, ``ABC..``)."""
    bad: list[str] = []
    for split in SPLITS:
        imgs = {os.path.splitext(n)[0]: n for n in listing.get((split, 'image'), [])}
        msks = {os.path.splitext(n)[0]: n for n in listing.get((split, 'mask'), [])}
        by_key = {_hex_key(s): s for s in sorted(set(msks) - set(imgs)) if _hex_key(s)}
        matched = {s: by_key[_hex_key(s)] for s in sorted(set(imgs) - set(msks)) if _hex_key(s) in by_key}
        bad += [f'{_rel(root, image_dir(root, split) / imgs[s])} and {_rel(root, mask_dir(root, split) / msks[m])}: '
                f'one face, two stems (rename the mask to {s}.png)' for s, m in matched.items()]
        paired = set(matched) | set(matched.values())
        for role, names, folder in (('image', imgs, image_dir(root, split)), ('mask', msks, mask_dir(root, split))):
            bad += [f'{_rel(root, folder / n)}: stem is not 32 hex digits' for s, n in names.items()
                    if s not in paired and not HEX_STEM.match(s)]
    return check_files('stems', bad, 'every name is 32 hex digits, image and mask alike',
                       '{n} files are not named like the course\'s (32 hex digits, one stem per pair)',
                       'the course names every file by 32 hex digits (e.g. 0a4fdac4e7f448718c42f34a5422aee2.jpg + '
                       '.png): rename the files so that each mask carries its image\'s stem, or fetch the course\'s '
                       'zips again (python -m utils.data fetch train.zip val.zip test.zip --out DIR --edition 2025).')


def _check_val_masks(root: Path, counts: dict) -> Check:
    """2025-26: val with masks (the 2025 copy) or without (2026) are both fine; say which."""
    n_img, n_mask = counts['val']['images'], counts['val']['masks']
    if not mask_dir(root, 'val').exists():
        return Check('val masks', PASS, f'val: {n_img} images without masks (as in 2026): the run scores itself on '
                     'a holdout carved from train')
    return Check('val masks', PASS, f'val: {n_img} images with {n_mask} masks (as in the 2025 copy); the run still '
                 'scores itself on a holdout carved from train, as it would in 2026')


@dataclass
class _Findings:
    """What decoding every file found, sorted by kind; :meth:`checks` turns it into report lines."""

    img_err: list[str] = field(default_factory=list)
    img_mode: list[str] = field(default_factory=list)
    img_oriented: list[str] = field(default_factory=list)
    mask_err: list[str] = field(default_factory=list)
    mask_rgb: list[str] = field(default_factory=list)
    mask_bin: list[str] = field(default_factory=list)
    mask_range: list[str] = field(default_factory=list)
    size_bad: list[str] = field(default_factory=list)
    mask_lum: list[str] = field(default_factory=list)
    size_off: list[str] = field(default_factory=list)
    want: int | None = None
    new: bool = False  # the 2025-26 rules: luminance masks named as such
    sizes: Counter = field(default_factory=Counter)
    hashes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def collect(cls, root: Path, listing: dict, recs: dict[str, dict], want: int | None = None,
                new: bool = False) -> '_Findings':
        found = cls(want=want, new=new)
        for (split, role), names in listing.items():
            folder = image_dir(root, split) if role == 'image' else mask_dir(root, split)
            for n in names:
                if role == 'image':
                    found._image(root, split, n, recs[str(folder / n)], recs)
                else:
                    found._mask(_rel(root, folder / n), recs[str(folder / n)])
                r = recs[str(folder / n)]
                if want and 'size' in r and tuple(r['size']) != (want, want):
                    found.size_off.append(f'{_rel(root, folder / n)} is {r["size"][0]}x{r["size"][1]}, '
                                          f'not {want}x{want}')
        return found

    def _image(self, root: Path, split: str, n: str, r: dict, recs: dict[str, dict]) -> None:
        f = _rel(root, image_dir(root, split) / n)
        if 'error' in r:
            self.img_err.append(f'{f}: {r["error"]}')
            return
        self.sizes['x'.join(map(str, r['size']))] += 1
        self.hashes[r['hash']].append(f)
        if r.get('orientation'):
            self.img_oriented.append(f'{f}: EXIF orientation {r["orientation"]}')
        if r['mode'] != 'RGB':
            self.img_mode.append(f'{f}: mode {r["mode"]}')
        mr = recs.get(str(mask_dir(root, split) / (os.path.splitext(n)[0] + '.png')))
        if mr is not None and 'size' in mr and tuple(mr['size']) != tuple(r['size']):
            self.size_bad.append(f'{f} is {r["size"][0]}x{r["size"][1]} but its mask is '
                                 f'{mr["size"][0]}x{mr["size"][1]}')

    def _mask(self, f: str, r: dict) -> None:
        if 'error' in r:
            self.mask_err.append(f'{f}: {r["error"]}')
        elif r['mode'] in ('RGB', 'RGBA'):
            if r.get('grey_max') is not None and r['grey_max'] < NUM_CLASSES:
                self.mask_rgb.append(f'{f}: {r["mode"]} grey, values are labels (convert to one channel)')
            else:
                kind = 'CelebAMask palette colours' if r.get('palette_colours') else f'{r["n_colours"]} colours'
                self.mask_rgb.append(f'{f}: {r["mode"]}, {kind}')
        elif r['mode'] not in ('P', 'L'):
            self.mask_rgb.append(f'{f}: mode {r["mode"]} (not 8-bit)')
        elif r['max'] >= NUM_CLASSES:
            vals = r['values']
            if self.new and r.get('luminance'):  # the 2025-26 check names this case (values 0..226)
                self.mask_lum.append(f'{f}: mode L, values {vals[:6]}{" ..." if len(vals) > 6 else ""} are the '
                                     'palette colours\' grey levels')
            elif set(vals) <= {0, 255}:
                self.mask_bin.append(f'{f}: values {vals}')
            else:
                bad = [v for v in vals if v >= NUM_CLASSES]
                self.mask_range.append(f'{f}: values {bad[:8]}{" ..." if len(bad) > 8 else ""} > 18')

    def checks(self, n_images: int) -> list[Check]:
        out = [check_files('images decode', self.img_err, f'{n_images} images decode fully',
                           '{n} images cannot be fully decoded', 'truncated or corrupt files come from an '
                           'interrupted copy, download or unzip: fetch the dataset again into a new folder.')]
        if self.img_mode:
            out.append(Check('image mode', WARN, f'{len(self.img_mode)} images are not RGB', self.img_mode,
                             'they are converted to RGB when loaded; re-save as RGB JPGs to be safe.'))
        if self.img_oriented:  # utils.base.imageio reads every image as stored, so its mask still matches
            out.append(Check('image orientation', WARN, f'{len(self.img_oriented)} images carry an EXIF orientation '
                             'tag', self.img_oriented, 'they are read as stored (the tag is ignored everywhere, so '
                             'each still matches its mask); a viewer shows them rotated. Nothing to do unless the '
                             'stored pixels are the wrong way up.'))
        return out + [self._mask_format(), self._mask_values(), self._sizes(), self._overlap()]

    def _mask_format(self) -> Check:
        files = self.mask_err + self.mask_rgb
        fix = []
        if self.mask_rgb:
            fix.append('masks saved as colours (RGB): convert them with `python -m utils.data fix-rgb MASK_DIR '
                       '--out NEW_DIR`, or re-export them as 8-bit palette PNGs whose indices are the labels '
                       '(utils.core.synthetic.save_mask)')
        if self.mask_err:
            fix.append('unreadable masks come from an interrupted copy or unzip: fetch the dataset again')
        return Check('mask format', FAIL if files else PASS,
                     (f'{len(self.mask_rgb)} masks are not single-channel, {len(self.mask_err)} unreadable'
                      if files else 'all masks single-channel (palette or grayscale)'),
                     files, '; '.join(fix) + ('.' if fix else ''))

    def _mask_values(self) -> Check:
        files = self.mask_lum + self.mask_bin + self.mask_range
        fix = []
        if self.mask_lum:
            fix.append("masks saved as grey levels (a palette mask converted with .convert('L') keeps the colours' "
                       'luminance, not the class ids): fetch the original palette PNGs again; read a mask with '
                       'np.array(Image.open(path)), never .convert(\'L\')')
        if self.mask_bin:
            fix.append('0/255 masks are binary (one part per file, like the full release): build label maps '
                       'with `python -m utils.data convert`')
        if self.mask_range:
            fix.append('labels must be 0..18 (class indices, not colours or 255 = ignore): re-export the masks '
                       'from label arrays with values 0..18')
        lum = f'{len(self.mask_lum)} luminance masks, ' if self.mask_lum else ''
        return Check('mask values', FAIL if files else PASS,
                     (f'{lum}{len(self.mask_bin)} binary 0/255 masks, {len(self.mask_range)} with values > 18'
                      if files else 'all values in 0..18'),
                     files, '; '.join(fix) + ('.' if fix else ''))

    def _sizes(self) -> Check:
        size_txt = ', '.join(f'{k} ({v})' for k, v in self.sizes.most_common(3)) or 'none'
        if self.size_off:
            return Check('sizes', FAIL, f'{len(self.size_off)} files are not {self.want}x{self.want}',
                         self.size_off + self.size_bad,
                         f'the course\'s images and masks are all {self.want}x{self.want}, and the leaderboard wants '
                         'masks of that size: fetch the original files again instead of a resized copy (synthetic '
                         'smoke faces are smaller: check them with --size 64 / size=64).')
        if self.size_bad:
            return Check('sizes', FAIL, f'{len(self.size_bad)} image/mask pairs differ in size', self.size_bad,
                         'a mask must have the size of its image: re-export or re-fetch those pairs.')
        if len(self.sizes) > 1:
            return Check('sizes', WARN, f'several image sizes: {size_txt}', [],
                         'images are resized by the pipeline; the course data is all 512x512.')
        return Check('sizes', PASS, f'images and masks match: {size_txt}')

    def _overlap(self) -> Check:
        cross, within = [], []
        for files in self.hashes.values():
            if len(files) > 1:
                split_of = {f.split(os.sep)[0] for f in files}
                (cross if len(split_of) > 1 else within).append(' = '.join(files))
        if cross:
            return Check('split overlap', FAIL, f'{len(cross)} images appear in two splits', cross,
                         'the same image in train and val/test inflates the scores: remove it from one '
                         'split (keep the official split when in doubt).')
        if within:
            return Check('split overlap', WARN, f'no overlap between splits; {len(within)} duplicate '
                         'images within a split', within, 'harmless for training, but check the source.')
        return Check('split overlap', PASS, 'no image in two splits')
