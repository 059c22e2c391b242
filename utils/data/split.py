"""The holdout of the 2025-26 edition: the val images come without masks, so a run scores itself on pairs it keeps
out of the 1,000 training pairs, written once to its work_dir as ``split.json`` and never changed mid-run.

    python -m utils.data split DATA_ROOT --work-dir DIR [--n 100] [--seed 0]

The per-image F-measure counts a class only in the images that hold it, so the rare classes (eyeglasses, hat,
earring, necklace) decide much of the score: a holdout drawn at random can miss one of them, and then neither the
validation score nor the per-class decoding biases tuned on it say anything about that class.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from utils.base.labels import CLASSES
from utils.base.layout import SPLIT_FILE, DataError, image_dir, list_files, mask_dir, write_json_atomic

#: The classes that few faces hold (label ids 3, 14, 15, 16), rarest first in CelebAMask-HQ.
RARE = ('hat', 'eye_g', 'neck_l', 'ear_r')
RARE_IDS = tuple(CLASSES.index(c) for c in RARE)
#: "A few" holdout images per rare class when the data allows it.
MIN_PER_RARE = 3


class SplitError(DataError):
    """A ``split.json`` (or a request for a holdout) that cannot be used; the message names the file and the fix."""


def holdout_size(n_pairs: int, n: int = 100) -> int:
    """The holdout of a dataset of ``n_pairs`` pairs: ``n`` (100 of the course's 1,000), or 10 % (at least 2) of a
    smaller set such as the smoke runs' synthetic faces."""
    return n if n_pairs >= 10 * n else max(2, n_pairs // 10)


def train_pairs(data_root: str | os.PathLike) -> list[str]:
    """Stems of the training images that have a mask (sorted); a missing image or mask is named."""
    root = Path(data_root)
    imgs = {os.path.splitext(n)[0] for n in list_files(image_dir(root, 'train'), ('.jpg',))}
    masks = {os.path.splitext(n)[0] for n in list_files(mask_dir(root, 'train'), ('.png',))}
    if not imgs or not masks:
        raise SplitError(f'no training pairs under {root} (train/train_image/*.jpg + train/train_mask/*.png): '
                         f'fetch the data first (python -m utils.data fetch SOURCE --out {root} --edition 2025).')
    odd = sorted(imgs ^ masks)
    if odd:
        raise SplitError(f'{len(odd)} training images or masks of {root} have no partner (e.g. {", ".join(odd[:3])}): '
                         f'run `python -m utils.data check {root} --edition 2025` and fetch the data again.')
    return sorted(imgs)


def rare_presence(data_root: str | os.PathLike, stems: list[str]) -> np.ndarray:
    """``(len(stems), len(RARE))`` booleans: which rare classes each training mask holds, counted on the class ids
    the mask stores (a colour or unreadable mask is named with the fix)."""
    from utils.core.stats import count_mask

    folder = mask_dir(data_root, 'train')
    out = np.zeros((len(stems), len(RARE_IDS)), bool)
    for i, stem in enumerate(stems):
        out[i] = count_mask(folder / f'{stem}.png')[list(RARE_IDS)] > 0
    return out


def choose_holdout(presence: np.ndarray, n: int, seed: int = 0) -> list[int]:
    """Indices of the holdout rows; see :func:`make_holdout` for the rule."""
    total, n_cls = presence.shape
    have = presence.sum(axis=0)
    # each class present in k training images: a holdout share (k * n / total, rounded up), at least MIN_PER_RARE,
    # never more than half of its k images, so that training keeps most of every class
    target = np.minimum(np.maximum(np.ceil(have * n / total), MIN_PER_RARE), have // 2).astype(int)
    order = np.random.default_rng(seed).permutation(total)
    chosen: list[int] = []
    taken = np.zeros(total, bool)
    got = np.zeros(n_cls, int)
    for level in range(1, int(target.max(initial=0)) + 1):  # one more image per class a round: all get 1 first
        for c in np.argsort(have, kind='stable'):  # rarest first
            if got[c] >= min(level, target[c]) or len(chosen) >= n:
                continue
            pick = next((i for i in order if not taken[i] and presence[i, c]
                         and np.all(got[presence[i]] < target[presence[i]])), None)
            if pick is not None:
                taken[pick] = True
                chosen.append(int(pick))
                got += presence[pick]
    # the rest at random among the faces without a rare class (any face if those run out)
    plain = [i for i in order if not taken[i] and not presence[i].any()]
    fill = plain + [i for i in order if not taken[i] and presence[i].any()]
    chosen += [int(i) for i in fill[:n - len(chosen)]]
    return chosen


def make_holdout(data_root: str | os.PathLike, n: int = 100, seed: int = 0) -> dict:
    """Carve a seeded holdout of ``n`` pairs out of the training pairs of ``data_root``.

    Returns ``{"edition": "2025", "seed": seed, "train": [stems], "holdout": [stems]}`` (both sorted; together
    every training pair once). The rule: a rare class (eyeglasses, hat, earring, necklace) found in ``k`` training
    masks gets ``min(max(ceil(k * n / N), 3), k // 2)`` holdout images (its share of a random draw rounded up, at
    least 3, never more than half of its images: the training part keeps most of each class; a class in a single
    image stays in training). The classes are served round by round, rarest first (one image each before any
    gets a second), each time with the first face of a seeded shuffle that holds the class and pushes no rare
    class past its count; the rest of the holdout is drawn from the same shuffle among faces without a rare class
    (any face when those run out). Same seed and same files, same split.
    """
    stems = train_pairs(data_root)
    n = int(n)
    if not 1 <= n < len(stems):
        raise SplitError(f'a holdout of {n} pairs cannot be carved from the {len(stems)} training pairs of {data_root}: '
                         f'give 1 <= n < {len(stems)} (holdout_size({len(stems)}) = {holdout_size(len(stems))}).')
    rows = set(choose_holdout(rare_presence(data_root, stems), n, seed))
    return {'edition': '2025', 'seed': int(seed), 'train': [s for i, s in enumerate(stems) if i not in rows],
            'holdout': [s for i, s in enumerate(stems) if i in rows]}


def final_fit_split(split: dict, data_root: str | os.PathLike) -> dict:
    """A final fit's split: every training pair trained on; the holdout kept as the (no longer honest) val set."""
    return {**split, 'train': train_pairs(data_root), 'final_fit': True}


def _problems(split, data_root: str | os.PathLike | None, complete: bool = True) -> list[str]:
    """What is wrong with a split (empty when nothing)."""
    if not isinstance(split, dict):
        return [f'it holds a {type(split).__name__}, not an object with "train" and "holdout"']
    bad = [k for k in ('train', 'holdout') if not isinstance(split.get(k), list)
           or not all(isinstance(s, str) for s in split[k])]
    if bad or not isinstance(split.get('seed'), int) or split.get('edition') != '2025':
        return [f'"edition": "2025", "seed" (a whole number), "train" and "holdout" (lists of file stems) are '
                f'expected; wrong or missing: {", ".join(bad) or "edition/seed"}']
    train, hold = split['train'], split['holdout']
    out = [f'"{k}" names {s!r} twice' for k in ('train', 'holdout') for s in {x for x in split[k]
                                                                            if split[k].count(x) > 1}][:3]
    both = sorted(set(train) & set(hold))
    if both and not split.get('final_fit'):
        out.append(f'{len(both)} stems are in both train and holdout (e.g. {", ".join(both[:3])})')
    if not train or not hold:
        out.append('"train" or "holdout" is empty')
    if data_root is not None and not out:
        pairs = set(train_pairs(data_root))
        gone = sorted((set(train) | set(hold)) - pairs)
        if gone:
            out.append(f'{len(gone)} stems have no image/mask pair in {Path(data_root) / "train"} '
                       f'(e.g. {", ".join(gone[:3])})')
        left = sorted(pairs - set(train) - set(hold))
        if left and complete:
            out.append(f'{len(left)} training pairs of {data_root} are in neither list (e.g. {", ".join(left[:3])})')
    return out


def write_split(split: dict, work_dir: str | os.PathLike) -> Path:
    """Write ``split`` to ``<work_dir>/split.json`` atomically (checked first); returns the path."""
    path = Path(work_dir) / SPLIT_FILE
    bad = _problems(split, None)
    if bad:
        raise SplitError(f'will not write {path}: {"; ".join(bad)}. Make it with utils.data.split.make_holdout.')
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, split)
    return path


def read_split(work_dir: str | os.PathLike, data_root: str | os.PathLike | None = None) -> dict:
    """``<work_dir>/split.json``, checked (and, with ``data_root``, against its training pairs)."""
    path = Path(work_dir) / SPLIT_FILE
    fix = (f'What to do: delete {path} and train again from the start (a new holdout means the run starts over: '
           'its checkpoints have seen the old split), or put back the split.json this run was trained with.')
    try:
        split = json.loads(path.read_text())
    except FileNotFoundError:
        raise SplitError(f'{path} does not exist: training on the 2025-26 data writes it (the holdout). Train '
                         f'first, or point at the work_dir of that training.') from None
    except (OSError, ValueError) as exc:
        raise SplitError(f'{path} cannot be read as JSON ({type(exc).__name__}: {exc}). {fix}') from None
    bad = _problems(split, data_root)
    if bad:
        raise SplitError(f'{path} is not a usable split: {"; ".join(bad)}. {fix}')
    return split


def check_split(split: Any, data_root: str | os.PathLike | None = None, where: str = 'the given split') -> dict:
    """``split`` (a dict with ``train`` and ``holdout`` stem lists, e.g. split.json's) as a usable split, else
    :class:`SplitError` naming ``where`` and the fix. A given split may use a subset of the pairs."""
    if isinstance(split, dict):
        split = {'edition': '2025', 'seed': 0, **split}
    bad = _problems(split, data_root, complete=False)
    if bad:
        raise SplitError(f'{where} is not a usable split: {"; ".join(bad)}. Make it with '
                         '`python -m utils.data split DATA_ROOT --work-dir DIR` (utils.data.split.make_holdout).')
    return split


def holdout_files(data_root: str | os.PathLike, split: dict) -> list[tuple[str, Path, Path]]:
    """``(stem, image path, mask path)`` of the holdout, the shape of ``utils.evaluate.split_files``: what 04 scores."""
    root = Path(data_root)
    return [(s, image_dir(root, 'train') / f'{s}.jpg', mask_dir(root, 'train') / f'{s}.png') for s in split['holdout']]


def describe(split: dict, data_root: str | os.PathLike) -> str:
    """One line: how many pairs each part holds and how many images of each rare class."""
    hold = split['holdout']
    pres = rare_presence(data_root, hold).sum(axis=0)
    rare = ', '.join(f'{c} {int(k)}' for c, k in zip(RARE, pres))
    return (f'holdout {len(hold)} pairs (seed {split["seed"]}; rare classes: {rare}), train {len(split["train"])} '
            f'pairs{" (final fit: every pair)" if split.get("final_fit") else ""}')


__all__ = ['check_split', 'RARE', 'RARE_IDS', 'MIN_PER_RARE', 'SPLIT_FILE', 'SplitError', 'holdout_size', 'train_pairs',
           'rare_presence', 'choose_holdout', 'make_holdout', 'final_fit_split', 'write_split', 'read_split',
           'holdout_files', 'describe']
