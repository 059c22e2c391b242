"""The run plan the seven notebooks share: parameters merged with the run's settings on Drive, and the LR schedule.

A notebook's ``parameters`` cell sets a few knobs, most left at ``None``. :func:`make_plan` merges them
with ``settings.json``, which the first notebook run writes next to the work_dirs (on Drive in Colab), so
every later notebook, each on its own runtime, works on the same run: a value set in a later parameters
cell wins there, and the plan says so. :mod:`utils.notebook.session` reads and writes the file; this module only
decides (no I/O), so it is tested on plain dictionaries.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from utils.core.checkpoints import best_or_newest
from utils.core.env import work_root as env_work_root
from utils.core.config import FINAL_FIT_SUFFIX, RECIPES, config_tta, load_config
from utils.base.labels import REPO_ROOT
from utils.base.layout import SMOKE_SIZE, image_dir, mask_dir
from utils.base.layout import KnownError, MissingFileError

from utils.base.edition import DEFAULT_EDITION, Rules, edition_of_recipe, rules
from utils.notebook.parameters import DECLARED, RUNTIMES  # noqa: F401  (RUNTIMES: re-exported for utils.notebook.session)

def derive_tables(declared: tuple) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], tuple[str, ...], dict]:
    """``(PARAMETERS, READS, KEPT, SCHEMA)`` from the parameters' declarations (utils.notebook.parameters.DECLARED)."""
    reads = {nb: tuple(p.name for p in declared if nb in p.reads) for nb in dict.fromkeys(n for p in declared for n in p.reads)}
    return (tuple(p.name for p in declared), reads, tuple(p.name for p in declared if p.kept),
            {p.name: (p.check, p.choices) for p in declared})


#: The parameters, those each notebook reads (its cell shows only those), those kept in settings.json and what each
#: may be (a test and the words for the choices): all four derived from the one declaration of each parameter.
PARAMETERS, READS, KEPT, SCHEMA = derive_tables(DECLARED)
#: Keys settings.json carries about itself (written by utils.notebook.session; not parameters).
SETTINGS_META = ('format', 'written_by', 'updated')
#: The settings.json format this code writes and reads; a file of a later format was written by newer code.
SETTINGS_FORMAT = 1
#: Where a value came from, as every message about it says.
FROM_HERE = "this notebook's parameters cell"
FROM_SETTINGS = 'settings.json'
#: Smoke runs: iterations of stage 1 and of the resume to stage 2.
NOTEBOOK_SMOKE_ITERS = (60, 90)


class PlanError(KnownError, ValueError):
    """A parameter has a value that cannot work; the message names it and the choices."""




