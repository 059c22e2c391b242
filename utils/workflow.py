"""The run plan the seven notebooks share: parameters merged with the run's settings on Drive, and the LR schedule.

A notebook's ``parameters`` cell sets a few knobs, most left at ``None``. :func:`make_plan` merges them
with ``settings.json``, which the first notebook run writes next to the work_dirs (on Drive in Colab), so
every later notebook, each on its own runtime, works on the same run: a value set in a later parameters
cell wins there, and the plan says so. :mod:`utils.session` reads and writes the file; this module only
decides (no I/O), so it is tested on plain dictionaries.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoints import best_or_newest
from .env import work_root as env_work_root
from .config import FINAL_FIT_SUFFIX, RECIPES, TTA_MODES, config_tta, load_config
from .labels import REPO_ROOT
from .layout import SMOKE_SIZE, image_dir, mask_dir
from .layout import KnownError, MissingFileError

#: The knobs of every notebook's parameters cell (``None`` = the run's setting, else the default).
PARAMETERS = ('SMOKE', 'RECIPE', 'REPO', 'DATA_SOURCE', 'DATA_ROOT', 'WORK_ROOT', 'ITERS_20K', 'ITERS_30K', 'TTA',
              'CHECKPOINT', 'CHECKPOINT_CONFIG', 'ALLOW_LOCAL_WORK', 'MATRIC', 'LEADERBOARD_NAME', 'FINAL_FIT')
#: The parameters each notebook reads, so its parameters cell shows only those (scripts/notebooks.py builds the cells
#: from notebooks/_parameters.py); 00_setup sets the run, the others can override a value for themselves.
_RUN = ('SMOKE', 'RECIPE', 'REPO')
READS: dict[str, tuple[str, ...]] = {
    '00_setup': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'ITERS_20K', 'ITERS_30K', 'TTA', 'FINAL_FIT', 'MATRIC',
                        'LEADERBOARD_NAME'),
    '01_data_check': _RUN + ('DATA_SOURCE', 'DATA_ROOT', 'WORK_ROOT', 'ALLOW_LOCAL_WORK'),
    '02_train_20k': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'ITERS_20K', 'FINAL_FIT', 'ALLOW_LOCAL_WORK'),
    '03_resume_30k': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'ITERS_20K', 'ITERS_30K', 'FINAL_FIT', 'ALLOW_LOCAL_WORK'),
    '04_evaluate': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'TTA', 'CHECKPOINT', 'CHECKPOINT_CONFIG', 'FINAL_FIT'),
    '05_submit': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'TTA', 'CHECKPOINT', 'CHECKPOINT_CONFIG', 'FINAL_FIT'),
    '06_handin': _RUN + ('DATA_ROOT', 'WORK_ROOT', 'CHECKPOINT', 'FINAL_FIT', 'MATRIC', 'LEADERBOARD_NAME'),
}
#: The notebooks in the order a student runs them, and the Colab runtime each one asks for (its .ipynb metadata,
#: README's notebook table, 00's introduction): 'GPU' (a T4) where a real run trains or predicts on 1,000 images,
#: 'CPU' where setting up, checking the data or building the hand-in needs none (a CPU runtime saves GPU time).
RUNTIMES: dict[str, str] = {'00_setup': 'CPU', '01_data_check': 'CPU', '02_train_20k': 'GPU', '03_resume_30k': 'GPU',
                            '04_evaluate': 'GPU', '05_submit': 'GPU', '06_handin': 'CPU'}
NOTEBOOKS = tuple(RUNTIMES)
#: The parameters kept in settings.json (CHECKPOINT, CHECKPOINT_CONFIG and ALLOW_LOCAL_WORK concern one notebook).
KEPT = ('SMOKE', 'RECIPE', 'REPO', 'DATA_SOURCE', 'DATA_ROOT', 'WORK_ROOT', 'ITERS_20K', 'ITERS_30K', 'TTA', 'MATRIC',
        'LEADERBOARD_NAME', 'FINAL_FIT')
#: Keys settings.json carries about itself (written by utils.session; not parameters).
SETTINGS_META = ('format', 'written_by', 'updated')
#: Where a value came from, as every message about it says.
FROM_HERE = "this notebook's parameters cell"
FROM_SETTINGS = 'settings.json'
#: Smoke runs: iterations of stage 1 and of the resume to stage 2.
NOTEBOOK_SMOKE_ITERS = (60, 90)


class PlanError(KnownError, ValueError):
    """A parameter has a value that cannot work; the message names it and the choices."""


def _path_like(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).strip() != ''


def _iters(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


#: What each parameter may be (``None`` always means "not set"): a test and the words for the choices.
SCHEMA: dict[str, tuple[Any, str]] = {
    'SMOKE': (lambda v: isinstance(v, bool), 'True or False'),
    'RECIPE': (lambda v: isinstance(v, str) and v in RECIPES, 'one of ' + ', '.join(map(repr, RECIPES))),
    'REPO': (lambda v: isinstance(v, str) and v.strip() != '', "'owner/name' on GitHub or a Drive folder path"),
    'DATA_SOURCE': (lambda v: isinstance(v, str) and v.strip() != '',
                    "a Drive share link or file id, a zip or folder path, or 'synthetic'"),
    'DATA_ROOT': (_path_like, 'a folder path (text)'),
    'WORK_ROOT': (_path_like, 'a folder path (text)'),
    'ITERS_20K': (_iters, 'a whole number of iterations, at least 1'),
    'ITERS_30K': (_iters, 'a whole number of iterations, at least 1'),
    'TTA': (lambda v: isinstance(v, str) and v in TTA_MODES, 'one of ' + ', '.join(map(repr, TTA_MODES))),
    'CHECKPOINT': (_path_like, 'the path of a .pth file'),
    'CHECKPOINT_CONFIG': (_path_like, 'a config name from configs/ or a config path'),
    'ALLOW_LOCAL_WORK': (lambda v: isinstance(v, bool), 'True or False'),
    'FINAL_FIT': (lambda v: isinstance(v, bool), 'True (train on train + val for the test submission) or False'),
    'MATRIC': (lambda v: isinstance(v, str) and v.strip() != '' and '/' not in v and '\\' not in v,
               "your matriculation number as text, e.g. 'G1234567A'"),
    'LEADERBOARD_NAME': (lambda v: isinstance(v, str) and v.strip() != '', 'your leaderboard user name as text'),
}


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
    return kept, notes


@dataclass
class Plan:
    """Everything a notebook needs to know about this run, and where each value came from."""

    notebook: str
    smoke: bool
    recipe: str
    config_20k: str
    config_30k: str | None
    repo: str
    data_source: str | None
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
    keep_dir: Path | None = None  # where settings.json and the dataset copy live (set by utils.session.start)
    keep_shared: bool = True  # False: keep_dir is this runtime's own disk (Colab without Drive), unseen by the others
    matric: str | None = None  # 06_handin: the student's matriculation number and leaderboard name
    leaderboard_name: str | None = None

    @property
    def work_dir_20k(self) -> Path:
        return self.work_root / (self.config_20k + (FINAL_FIT_SUFFIX if self.final_fit else ''))

    @property
    def work_dir_30k(self) -> Path | None:
        return self.work_root / (self.config_30k + (FINAL_FIT_SUFFIX if self.final_fit else '')) if self.config_30k \
            else None

    @property
    def trained_work_dirs(self) -> list[Path]:
        """The stage work_dirs that exist, stage 1 first (what the curves and checkpoint tables show)."""
        return [d for d in (self.work_dir_20k, self.work_dir_30k) if d is not None and d.is_dir()]

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
        return self.work_root / ('submission-SMOKE-not-for-upload.zip' if self.smoke else
                                 f'submission-{self.recipe}{"-trainval" if self.final_fit else ""}.zip')

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
        """The plan as a table: setting, value, and where the value came from."""
        import pandas as pd

        rows = [('notebook', self.notebook, ''), ('smoke run', self.smoke, self.sources.get('SMOKE', '')),
                ('recipe', self.recipe, self.sources.get('RECIPE', '')), ('stage-1 config', self.config_20k, ''),
                ('stage-2 config', self.config_30k or '- (no second stage)', ''),
                ('code from', self.repo, self.sources.get('REPO', '')),
                ('data source', self.data_source or '- (set DATA_SOURCE in 01_data_check)',
                 self.sources.get('DATA_SOURCE', '')),
                ('data on this runtime', self.data_root, self.sources.get('DATA_ROOT', '')),
                ('work root (checkpoints)', self.work_root, self.sources.get('WORK_ROOT', '')),
                ('iterations, stage 1', self.iters_20k or f'the config\'s ({config_facts(self.config_20k)[0]:,})',
                 self.sources.get('ITERS_20K', '')),
                ('iterations, stage 2', self.iters_30k or (f'the config\'s ({config_facts(self.config_30k)[0]:,})'
                                                           if self.config_30k else '-'),
                 self.sources.get('ITERS_30K', '')),
                ('pre-trained weights', 'ImageNet-1k weights only: ' + config_facts(self.config_20k)[1],
                 'course rule' if not self.smoke else 'course rule (a smoke run starts from random weights)'),
                ('parameters (course formula)', f'{config_facts(self.config_20k)[2]:,}',
                 'sum(p.numel() for p in model.parameters() if p.requires_grad)'),
                ('final fit on train + val', self.final_fit, self.sources.get('FINAL_FIT', '')),
                ('mixed precision (AMP)', self.amp, ''), ('test-time augmentation', self.tta, self.sources.get('TTA', ''))]
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


@functools.lru_cache(maxsize=None)
def config_facts(config: str) -> tuple[int, str, int]:
    """``(iterations, where its pre-trained weights come from, trainable parameters)`` of a config, for the plan table."""
    from .model import build_segmentor, count_parameters
    from .pretrained import weights_source

    cfg = load_config(config, work_dir='/tmp/unused')
    return int(cfg.train_cfg.max_iters), weights_source(cfg), count_parameters(build_segmentor(cfg))


def make_plan(params: dict[str, Any] | None = None, *, notebook: str = '', settings: dict[str, Any] | None = None,
              gpu: bool = False, colab: bool = False, drive_project: str | os.PathLike | None = None,
              content: str | os.PathLike = '/content', code_from: str = 'this checkout') -> Plan:
    """Resolve a notebook's parameters against the run's ``settings`` (settings.json) and this runtime.

    A parameter set here (not ``None``) wins over the setting, and a note says so when they differ.
    Smoke or real: ``SMOKE`` when given (here or in the settings); otherwise a real run when something
    points at real data (``DATA_SOURCE``/``DATA_ROOT``) or a GPU is present, and a smoke run on a CPU
    with nothing pointing at real data. Checking that a real run has a GPU is :mod:`utils.session`'s job.
    """
    params = {k: v for k, v in (params or {}).items() if k in PARAMETERS}
    check_parameters(params)
    settings, notes = check_settings(settings or {}, FROM_SETTINGS)
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

    recipe = pick('RECIPE', 'seed')
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
    work_root = Path(pick('WORK_ROOT', str(env_work_root(keep)
                                           / ('smoke' if smoke else ''))))
    if data_root is None:
        data_root = (Path(content) / 'data' / 'celebamask') if colab else (
            work_root / 'data' if smoke else REPO_ROOT / 'data' / 'celebamask')
        sources['DATA_ROOT'] = 'default'
    if smoke and data_source is None:
        data_source = 'synthetic'
    final_fit = bool(pick('FINAL_FIT', False))  # its type was checked with the others (SCHEMA)
    iters_20k, iters_30k = pick('ITERS_20K'), pick('ITERS_30K')
    if smoke:
        iters_20k, iters_30k = iters_20k or NOTEBOOK_SMOKE_ITERS[0], iters_30k or NOTEBOOK_SMOKE_ITERS[1]
    config_20k, config_30k = RECIPES[recipe]
    checkpoint, checkpoint_config = params.get('CHECKPOINT'), params.get('CHECKPOINT_CONFIG')
    matric, leaderboard_name = pick('MATRIC'), pick('LEADERBOARD_NAME')
    return Plan(notebook=notebook, smoke=smoke, recipe=recipe, config_20k=config_20k, config_30k=config_30k,
                repo=str(repo), data_source=None if data_source is None else str(data_source),
                data_root=Path(data_root), work_root=work_root, iters_20k=iters_20k,
                iters_30k=iters_30k if config_30k else None, amp=gpu, tta=tta,
                checkpoint=Path(checkpoint) if checkpoint else None,
                checkpoint_config=str(checkpoint_config) if checkpoint_config else None,
                allow_local_work=bool(params.get('ALLOW_LOCAL_WORK')), final_fit=final_fit, sources=sources,
                chosen=chosen, notes=notes, matric=None if matric is None else str(matric),
                leaderboard_name=None if leaderboard_name is None else str(leaderboard_name))


def final_checkpoint(plan: Plan) -> Path:
    """The checkpoint to evaluate/submit: ``CHECKPOINT`` when set, else the best-mIoU one of the run's last stage.
    The one place this choice is made, with the one message when there is none (a :class:`MissingFileError`)."""
    if plan.checkpoint is not None:
        if not plan.checkpoint.is_file():
            raise MissingFileError(f'CHECKPOINT = {str(plan.checkpoint)!r} does not exist: check the path, or set '
                                    'CHECKPOINT = None to use the run\'s final checkpoint.')
        return plan.checkpoint
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

    Runs the real MMEngine schedulers of the configs, as :func:`utils.config.load_config` sets them up for
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


def schedule_figure(plan: Plan, stages: int = 1):
    """The LR/momentum schedule this run will use: stage 1, or both stages with the resume marked (``stages=2``).

    None when the recipe has no second stage. A smoke run shows its own short schedule.
    """
    both = stages == 2
    if both and plan.config_30k is None:
        return None
    total = (plan.iters_30k or 30000) if both else (plan.iters_20k or 20000)
    trace = schedule_trace(plan.config_20k, plan.config_30k if both else None, every=max(1, total // 500),
                           max_iters=plan.iters_20k, resume_max_iters=plan.iters_30k if both else None,
                           smoke=plan.smoke_options(plan.iters_20k))
    title = (f'Stage 1, then resumed: stage 2 ({plan.title})' if both else f'Stage 1 LR and momentum, {plan.title}')
    return plot_schedule(trace, title=title)
