"""Per-class decoding biases at prediction time: the decision rule and reading the biases a checkpoint carries.

The 2025-26 leaderboard's per-image F averages over the classes present in each image, so a rare class that is
present but never predicted costs a whole class term. A bias vector ``b`` (one number per class) moves the decision
to ``argmax_c(log(p_c + 1e-12) + b_c)``, ``p`` the softmax averaged over the TTA views; all zeros is plain argmax.
:class:`utils.core.inference.Segmenter` applies the biases a checkpoint carries (``meta['class_bias']``, else its own
entry in ``class_bias.json``); ``python -m utils.core.bias`` tunes them on the holdout (the search is there).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from utils.base.labels import NUM_CLASSES
from utils.base.layout import KnownError

BIAS_FILE = 'class_bias.json'
LOG_EPS = 1e-12  # log(p + 1e-12): a class with probability 0 still gets a finite score


class BiasError(KnownError, RuntimeError):
    """Biases cannot be tuned or read; the message names the file and the fix."""


def decide(prob, bias: Sequence[float] | None):
    """Labels (N x H x W) from class probabilities (N x C x H x W torch tensor) and a bias vector (None: argmax)."""
    import torch

    if bias is None:
        return prob.argmax(dim=1)
    b = torch.as_tensor(np.asarray(bias, dtype=np.float32), device=prob.device).view(1, -1, 1, 1)
    return (torch.log(prob.float() + LOG_EPS) + b).argmax(dim=1)


def read_class_bias(checkpoint: str | os.PathLike, meta: dict | None = None) -> list[float] | None:
    """The biases of ``checkpoint``: its ``meta['class_bias']``, else a ``class_bias.json`` beside it tuned for
    this very checkpoint (by name); None when there are none."""
    bias = (meta or {}).get('class_bias')
    if bias is None:
        path = Path(checkpoint).parent / BIAS_FILE
        try:
            facts = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            facts = {}
        facts = facts if isinstance(facts, dict) else {}
        bias = facts.get('class_bias') if facts.get('checkpoint') == Path(checkpoint).name else None
    if bias is None:
        return None
    if len(bias) != NUM_CLASSES or not all(np.isfinite(np.asarray(bias, dtype=float))):
        raise BiasError(f'{checkpoint}: class_bias has {len(bias)} entries (or non-numbers); it needs '
                        f'{NUM_CLASSES} numbers. Tune it again: python -m utils.core.bias {checkpoint} ...')
    return [float(b) for b in bias]