def check_value(name: str, value: Any, origin: str, fix: str) -> None:
    """Raise :class:`PlanError` naming ``name``, its value, where it came from, the choices and ``fix``."""
    ok, choices = SCHEMA[name]
    if value is not None and not ok(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + '...'
        raise PlanError(f'{name} = {shown} in {origin} cannot work: give {choices}, or None.\nWhat to do: {fix}')


def check_parameters(params: dict[str, Any]) -> None:
    """Every parameter set in a notebook's parameters cell has a usable type and value (else one PlanError)."""
    for name in PARAMETERS:
        check_value(name, params.get(name), FROM_HERE, f'fix {name} in the parameters cell (the first code cell), '
                    'or set it to None to use the run\'s setting, then run the notebook again.')
    check_together(params, FROM_HERE, 'fix ITERS_20K / ITERS_30K in the parameters cell, then run the notebook again.')


def check_settings(data: Any, where: str, lenient: bool = False) -> tuple[dict[str, Any], list[str]]:
    """``(settings, notes)`` from the parsed settings.json at ``where``: its shape and each known key are checked.

    Unknown keys are ignored with a note. A file that is not an object, or a known key with a value that cannot
    work, raises :class:`PlanError` naming the file, the key, the value and the fix; ``lenient`` (00_setup, which
    writes the file again) drops what cannot work, with a note, instead.
    """
    fix = (f'set it in 00_setup and run that notebook again (it rewrites the file), or delete {where} to start the '
           'run\'s settings afresh.')
    if not isinstance(data, dict):
        if lenient:
            return {}, [f'{where} held a JSON {type(data).__name__}, not settings: 00_setup writes it again.']
        raise PlanError(f'{where} holds a JSON {type(data).__name__}, not an object of settings.\nWhat to do: run '
                        f'00_setup again (it rewrites the file), or delete {where}.')
    fmt = data.get('format', SETTINGS_FORMAT)
    if not (isinstance(fmt, int) and not isinstance(fmt, bool)) or fmt > SETTINGS_FORMAT:
        what = (f'format {fmt!r}, written by a newer version of this project' if isinstance(fmt, int) and
                not isinstance(fmt, bool) else f'an unknown format {fmt!r}')
        if lenient:
            return {}, [f'{where} has {what}: 00_setup writes it again in format {SETTINGS_FORMAT}.']
        raise PlanError(f'{where} has {what} (this code reads format {SETTINGS_FORMAT}).\nWhat to do: use the same '
                        'code as the notebook that wrote it (REPO), or run 00_setup again to write the settings in '
                        'this format.')
    unknown = sorted(str(k) for k in data if k not in KEPT and k not in SETTINGS_META)
    notes = [f'{where} has unknown keys {unknown}: ignored them.'] if unknown else []
    kept = {}
    for name in KEPT:
        try:
            check_value(name, data.get(name), f'{FROM_SETTINGS} ({where})', fix)
        except PlanError as exc:
            if not lenient:
                raise
            notes.append(f'{str(exc).split(" cannot work")[0]} cannot work: dropped it; 00_setup writes the file '
                         'again.')
            continue
        if data.get(name) is not None:
            kept[name] = data[name]
    try:
        check_together(kept, f'{FROM_SETTINGS} ({where})', fix)
    except PlanError:
        if not lenient:
            raise
        notes.append(f'{where}: ITERS_30K = {kept.pop("ITERS_30K")} is not above ITERS_20K: dropped it; 00_setup '
                     'writes the file again.')
    return kept, notes


def check_together(values: dict[str, Any], origin: str, fix: str) -> None:
    """What single values cannot show: the 2022 stage 2 ends after stage 1 (``ITERS_30K`` counts stage 1 too)."""
    edition, i20, i30 = values.get('EDITION') or DEFAULT_EDITION, values.get('ITERS_20K'), values.get('ITERS_30K')
    if edition == '2022' and isinstance(i20, int) and isinstance(i30, int) and i30 <= i20:
        raise PlanError(f'ITERS_30K = {i30:,} in {origin} is not above ITERS_20K = {i20:,}: stage 2 would train '
                        'nothing (ITERS_30K is the iteration stage 2 ends at, counting stage 1).\nWhat to do: '
                        f'{fix}')


@dataclass(frozen=True)
class Stage:
    """One training stage as the plan decides it: 02 runs stage 1, 03 stage 2."""

    number: int
    config: str
    work_dir: Path
    iters: int | None  # None: the config's own (2025 stage 2: where stage 1's best holdout F was, found at run time)
    resume: str | tuple[Path, ...]  # 'auto' (its own newest checkpoint), or the work_dirs to continue from
    smoke: dict | None  # utils.train.train's smoke= argument, from this stage's own iteration count
    final_fit: bool  # trains on everything the edition allows (2022: train + val; 2025: all 1,000 pairs)
    what: str  # one line for the plan and the messages


@dataclass
class Plan:
    """Everything a notebook needs to know about this run, and where each value came from."""

    notebook: str
    smoke: bool
    recipe: str
    config_20k: str
    config_30k: str | None
    repo: str
    data_source: str | list[str] | None  # 2025: the three zips may be a list
    data_root: Path
    work_root: Path
    iters_20k: int | None  # None: the config's own (20,000)
    iters_30k: int | None
    amp: bool
    tta: str
    checkpoint: Path | None = None
    checkpoint_config: str | None = None  # the config of a CHECKPOINT from elsewhere (its own is never run)
    allow_local_work: bool = False
    final_fit: bool = False  # train on train + val (work_dirs named <config>_trainval); val scores then not honest
    sources: dict[str, str] = field(default_factory=dict)  # parameter -> 'set here' / 'settings.json' / 'default'
    chosen: dict[str, Any] = field(default_factory=dict)  # the values set here or in settings.json (not derived)
    notes: list[str] = field(default_factory=list)
    keep_dir: Path | None = None  # where settings.json and the dataset copy live (set by utils.notebook.session.start)
    keep_shared: bool = True  # False: keep_dir is this runtime's own disk (Colab without Drive), unseen by the others
    matric: str | None = None  # 06_handin: the student's matriculation number and leaderboard name
    leaderboard_name: str | None = None
    edition: str = DEFAULT_EDITION
    values: dict[str, Any] = field(default_factory=dict)  # declared parameters that no field above holds

    @property
    def rules(self) -> Rules:
        """The course's rules this run follows (utils.base.edition)."""
        return rules(self.edition)

    @property
    def work_dir_20k(self) -> Path:
        if self.edition != '2022':  # 2025: stage 1 is always the holdout run; stage 2 is the final fit
            return self.work_root / self.config_20k
        return self.work_root / (self.config_20k + (FINAL_FIT_SUFFIX if self.final_fit else ''))

    @property
    def work_dir_30k(self) -> Path | None:
        if self.edition != '2022':
            return self.work_root / (self.config_20k + FINAL_FIT_SUFFIX)
        return self.work_root / (self.config_30k + (FINAL_FIT_SUFFIX if self.final_fit else '')) if self.config_30k \
            else None

    def stage(self, number: int) -> Stage | None:
        """Stage ``number`` (1 or 2) as this run trains it; None when the recipe has no such stage.

        2022: stage 1 trains ITERS_20K iterations, stage 2 (the seed's) resumes it up to ITERS_30K. 2025: stage 1
        trains on the training pairs less the holdout and validates on the holdout; stage 2 is the final fit on
        all 1,000 pairs, for ITERS_30K iterations or, by default, as many as stage 1 took to its best holdout F.
        Each stage's smoke schedule comes from its own iteration count.
        """
        if number == 1:
            return Stage(1, self.config_20k, self.work_dir_20k, self.iters_20k, 'auto',
                         self.smoke_options(self.iters_20k), self.final_fit and self.edition == '2022',
                         'train, validating on the holdout' if self.edition != '2022' else 'stage 1')
        if self.edition != '2022':
            return Stage(2, self.config_20k, self.work_dir_30k, self.iters_30k, 'auto',
                         self.smoke_options(self.iters_30k or self.iters_20k), True,
                         'the final fit on all training pairs')
        if self.config_30k is None:
            return None
        return Stage(2, self.config_30k, self.work_dir_30k, self.iters_30k, (self.work_dir_30k, self.work_dir_20k),
                     self.smoke_options(self.iters_30k), self.final_fit, 'stage 2, resumed from stage 1')

    @property
    def curve_work_dirs(self) -> list[Path]:
        """The stages whose curves read as one run: both 2022 stages (a resume); 2025-26's stage 1 alone (the
        final fit starts afresh and has no honest validation)."""
        return self.trained_work_dirs if self.edition == '2022' else [d for d in [self.work_dir_20k] if d.is_dir()]

    @property
    def trained_work_dirs(self) -> list[Path]:
        """The stage work_dirs that exist, stage 1 first (what the curves and checkpoint tables show)."""
        return [d for d in (self.work_dir_20k, self.work_dir_30k) if d is not None and d.is_dir()]

    @property
    def val_images(self) -> Path:
        """The val images (``<data_root>/val/val_image``): 2025-26's dev phase predicts them."""
        return image_dir(self.data_root, 'val')

    @property
    def reference_masks(self) -> Path:
        """Ground truth whose class shares a submission is compared with: val's (2022), the training masks (2025-26,
        whose val has none)."""
        return mask_dir(self.data_root, 'val' if self.edition == '2022' else 'train')

    @property
    def test_images(self) -> Path:
        """The test images to predict (``<data_root>/test/test_image``)."""
        return image_dir(self.data_root, 'test')

    @property
    def val_masks(self) -> Path:
        """The val ground truth (``<data_root>/val/val_mask``), the reference of the submission check."""
        return mask_dir(self.data_root, 'val')

    @property
    def test_masks(self) -> Path:
        """Test ground truth (``<data_root>/test/test_mask``): synthetic data has it, the course's is hidden."""
        return mask_dir(self.data_root, 'test')

    @property
    def submission_zip(self) -> Path:
        """Where notebook 05 writes the zip, in the work_dirs folder, named after the recipe (a second recipe never
        replaces the first one's zip); a smoke run's is named so that it is never uploaded."""
        if self.edition != '2022':  # 2025-26: the test phase's zip (masks/ + solution/); the dev zip beside it
            return self.work_root / f'{self.submission_stem}-test.zip'
        return self.work_root / ('submission-SMOKE-not-for-upload.zip' if self.smoke else
                                 f'submission-{self.recipe}{"-trainval" if self.final_fit else ""}.zip')

    @property
    def submission_stem(self) -> str:
        """The 2025-26 zips' common name: ``<stem>-dev.zip`` (val masks) and ``<stem>-test.zip`` (with solution/)."""
        return 'submission-SMOKE-not-for-upload' if self.smoke else f'submission-{self.recipe}'

    @property
    def title(self) -> str:
        """``'seed recipe'`` (``', smoke run'`` added): for plot titles."""
        return f'{self.recipe} recipe' + (', smoke run' if self.smoke else '')

    def smoke_options(self, max_iters: int | None) -> dict | None:
        """The ``smoke=`` argument of :func:`utils.train.train` for this plan."""
        return dict(size=SMOKE_SIZE, max_iters=max_iters) if self.smoke else None

    def settings(self) -> dict[str, Any]:
        """What settings.json keeps: the values someone chose (here or earlier), never ones derived from defaults."""
        return {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in self.chosen.items() if k in KEPT}

    def frame(self):
        """The plan as a table: setting, value, and where the value came from (the course's rules included)."""
        import pandas as pd

        facts, r = config_facts(self.config_20k), self.rules
        count = facts.count(r)
        stage2 = self.stage(2)
        rows = [('notebook', self.notebook, ''),
                ('course edition', f'{self.edition}: {r.counts[0]:,} / {r.counts[1]:,} / {r.counts[2]:,} faces '
                 f'(train / val / test), {r.stems}', self.sources.get('EDITION', '')),
                ('metric', r.metric_words, 'course rule'),
                ('smoke run', self.smoke, self.sources.get('SMOKE', '')),
                ('recipe', self.recipe, self.sources.get('RECIPE', '')), ('stage-1 config', self.config_20k, ''),
                ('stage 2', f'{stage2.what}: {stage2.work_dir.name}' if stage2 else '- (no second stage)', ''),
                ('code from', self.repo, self.sources.get('REPO', '')),
                ('data source', self.data_source or '- (set DATA_SOURCE in 01_data_check)',
                 self.sources.get('DATA_SOURCE', '')),
                ('data on this runtime', self.data_root, self.sources.get('DATA_ROOT', '')),
                ('work root (checkpoints)', self.work_root, self.sources.get('WORK_ROOT', '')),
                ('iterations, stage 1', self.iters_20k or f'the config\'s ({facts.iters:,})',
                 self.sources.get('ITERS_20K', '')),
                ('iterations, stage 2', self._stage2_iters(), self.sources.get('ITERS_30K', '')),
                ('pre-trained weights', self._weights_words(facts),
                 'course rule' if not self.smoke else 'course rule (a smoke run starts from random weights)'),
                ('parameters', f'{count:,}' + (f' ({count / r.param_cap:.1%} of the cap: {r.cap_words()})'
                                                if r.param_cap else ''), r.count_formula)]
        if self.edition == '2022':
            rows.append(('final fit on train + val', self.final_fit, self.sources.get('FINAL_FIT', '')))
        rows += [('mixed precision (AMP)', self.amp, ''), ('test-time augmentation', self.tta,
                                                           self.sources.get('TTA', ''))]
        shown = {row[0] for row in rows}
        rows += [(p.label, self.values.get(p.name), self.sources.get(p.name, '')) for p in DECLARED
                 if p.label and p.label not in shown and p.name in self.values]
        if self.checkpoint is not None:
            rows.append(('checkpoint', self.checkpoint, 'set here'))
        if self.checkpoint_config is not None:
            rows.append(('checkpoint config', self.checkpoint_config, 'set here'))
        if self.notebook == '06_handin':
            rows += [('matriculation number', self.matric or '- (set MATRIC)', self.sources.get('MATRIC', '')),
                     ('leaderboard name', self.leaderboard_name or '- (set LEADERBOARD_NAME)',
                      self.sources.get('LEADERBOARD_NAME', ''))]
        df = pd.DataFrame(rows, columns=['setting', 'value', 'from']).set_index('setting')
        df['value'] = df['value'].astype(str)
        return df.style.set_caption(f'The plan of this run ({self.notebook})')

    def _stage2_iters(self) -> str:
        if self.edition != '2022':
            return str(self.iters_30k) if self.iters_30k else "as many as stage 1 took to its best holdout F"
        if self.iters_30k:
            return str(self.iters_30k)
        return f'the config\'s ({config_facts(self.config_30k).iters:,})' if self.config_30k else '-'

    def _weights_words(self, facts: RecipeFacts) -> str:
        if self.rules.from_scratch:
            return 'none: trained from scratch (' + self.rules.weights_words.split(',')[0] + ')'
        return 'ImageNet-1k weights only: ' + facts.weights


class RecipeFacts(NamedTuple):
    """What the plan says of a config, from one parse and one model build (cached per config and process)."""

    iters: int  # the config's own training length
    weights: str  # where its pre-trained weights come from ('none (random initialisation)' when none)
    trainable: int  # sum(p.numel() for p in model.parameters() if p.requires_grad): the 2022 report's count
    total: int  # sum(p.numel() for p in model.parameters()): the 2025 cap's count (auxiliary heads included)
    optimizer: str  # the optimizer's type (its state sets a checkpoint's size)
    max_keep: int  # iteration checkpoints kept at once

    def count(self, edition_rules: Rules) -> int:
        """The parameter count by the edition's own formula."""
        return self.trainable if edition_rules.trainable_only else self.total


@functools.lru_cache(maxsize=None)
def config_facts(config: str) -> RecipeFacts:
    """The :class:`RecipeFacts` of a config, for the plan table, the Drive budget and the model table."""
    from utils.core.model import build_segmentor, count_parameters
    from utils.core.pretrained import weights_source

    cfg = load_config(config, work_dir='/tmp/unused')
    model = build_segmentor(cfg)
    return RecipeFacts(int(cfg.train_cfg.max_iters), weights_source(cfg), count_parameters(model),
                       int(sum(p.numel() for p in model.parameters())), str(cfg.optim_wrapper.optimizer.type),
                       int(cfg.default_hooks.checkpoint.get('max_keep_ckpts', 3) or 3))


def make_plan(params: dict[str, Any] | None = None, *, notebook: str = '', settings: dict[str, Any] | None = None,
              gpu: bool = False, colab: bool = False, drive_project: str | os.PathLike | None = None,
              content: str | os.PathLike = '/content', code_from: str = 'this checkout', checked: bool = False) -> Plan:
    """Resolve a notebook's parameters against the run's ``settings`` (settings.json) and this runtime.

    A parameter set here (not ``None``) wins over the setting, and a note says so when they differ.
    Smoke or real: ``SMOKE`` when given (here or in the settings); otherwise a real run when something
    points at real data (``DATA_SOURCE``/``DATA_ROOT``) or a GPU is present, and a smoke run on a CPU
    with nothing pointing at real data. Checking that a real run has a GPU is :mod:`utils.notebook.session`'s job.
    """
    params = {k: v for k, v in (params or {}).items() if k in PARAMETERS}
    if not checked:  # utils.notebook.session.start checks them first (before WORK_ROOT is used), and the settings it read
        check_parameters(params)
        settings, notes = check_settings(settings or {}, FROM_SETTINGS)
    else:
        settings, notes = dict(settings or {}), []
    sources: dict[str, str] = {}
    chosen: dict[str, Any] = {}

    def pick(name: str, default: Any = None) -> Any:
        here, kept = params.get(name), settings.get(name)
        if here is not None:
            sources[name] = 'set here'
            chosen[name] = here
            if kept is not None and kept != here and not (isinstance(here, os.PathLike) and str(here) == kept):
                notes.append(f'{name} = {here!r} set here wins over the run\'s {kept!r} (settings.json); to change '
                             'the run itself, set it in 00_setup and run that notebook again.')
            return here
        if kept is not None:
            sources[name] = 'settings.json'
            chosen[name] = kept
            return kept
        sources[name] = 'default'
        return default

    edition = pick('EDITION', DEFAULT_EDITION)
    recipe = pick('RECIPE', rules(edition).default_recipe)
    check_edition(edition, recipe, sources)
    if edition != '2022' and final_fit_asked(params, settings):
        notes.append('FINAL_FIT is a 2022 setting: under the 2025 rules 03_resume_30k is the final fit on all '
                     '1,000 training pairs, whatever FINAL_FIT says.')
    tta = pick('TTA') or config_tta(RECIPES[recipe][0])
    data_source, data_root = pick('DATA_SOURCE'), pick('DATA_ROOT')
    smoke = pick('SMOKE')
    if smoke is None:
        smoke = not (gpu or data_source or data_root)
    smoke = bool(smoke)
    if smoke and gpu and sources['SMOKE'] == 'settings.json':
        notes.append('SMOKE = True comes from the run\'s settings.json (an earlier 00_setup): this is still a smoke '
                     'run although a GPU is here. For the real run set SMOKE = False in 00_setup and run it again.')
    repo = pick('REPO', code_from)
    keep = Path(drive_project) if drive_project else None
    # a smoke run's checkpoints get their own folder, so that a real run never resumes from a smoke model
    work_root = Path(pick('WORK_ROOT', str(env_work_root(keep) / ('smoke' if smoke else ''))))
    if data_root is None:
        data_root = default_data_root(edition, smoke, colab, content, work_root)
        sources['DATA_ROOT'] = 'default'
    if smoke and data_source is None:
        data_source = 'synthetic'
    final_fit = bool(pick('FINAL_FIT', False)) and edition == '2022'  # its type was checked with the others (SCHEMA)
    iters_20k, iters_30k = pick('ITERS_20K'), pick('ITERS_30K')
    config_20k, config_30k = RECIPES[recipe]
    if edition != '2022':  # stage 2 is the final fit of the same config
        config_30k = config_20k
    if smoke:  # 2025: the final fit's length comes from stage 1's best checkpoint (utils.notebook.session), as in a real run
        iters_20k, iters_30k = iters_20k or NOTEBOOK_SMOKE_ITERS[0], iters_30k or (
            NOTEBOOK_SMOKE_ITERS[1] if edition == '2022' else None)
    checkpoint, checkpoint_config = params.get('CHECKPOINT'), params.get('CHECKPOINT_CONFIG')
    matric, leaderboard_name = pick('MATRIC'), pick('LEADERBOARD_NAME')
    values = {p.name: pick(p.name) for p in DECLARED if p.name not in sources}  # any other declared parameter
    return Plan(notebook=notebook, smoke=smoke, recipe=recipe, config_20k=config_20k, config_30k=config_30k,
                repo=str(repo), data_source=_source_text(data_source),
                data_root=Path(data_root), work_root=work_root, iters_20k=iters_20k,
                iters_30k=iters_30k if config_30k else None, amp=gpu, tta=tta,
                checkpoint=Path(checkpoint) if checkpoint else None,
                checkpoint_config=str(checkpoint_config) if checkpoint_config else None,
                allow_local_work=bool(params.get('ALLOW_LOCAL_WORK')), final_fit=final_fit, sources=sources,
                chosen=chosen, notes=notes, matric=None if matric is None else str(matric),
                leaderboard_name=None if leaderboard_name is None else str(leaderboard_name), edition=edition,
                values=values)


def _source_text(source: Any) -> str | list[str] | None:
    return None if source is None else [str(x) for x in source] if isinstance(source, (list, tuple)) else str(source)


def check_edition(edition: str, recipe: str, sources: dict[str, str]) -> None:
    """A recipe built for the other edition's rules is named, with both ways out."""
    if edition_of_recipe(recipe) in (None, edition):
        return
    where = FROM_HERE if sources['RECIPE'] == 'set here' else FROM_SETTINGS
    raise PlanError(f'RECIPE = {recipe!r} ({where}) is a recipe for the {edition_of_recipe(recipe)} rules, but '
                    f'this run follows the {edition} rules (EDITION = {edition!r}, {sources["EDITION"]}).\n'
                    f'What to do: choose one of {", ".join(map(repr, rules(edition).recipes))}, or set EDITION = '
                    f'{edition_of_recipe(recipe)!r} in 00_setup and run it again.')


def default_data_root(edition: str, smoke: bool, colab: bool, content: str | os.PathLike, work_root: Path) -> Path:
    """Where the dataset goes on this runtime: each edition's in its own folder, so a switch of EDITION never
    reuses the other's data."""
    name = 'celebamask' + ('' if edition == '2022' else f'-{edition}')
    if colab:
        return Path(content) / 'data' / name
    return work_root / ('data' if edition == '2022' else f'data-{edition}') if smoke else REPO_ROOT / 'data' / name


def final_fit_asked(params: dict[str, Any], settings: dict[str, Any]) -> bool:
    """FINAL_FIT = True set here or kept in the settings."""
    return bool(params.get('FINAL_FIT') or settings.get('FINAL_FIT'))


def final_checkpoint(plan: Plan, for_submission: bool = False) -> Path:
    """The checkpoint to evaluate/submit: ``CHECKPOINT`` when set, else the best one of the run's last stage.
    The one place this choice is made, with the one message when there is none (a :class:`MissingFileError`).

    2025-26: 04 (``for_submission=False``) judges stage 1's best on the holdout it never trained on; 05 submits the
    final fit (stage 2, trained on all pairs) when there is one, else that same stage-1 checkpoint."""
    if plan.checkpoint is not None:
        if not plan.checkpoint.is_file():
            raise MissingFileError(f'CHECKPOINT = {str(plan.checkpoint)!r} does not exist: check the path, or set '
                                    'CHECKPOINT = None to use the run\'s final checkpoint.')
        return plan.checkpoint
    if plan.edition != '2022' and not for_submission:
        found = best_or_newest(plan.work_dir_20k)
    else:
        found = best_or_newest(plan.work_dir_30k, plan.work_dir_20k)
    if found is None:
        stages = '02_train_20k' + (' and 03_resume_30k' if plan.config_30k else '')
        raise MissingFileError(f'No checkpoint of the {plan.recipe!r} run in {plan.work_root}: run {stages} first'
                               + (f' (RECIPE = {plan.recipe!r} was set here)' if plan.sources.get('RECIPE') == 'set here'
                                  else '') + '.')
    return found


def checkpoint_recipe(checkpoint: str | os.PathLike) -> str | None:
    """The recipe whose work_dir holds ``checkpoint`` (its folder is named after the config), else None."""
    folder = Path(checkpoint).parent.name.removesuffix(FINAL_FIT_SUFFIX)
    return next((name for name, configs in RECIPES.items() if folder in configs), None)


# --------------------------------------------------------------------------- the LR/momentum schedule
def _build_schedulers(cfg, optimizer) -> list:
    """The config's schedulers as MMEngine's Runner builds them (``end`` defaults to ``max_iters``)."""
    from mmengine.registry import PARAM_SCHEDULERS

    max_iters = cfg.train_cfg.max_iters
    return [PARAM_SCHEDULERS.build(dict({'end': max_iters, **s}, optimizer=optimizer)) for s in cfg.param_scheduler]


def schedule_trace(config: str, resume_config: str | None = None, every: int = 1, *, max_iters: int | None = None,
                   resume_max_iters: int | None = None, smoke: bool | dict | None = None):
    """LR and momentum used at each iteration of ``config`` (then of ``resume_config`` after resuming).

    Runs the real MMEngine schedulers of the configs, as :func:`utils.core.config.load_config` sets them up for
    this run (``max_iters`` / ``smoke`` shorten them as training would), on a one-parameter optimiser of the config's
    type (momentum NaN for AdamW, which has none), including
    the checkpoint round-trip of a resume. Returns a DataFrame with columns iter, lr, momentum, stage.
    """
    import pandas as pd
    import torch

    rows = []

    def run(cfg, optimizer, schedulers, start: int, stage: int) -> None:
        for it in range(start, cfg.train_cfg.max_iters):
            if it % every == 0 or it in (start, cfg.train_cfg.max_iters - 1):  # each stage's first and last
                group = optimizer.param_groups[0]
                rows.append((it, group['lr'], group.get('momentum', float('nan')), stage))
            optimizer.step()
            for sched in schedulers:
                sched.step()

    param = torch.nn.Parameter(torch.zeros(1))
    cfg1 = load_config(config, work_dir='/tmp/unused', max_iters=max_iters, smoke=smoke)
    opt_kwargs = {k: v for k, v in cfg1.optim_wrapper.optimizer.items() if k != 'type'}
    opt_class = getattr(torch.optim, cfg1.optim_wrapper.optimizer.type)  # SGD, or AdamW for the transformers
    optimizer = opt_class([param], **opt_kwargs)
    schedulers = _build_schedulers(cfg1, optimizer)
    run(cfg1, optimizer, schedulers, 0, 1)
    if resume_config is not None:
        state = dict(optimizer=optimizer.state_dict(), schedulers=[s.state_dict() for s in schedulers])
        cfg2 = load_config(resume_config, work_dir='/tmp/unused', max_iters=resume_max_iters, smoke=smoke)
        optimizer2 = opt_class([param], **opt_kwargs)
        schedulers2 = _build_schedulers(cfg2, optimizer2)  # built fresh, then resumed, as Runner.resume does
        optimizer2.load_state_dict(state['optimizer'])
        for sched, sd in zip(schedulers2, state['schedulers']):
            sched.load_state_dict(sd)
        run(cfg2, optimizer2, schedulers2, cfg1.train_cfg.max_iters, 2)
    return pd.DataFrame(rows, columns=['iter', 'lr', 'momentum', 'stage'])


def plot_schedule(trace, title: str = 'LR and momentum schedule'):
    """Figure of a :func:`schedule_trace` frame: LR (left axis) and momentum (right), resume point marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax = fig.subplots()
    ax.plot(trace['iter'], trace['lr'], color='tab:blue', label='learning rate')
    ax.set_xlabel('iteration')
    ax.set_ylabel('learning rate', color='tab:blue')
    ax2 = ax.twinx()
    ax2.plot(trace['iter'], trace['momentum'], color='tab:orange', label='momentum')
    ax2.set_ylabel('momentum', color='tab:orange')
    if trace['stage'].nunique() > 1:
        resume_at = int(trace.loc[trace['stage'] == 2, 'iter'].min())
        ax.axvline(resume_at, color='grey', linestyle='--')
        # the label sits right of its line, clear of it, at the bottom: there stage 2 starts with a raised LR and a
        # lowered momentum, so neither curve passes under it (at the top, stage 1's momentum peaks at the resume)
        ax.annotate(f'resume at {resume_at:,}', (resume_at, 0), xycoords=('data', 'axes fraction'), xytext=(4, 4),
                    textcoords='offset points', ha='left', va='bottom', fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def schedule_data(plan: Plan, stages: int = 1):
    """The LR/momentum schedule this run will use (a :func:`schedule_trace` frame): stage 1, or both stages
    (``stages=2``); None when the recipe has no second stage. A smoke run has its own short schedule."""
    both = stages == 2
    if both and plan.config_30k is None:
        return None
    if both and plan.edition != '2022':  # the final fit starts afresh: stage 1's schedule over its own length
        iters = plan.iters_30k or plan.iters_20k
        return schedule_trace(plan.config_20k, every=max(1, (iters or 20000) // 500), max_iters=iters,
                              smoke=plan.smoke_options(iters))
    total = (plan.iters_30k or 30000) if both else (plan.iters_20k or 20000)
    return schedule_trace(plan.config_20k, plan.config_30k if both else None, every=max(1, total // 500),
                          max_iters=plan.iters_20k, resume_max_iters=plan.iters_30k if both else None,
                          smoke=plan.smoke_options(plan.iters_20k))


def schedule_figure(plan: Plan, stages: int = 1, trace=None):
    """The figure of :func:`schedule_data` (``trace`` when already computed), the resume marked; None without a
    second stage for ``stages=2``."""
    trace = schedule_data(plan, stages) if trace is None else trace
    if trace is None:
        return None
    title = (f'The final fit\'s LR: stage 1\'s schedule over the final fit\'s length ({plan.title})'
             if stages == 2 and plan.edition != '2022' else f'Stage 1, then resumed: stage 2 ({plan.title})'
             if stages == 2 else f'Stage 1 LR and momentum, {plan.title}')
    return plot_schedule(trace, title=title)
