"""Synthetic face-parsing data in the course layout: cartoon faces with all 19 CelebAMask classes.

Left and right parts (eyes, brows, ears) share colour and shape and differ only by their side
of the face, so a model must use position to tell them apart, as on real faces. Every sample is a
pure function of ``(seed, split, index)``, so any subset can be regenerated bit for bit.
In the 2025-26 layout (``edition='2025'``) the files are named by 32 hex digits, as the course's are, val has no
masks (as in 2026) and every small set holds each rare class (eyeglasses, hat, earring, necklace).

    python -m utils.core.synthetic --out data/synthetic --train 40 --val 12 --test 12 --size 64
    python -m utils.core.synthetic --out data/synthetic-2025 --edition 2025 --train 40 --val 8 --test 8
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from utils.base.labels import CLASSES, pil_palette
from utils.base.layout import SMOKE_SIZE, SPLITS, image_dir, mask_dir
from utils.base.parallel import progress_map
from utils.base.report import cli_error, nonnegative_int, positive_int

L = {name: i for i, name in enumerate(CLASSES)}
_SPLIT_CODE = {'train': 0, 'val': 1, 'test': 2}

# Base colours (RGB) per class; each image jitters them. Left/right pairs share a colour.
_BASE_COLOURS = {
    'skin': (224, 172, 140), 'nose': (196, 132, 104), 'eye_g': (30, 30, 40), 'l_eye': (245, 245, 240),
    'r_eye': (245, 245, 240), 'l_brow': (70, 45, 30), 'r_brow': (70, 45, 30), 'l_ear': (210, 150, 120),
    'r_ear': (210, 150, 120), 'mouth': (90, 20, 30), 'u_lip': (200, 70, 80), 'l_lip': (215, 90, 95),
    'hair': (50, 35, 25), 'hat': (40, 90, 170), 'ear_r': (250, 215, 60), 'neck_l': (230, 230, 235),
    'neck': (200, 145, 115), 'cloth': (60, 120, 80),
}


def _ellipse(draw: ImageDraw.ImageDraw, cx: float, cy: float, rx: float, ry: float, label: int,
             width: int = 0) -> None:
    box = [cx - rx, cy - ry, cx + rx, cy + ry]
    if width:
        draw.ellipse(box, outline=label, width=width)
    else:
        draw.ellipse(box, fill=label)


#: The classes that few faces hold; in the 2025 layout image ``i`` of a split holds ``RARE_ORDER[i % 10]`` for
#: ``i % 10 < 4`` besides its own random draws, so any 4 consecutive images (and so any small set) hold each of them.
RARE_ORDER = ('eye_g', 'hat', 'ear_r', 'neck_l')


def render_face(size: int, rng: np.random.Generator, force: frozenset[str] = frozenset()
                ) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic face: ``(image HxWx3 uint8, mask HxW uint8 with labels 0..18)``.

    ``force``: optional parts (names of :data:`RARE_ORDER`) drawn whatever the dice say; the dice are still
    thrown, so a face drawn without ``force`` is the same as ever.
    """
    s = float(size)
    canvas = Image.new('L', (size, size), L['background'])
    d = ImageDraw.Draw(canvas)
    scale = rng.uniform(0.85, 1.1)
    cx = s * (0.5 + rng.uniform(-0.05, 0.05))
    cy = s * (0.47 + rng.uniform(-0.04, 0.04))
    fx, fy = 0.23 * s * scale, 0.30 * s * scale  # face half-width / half-height
    w = max(1, round(s / 128))  # line width unit

    # back to front: cloth, neck, necklace, hair, face, ears, earrings, features, glasses, hat
    d.rectangle([0, cy + 1.25 * fy, s, s], fill=L['cloth'])
    _ellipse(d, cx, cy + 1.45 * fy, 2.2 * fx, 0.35 * fy, L['cloth'])
    d.rectangle([cx - 0.5 * fx, cy + 0.6 * fy, cx + 0.5 * fx, cy + 1.35 * fy], fill=L['neck'])
    if rng.random() < 0.3 or 'neck_l' in force:
        _ellipse(d, cx, cy + 1.05 * fy, 0.52 * fx, 0.25 * fy, L['neck_l'], width=2 * w)
        d.rectangle([cx - 0.6 * fx, cy + 0.6 * fy, cx + 0.6 * fx, cy + 1.02 * fy], fill=L['neck'])
    long_hair = rng.random() < 0.5
    _ellipse(d, cx, cy - 0.15 * fy, 1.2 * fx, 1.05 * fy, L['hair'])
    if long_hair:
        d.rectangle([cx - 1.2 * fx, cy - 0.1 * fy, cx + 1.2 * fx, cy + 1.3 * fy], fill=L['hair'])
        d.rectangle([cx - 0.5 * fx, cy + 0.6 * fy, cx + 0.5 * fx, cy + 1.3 * fy], fill=L['neck'])
        if 'neck_l' in force:  # long hair hides a necklace: a forced one is worn over it
            _ellipse(d, cx, cy + 1.05 * fy, 0.52 * fx, 0.25 * fy, L['neck_l'], width=2 * w)
            d.rectangle([cx - 0.6 * fx, cy + 0.6 * fy, cx + 0.6 * fx, cy + 1.02 * fy], fill=L['neck'])
    ear_y = cy + 0.05 * fy
    # l_* is the person's left, i.e. the right side of the picture (as in CelebAMask-HQ)
    for label, side in ((L['r_ear'], -1), (L['l_ear'], 1)):
        _ellipse(d, cx + side * 0.98 * fx, ear_y, 0.16 * fx, 0.22 * fy, label)
    _ellipse(d, cx, cy, fx, fy, L['skin'])
    if rng.random() < 0.3 or 'ear_r' in force:
        side = rng.choice([-1, 1])
        _ellipse(d, cx + side * 1.0 * fx, ear_y + 0.3 * fy, 0.07 * fx, 0.07 * fx, L['ear_r'])
    eye_y, eye_dx = cy - 0.12 * fy, 0.42 * fx
    for (eye, brow), side in (((L['r_eye'], L['r_brow']), -1), ((L['l_eye'], L['l_brow']), 1)):
        _ellipse(d, cx + side * eye_dx, eye_y, 0.2 * fx, 0.08 * fy, eye)
        d.rectangle([cx + side * eye_dx - 0.24 * fx, eye_y - 0.25 * fy,
                     cx + side * eye_dx + 0.24 * fx, eye_y - 0.19 * fy], fill=brow)
    d.polygon([(cx, cy - 0.1 * fy), (cx - 0.15 * fx, cy + 0.28 * fy), (cx + 0.15 * fx, cy + 0.28 * fy)],
              fill=L['nose'])
    mouth_y, mw = cy + 0.52 * fy, 0.38 * fx * rng.uniform(0.85, 1.15)
    _ellipse(d, cx, mouth_y - 0.04 * fy, mw, 0.07 * fy, L['u_lip'])
    _ellipse(d, cx, mouth_y + 0.05 * fy, mw * 0.9, 0.08 * fy, L['l_lip'])
    if rng.random() < 0.5:
        _ellipse(d, cx, mouth_y, mw * 0.7, 0.035 * fy, L['mouth'])
    if rng.random() < 0.25 or 'eye_g' in force:
        for side in (-1, 1):
            _ellipse(d, cx + side * eye_dx, eye_y, 0.3 * fx, 0.17 * fy, L['eye_g'], width=2 * w)
        d.line([cx - eye_dx + 0.3 * fx, eye_y, cx + eye_dx - 0.3 * fx, eye_y], fill=L['eye_g'], width=2 * w)
    if rng.random() < 0.2 or 'hat' in force:
        _ellipse(d, cx, cy - 0.75 * fy, 1.25 * fx, 0.45 * fy, L['hat'])
        d.rectangle([cx - 1.25 * fx, cy - 0.75 * fy, cx + 1.25 * fx, cy - 0.55 * fy], fill=L['hat'])

    mask = np.asarray(canvas, dtype=np.uint8)
    colours = np.zeros((256, 3), dtype=np.float32)
    bg = rng.uniform(40, 220, size=3)
    colours[0] = bg
    skin_shift = rng.uniform(-40, 25)
    for name, rgb in _BASE_COLOURS.items():
        jitter = rng.uniform(-18, 18, size=3)
        if name in ('skin', 'nose', 'l_ear', 'r_ear', 'neck'):
            jitter = jitter * 0.3 + skin_shift
        colours[L[name]] = np.clip(np.asarray(rgb) + jitter, 0, 255)
    colours[L['r_eye']] = colours[L['l_eye']]
    colours[L['r_brow']] = colours[L['l_brow']]
    colours[L['r_ear']] = colours[L['l_ear']]
    colours[L['hair']] = rng.uniform(10, 120, size=3) if rng.random() < 0.8 else rng.uniform(150, 230, size=3)
    colours[L['cloth']] = rng.uniform(20, 235, size=3)
    image = colours[mask]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / s
    gx, gy = rng.uniform(-30, 30, size=2)
    image += (gx * (xx - 0.5) + gy * (yy - 0.5))[..., None]  # lighting gradient
    image += rng.normal(0, 8, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def sample(seed: int, split: str, index: int, size: int, edition: str = '2022') -> tuple[np.ndarray, np.ndarray]:
    """The deterministic sample ``index`` of ``split`` (``edition='2025'``: with its rare class, see RARE_ORDER)."""
    force = frozenset({RARE_ORDER[index % 10]}) if edition == '2025' and index % 10 < len(RARE_ORDER) else frozenset()
    return render_face(size, np.random.default_rng([seed, _SPLIT_CODE[split], index]), force)


def hex_stem(seed: int, split: str, index: int) -> str:
    """The 32-hex-digit file name of a 2025-layout sample: a pure function of ``(seed, split, index)``."""
    return hashlib.blake2b(f'celebamask-synthetic/{seed}/{split}/{index}'.encode(), digest_size=16).hexdigest()


def save_mask(mask: np.ndarray, path: str | os.PathLike) -> None:
    """Write a label map as an 8-bit palette PNG (indices = labels, CelebAMask colours)."""
    img = Image.fromarray(np.asarray(mask, dtype=np.uint8), mode='P')
    img.putpalette(pil_palette())
    img.save(path)


def _write_one(args: tuple) -> None:
    root, split, index, size, seed, with_mask, edition = args
    image, mask = sample(seed, split, index, size, edition)
    stem = hex_stem(seed, split, index) if edition == '2025' else str(index)
    Image.fromarray(image).save(image_dir(root, split) / f'{stem}.jpg', quality=95)
    if with_mask:
        save_mask(mask, mask_dir(root, split) / f'{stem}.png')


def make_synthetic_dataset(root: str | os.PathLike, n_train: int = 40, n_val: int = 12, n_test: int = 12,
                           size: int = SMOKE_SIZE, seed: int = 0, with_test_masks: bool = True,
                           workers: int | None = None, progress: bool = True, *, edition: str = '2022',
                           val_masks: bool | None = None) -> Path:
    """Write a synthetic dataset in the course layout under ``root`` and return ``root``.

    ``test/test_mask`` (absent from the real course data) is written when ``with_test_masks``,
    so that a submission built on synthetic data can be scored locally. ``edition='2025'``: 32-hex-digit
    names, each rare class in every tenth image or more, and ``val/val_mask`` only when ``val_masks`` (the
    2026 val set has none; default: the edition's rule).
    """
    from utils.base.edition import rules

    rules(edition)  # an unknown edition is named before anything is written
    val_masks = rules(edition).val_masks if val_masks is None else bool(val_masks)
    root = Path(root)
    counts = dict(zip(SPLITS, (n_train, n_val, n_test)))
    with_mask = {'train': True, 'val': val_masks, 'test': with_test_masks}
    jobs = []
    for split, n in counts.items():
        image_dir(root, split).mkdir(parents=True, exist_ok=True)
        if with_mask[split]:
            mask_dir(root, split).mkdir(parents=True, exist_ok=True)
        jobs += [(root, split, i, size, seed, with_mask[split], str(edition)) for i in range(n)]
    workers = workers if workers is not None else (min(os.cpu_count() or 1, 8) if len(jobs) > 200 else 0)
    progress_map(_write_one, jobs, workers or 0, f'synthetic {size}px', progress, chunksize=32)
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m utils.core.synthetic', description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True, help='dataset root to create (course layout)')
    p.add_argument('--train', type=nonnegative_int, default=40, help='number of train pairs')
    p.add_argument('--val', type=nonnegative_int, default=12, help='number of val pairs')
    p.add_argument('--test', type=nonnegative_int, default=12, help='number of test images')
    p.add_argument('--size', type=positive_int, default=SMOKE_SIZE,
                   help=f'image height and width in pixels (default {SMOKE_SIZE})')
    p.add_argument('--seed', type=nonnegative_int, default=0)
    p.add_argument('--no-test-masks', action='store_true', help='omit test/test_mask (as in the real data)')
    p.add_argument('--edition', choices=('2022', '2025'), default='2022',
                   help='2025: 32-hex-digit names, val without masks (unless --val-masks), rare classes in every set')
    p.add_argument('--val-masks', action=argparse.BooleanOptionalAction, default=None,
                   help="write val/val_mask (default: the edition's rule: 2022 yes, 2025 no)")
    p.add_argument('--workers', type=nonnegative_int, default=None, help='processes (default: auto)')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        root = make_synthetic_dataset(a.out, a.train, a.val, a.test, a.size, a.seed,
                                      with_test_masks=not a.no_test_masks, workers=a.workers,
                                      edition=a.edition, val_masks=a.val_masks)
    except Exception as exc:  # one message; the traceback only with --debug
        return cli_error(exc, debug=a.debug)
    print(f'synthetic dataset written to {root}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
