"""Every notebook parameter, declared once: its name, the words of its parameters-cell line, its check, whether the
run keeps it in settings.json, which notebooks read it and its row in the plan table.

Everything else is derived from :data:`DECLARED`: ``PARAMETERS``, ``READS``, ``KEPT`` and ``SCHEMA`` (utils.notebook.workflow),
each notebook's parameters cell (``scripts.notebooks``) and the plan table's rows of chosen values. Adding a
parameter is one :class:`Param` here (then ``make notebooks``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from utils.core.config import RECIPES, TTA_MODES
from utils.base.edition import EDITIONS

#: The notebooks in the order a student runs them, and the Colab runtime each one asks for (its .ipynb metadata,
#: README's notebook table, 00's introduction): 'GPU' (a T4) where a real run trains or predicts on the images,
#: 'CPU' where setting up, checking the data or building the hand-in needs none (a CPU runtime saves GPU time).
RUNTIMES: dict[str, str] = {'00_setup': 'CPU', '01_data_check': 'CPU', '02_train_20k': 'GPU', '03_resume_30k': 'GPU',
                            '04_evaluate': 'GPU', '05_submit': 'GPU', '06_handin': 'CPU'}
NOTEBOOKS = tuple(RUNTIMES)
ALL = NOTEBOOKS
#: Iterations are bounded: a typo such as 10**30 would otherwise be accepted and train for ever.
MAX_ITERS = 1_000_000


@dataclass(frozen=True)
class Param:
    """One notebook parameter."""

    name: str
    words: str  # the comment of its line in the parameters cell (wrapped lines joined by '\n')
    check: Callable[[Any], bool]  # True when a value (not None) can work
    choices: str  # the words for what it may be, in every message about a bad value
    reads: tuple[str, ...]  # the notebooks whose parameters cell shows it
    kept: bool = True  # kept in settings.json for the later notebooks
    label: str | None = None  # its row in the plan table (None: shown by a row of its own, or not at all)

    def cell_lines(self) -> list[str]:
        """Its lines in a parameters cell: ``NAME = None`` and the comment, aligned at column 25."""
        first, *rest = self.words.split('\n')
        lines = [f'{self.name} = None'.ljust(24) + ' # ' + first]
        return lines + [' ' * 25 + '# ' + more for more in rest]


def _path_like(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).strip() != ''


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ''


def _iters(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ITERS


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _matric(value: Any) -> bool:
    """A matriculation number names the hand-in zip: letters and digits only, at most 20 characters."""
    return isinstance(value, str) and 1 <= len(value) <= 20 and value.isascii() and value.isalnum()


def _name(value: Any) -> bool:
    """A leaderboard user name goes into Readme.txt: one printable line of at most 64 characters."""
    return isinstance(value, str) and 1 <= len(value.strip()) and len(value) <= 64 and value.isprintable()


_ITERS_WORDS = f'a whole number of iterations, from 1 to {MAX_ITERS:,}'
_TRAIN = ('02_train_20k', '03_resume_30k')
DECLARED: tuple[Param, ...] = (
    Param('EDITION', "the course's rules: '2022' (5,000 faces, mIoU, ImageNet-1k weights; the default) or\n"
          "'2025' (2025-26: 1,000 faces, per-image F, < 1,821,085 parameters, from scratch)",
          lambda v: isinstance(v, str) and v in EDITIONS, 'one of ' + ', '.join(map(repr, EDITIONS)), ALL,
          label='course edition'),
    Param('SMOKE', "True: tiny smoke run on any machine; False: the real run (needs a GPU); None: the run's\n"
          'setting, else real on a GPU. A kept True stays until you set False here (in 00_setup)',
          _flag, 'True or False', ALL),
    Param('RECIPE', "2022: 'seed' (the report's, the default), 'improved', 'improved-r101', 'swin-b', 'segformer-b3';\n"
          "2025: 'bisenetv2-slim' (the default), 'fast-scnn', 'lraspp-mv3s'",
          lambda v: isinstance(v, str) and v in RECIPES, 'one of ' + ', '.join(map(repr, RECIPES)), ALL),
    Param('REPO', "the code: 'owner/name' on GitHub (default: this project), or a Drive folder with a copy",
          _text, "'owner/name' on GitHub or a Drive folder path", ALL),
    Param('DATA_SOURCE', "01 only: the course's Drive share link or file id, a zip or folder path, or 'synthetic'\n"
          "(2025: the three zips train, val, test as a list, or one folder holding them)",
          lambda v: _text(v) or (isinstance(v, (list, tuple)) and 0 < len(v) <= 3 and all(_text(s) for s in v)),
          "a Drive share link or file id, a zip or folder path, 'synthetic', or (2025) a list of those",
          ('01_data_check',)),
    Param('DATA_ROOT', 'the dataset on this runtime\'s disk (default /content/data/celebamask)',
          _path_like, 'a folder path (text)', ALL),
    Param('WORK_ROOT', "checkpoints (default MyDrive/celebamask-parsing/work_dirs; a smoke run's in work_dirs/smoke)",
          _path_like, 'a folder path (text)', ALL),
    Param('ITERS_20K', "stage-1 iterations (default: the config's, e.g. 20,000; 60 in a smoke run)",
          _iters, _ITERS_WORDS, ('00_setup',) + _TRAIN),
    Param('ITERS_30K', "2022: the iteration the seed's stage 2 ends at, counting stage 1 (default 30,000; smoke 90);\n"
          "2025: the final fit's iterations (default: where 02's best holdout F was)",
          _iters, _ITERS_WORDS, ('00_setup', '03_resume_30k')),
    Param('TTA', "test-time augmentation: 'none', 'flip' (left/right swapped; the default) or 'ms'\n"
          "(3 scales x flip: about 3x slower than 'flip' to evaluate and predict)",
          lambda v: isinstance(v, str) and v in TTA_MODES, 'one of ' + ', '.join(map(repr, TTA_MODES)),
          ('00_setup', '04_evaluate', '05_submit')),
    Param('CHECKPOINT', "04 and 05 only: a .pth to evaluate or submit (default: the run's final checkpoint)",
          _path_like, 'the path of a .pth file', ('04_evaluate', '05_submit', '06_handin'), kept=False),
    Param('CHECKPOINT_CONFIG', '04 and 05 only: the config name of a CHECKPOINT from elsewhere (its stored text '
          'never runs)', _path_like, 'a config name from configs/ or a config path', ('04_evaluate', '05_submit'),
          kept=False),
    Param('ALLOW_LOCAL_WORK', '01-03 only: True works without Google Drive (01 checks the data only; 02/03 lose the '
          'run\nat a disconnect)', _flag, 'True or False', ('01_data_check',) + _TRAIN, kept=False),
    Param('FINAL_FIT', '2022: True trains on train + val for the test submission, once the recipe is chosen on val\n'
          '(own work_dir <config>_trainval; val scores then not honest). 2025: 03 is the final fit',
          _flag, 'True (train on train + val for the test submission) or False', ALL[:1] + ALL[2:],
          label='final fit on train + val'),
    Param('MATRIC', "06 only (or once here): your matriculation number, e.g. 'G1234567A'; names the zip",
          _matric, "your matriculation number: letters and digits only, at most 20, e.g. 'G1234567A'",
          ('00_setup', '06_handin')),
    Param('LEADERBOARD_NAME', '06 only (or once here): your user name on the leaderboard, for Readme.txt',
          _name, 'your leaderboard user name: one line of at most 64 printable characters', ('00_setup', '06_handin')),
)

BY_NAME: dict[str, Param] = {p.name: p for p in DECLARED}


def parameters_cell(notebook: str, declared: tuple[Param, ...] = DECLARED) -> str:
    """The parameters cell of ``notebook``: the header, then the lines of the parameters it reads."""
    header = ('# Parameters: the only cell to edit. None means "the run\'s setting" (settings.json on Drive, written '
              'by the first\n# notebook you run), else the default. A value set here wins for this notebook, and the '
              'plan below says so.')
    return '\n'.join([header] + [line for p in declared if notebook in p.reads for line in p.cell_lines()])
