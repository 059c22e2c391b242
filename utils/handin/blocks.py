"""The whole report draft in order, for the course edition it follows: the title lines, then the 2022 sections
(:mod:`.draft`) or the 2025-26 ones (:mod:`.draft2025`)."""
from __future__ import annotations

from typing import Any

from utils.base.edition import rules as rules_of
from utils.core.pretrained import IMAGENET_1K, PREFIX
from utils.handin.block import Block
from utils.handin.draft import (REFERENCES, TITLE, TITLE_2025, _curve_blocks, _discussion_blocks, _loss_blocks, _model_blocks,
                                _results_blocks, _schedule_blocks, _test_blocks)
from utils.handin.draftparts import _machine_blocks, weights_words
from utils.handin.draft2025 import blocks_2025
from utils.handin.rundata import RunData


def report_blocks(run: RunData, tables: dict, figures: dict, *, matric: str | None, leaderboard_name: str | None,
                  has_screenshot: bool = False, edition: str | None = None, extra: Any = None) -> list[Block]:
    """The whole draft, in order, for the course edition ``edition`` (None: the run's own)."""
    rules = rules_of(edition or run.edition)
    out = [Block('title', TITLE if rules.edition == '2022' else TITLE_2025),
           Block('meta', f"Matriculation number: {matric}") if matric else
           Block('todo', 'Matriculation number: set MATRIC in 06_handin (or --matric).'),
           Block('meta', f'Leaderboard name: {leaderboard_name}') if leaderboard_name else
           Block('todo', 'Leaderboard name: set LEADERBOARD_NAME in 06_handin (or --leaderboard-name).'),
           Block('todo', 'Your name and e-mail.')]
    if rules.edition != '2022':
        return out + blocks_2025(run, tables, figures, rules, has_screenshot=has_screenshot, experiments=extra)
    out += [Block('heading', 'Background'),
            Block('para', 'A face parsing network assigns one of 19 labels (skin, eyes, brows, ears, lips, hair, ...) '
                          'to every pixel of a 512 x 512 face photo. The data is the CelebAMask-HQ mini set: 5,000 '
                          'training and 1,000 validation image/mask pairs, and 1,000 test images scored by mIoU on '
                          'the leaderboard.')]
    weights = weights_words(run.record.get('recipe') or {}, IMAGENET_1K, PREFIX)
    out += _model_blocks(run, rules, weights) + _loss_blocks(run, tables) + _schedule_blocks(run, figures)
    out += _curve_blocks(run, figures) + _results_blocks(run, tables, figures)
    out += _test_blocks(figures, has_screenshot, rules) + _machine_blocks(run) + _discussion_blocks()
    out += [Block('heading', 'References')] + [Block('para', f'[{i}] {ref}') for i, ref in enumerate(REFERENCES, 1)]
    return out
