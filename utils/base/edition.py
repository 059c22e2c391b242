"""The course's rules by edition: which data, which metric, how many parameters, which weights, which hand-in.

The face-parsing project ran in 2022 under the ImageNet-1k rule (5,000 / 1,000 / 1,000 faces, mIoU) and, since
2025, under small-model rules (1,000 training pairs, a per-image F-measure, fewer than 1,821,085 parameters, no
pre-trained weights). ``EDITION`` (a notebook parameter, ``--edition`` on the commands) picks one; everything that
differs between them reads it from :data:`RULES`, so no module spells an edition's facts a second time.
"""
from __future__ import annotations

from dataclasses import dataclass

from utils.base.layout import KnownError

EDITIONS = ('2022', '2025')
DEFAULT_EDITION = '2022'
#: The 2025-26 parameter cap: a model must have *fewer* parameters than this (120 % of SRResNet's), counted as
#: ``sum(p.numel() for p in model.parameters())`` on the whole model that predicts (auxiliary heads included).
PARAM_CAP = 1_821_085


@dataclass(frozen=True)
class Rules:
    """One edition of the course, as its handout states it."""

    edition: str
    counts: tuple[int, int, int]  # train, val, test images handed out
    val_masks: bool  # whether the val images come with masks (2026: no, so a holdout is carved from train)
    metric: str  # the leaderboard's metric key: 'mIoU' (dataset-level, %) or 'imgF' (per-image F, mean, 0-1)
    metric_words: str
    param_cap: int | None  # fewer than this many parameters, or None (no cap)
    count_formula: str  # how the report counts parameters
    trainable_only: bool  # the formula counts requires_grad parameters only
    weights: str  # 'imagenet-1k' (ImageNet-1k pre-trained weights only) or 'none' (from scratch)
    weights_words: str
    report_font_pt: int
    max_pages: int
    default_recipe: str
    recipes: tuple[str, ...]  # the RECIPES names offered under this edition (utils.core.config.RECIPES)
    stems: str  # how the files are named

    @property
    def from_scratch(self) -> bool:
        return self.weights == 'none'

    def cap_words(self) -> str:
        """'fewer than 1,821,085' or 'no cap'."""
        return f'fewer than {self.param_cap:,}' if self.param_cap else 'no cap'


class EditionError(KnownError, ValueError):
    """An edition that the course never had."""


RULES: dict[str, Rules] = {
    '2022': Rules(
        edition='2022', counts=(5000, 1000, 1000), val_masks=True, metric='mIoU',
        metric_words='mIoU over the 19 classes, accumulated over the whole test set (%)',
        param_cap=None, count_formula='sum(p.numel() for p in model.parameters() if p.requires_grad)',
        trainable_only=True, weights='imagenet-1k',
        weights_words='ImageNet-1k pre-trained weights only; no external data; no ensembles',
        report_font_pt=12, max_pages=5, default_recipe='seed',
        recipes=('seed', 'improved', 'improved-r101', 'swin-b', 'segformer-b3'),
        stems='0.jpg, 1.jpg, ... (masks N.png)'),
    '2025': Rules(
        edition='2025', counts=(1000, 100, 100), val_masks=False, metric='imgF',
        metric_words='per-image F-measure over the classes present in the ground truth (background included), '
                     'mean over the images (0-1)',
        param_cap=PARAM_CAP, count_formula='sum(p.numel() for p in model.parameters())',
        trainable_only=False, weights='none',
        weights_words='no pre-trained weights of any kind, no external data, no ensembles, no distillation: '
                      'trained from scratch on the 1,000 training pairs',
        report_font_pt=10, max_pages=5, default_recipe='bisenetv2-slim',
        recipes=('bisenetv2-slim', 'fast-scnn', 'lraspp-mv3s'),
        stems='32 hex digits, e.g. 0a4fdac4e7f448718c42f34a5422aee2.jpg (masks .png)'),
}


def rules(edition: str | None = None) -> Rules:
    """The rules of ``edition`` (``None``: the default, 2022)."""
    key = DEFAULT_EDITION if edition is None else str(edition)
    if key not in RULES:
        raise EditionError(
            f'EDITION = {edition!r} is not an edition of the course: give one of {", ".join(map(repr, EDITIONS))}.')
    return RULES[key]


def edition_of_recipe(recipe: str) -> str | None:
    """The edition whose rules a recipe is built for (None for an unknown name)."""
    return next((e for e, r in RULES.items() if recipe in r.recipes), None)
