"""Everything about configs: find, load, scale to smoke size, point at data, set iterations, resolve class weights.

A config is a path or a name from ``configs/`` (MMSeg 1.x files layered with ``_base_``), always
loaded by file path (``mmseg::`` inheritance needs ``pkg_resources``, gone from setuptools >= 82).
:func:`load_config` applies this project's options; :data:`RECIPES` names the configs the notebooks use.
"""
from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path
from typing import Any

from utils.base.labels import CLASSES, NUM_CLASSES, REPO_ROOT
from utils.base.layout import LAYOUT_HELP, SMOKE_SIZE, SPLIT_FILE, image_dir, mask_dir
from utils.base.layout import KnownError

CONFIG_DIR = REPO_ROOT / 'configs'
#: Names a config may give as ``class_weight``: weights computed from the train masks (utils.core.stats).
WEIGHT_METHODS = ('median_freq', 'inv_sqrt')
#: Iterations of a smoke run (64 px synthetic faces on a CPU), unless a config's ``smoke`` says otherwise.
SMOKE_ITERS = 40
TTA_MODES = ('none', 'flip', 'ms')  # test-time augmentation: none, flip with the L/R swap, 3 scales x flip
#: The TTA of a config that names none (every config names it once: ``test_tta`` in ``_base_/default_runtime.py``).
DEFAULT_TTA = 'flip'
#: recipe name -> (stage-1 config, stage-2 "resume to 30k" config or None)
RECIPES: dict[str, tuple[str, str | None]] = {
    'seed': ('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512',
             'deeplabv3plus_r50-d8_ohem-cw_1xb4-30k_celebamask-512x512'),
    'improved': ('deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', None),
    'improved-r101': ('deeplabv3plus_r101-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', None),
    'swin-b': ('upernet_swin-b-w12-in1k_flipswap-aug-isw-lovasz_1xb4-16k_celebamask-512x512', None),
    'segformer-b3': ('segformer_mit-b3_flipswap-aug-isw-lovasz_1xb4-30k_celebamask-512x512', None),
    # 2025-26 edition (small-model rules, from scratch; utils.base.edition.RULES['2025'].recipes)
    'bisenetv2-slim': ('bisenetv2-slim_fcn_ce-dice-lovasz_1xb8-22k5_celebamask-mini-512x512', None),
    'fast-scnn': ('fast-scnn_ce-dice-lovasz_1xb8-22k5_celebamask-mini-512x512', None),
    'lraspp-mv3s': ('lraspp_m-v3s-d8_ce-dice-lovasz_1xb8-22k5_celebamask-mini-512x512', None),
}


#: a final fit (train + val) trains into ``<config>_trainval``, apart from the run chosen on val
FINAL_FIT_SUFFIX = '_trainval'


class ConfigError(KnownError, RuntimeError):
    """A config (or the data it points at) cannot be used; the message says why and what to do."""


def available_configs() -> list[str]:
    """Config names in ``configs/`` (without ``.py``), base files excluded."""
    return sorted(p.stem for p in CONFIG_DIR.glob('*.py'))


def resolve_config(config: str | os.PathLike) -> Path:
    """A config path from a path or a bare name in ``configs/``; unknown names list close matches."""
    path = Path(config)
    candidates = [path, CONFIG_DIR / path, CONFIG_DIR / f'{path}.py', CONFIG_DIR / f'{path.name}.py']
    for cand in candidates:
        if cand.is_file() and cand.suffix == '.py':
            return cand.resolve()
    names = available_configs()
    close = difflib.get_close_matches(path.stem, names, n=3, cutoff=0.4)
    hint = f' Did you mean: {", ".join(close)}?' if close else ''
    raise ConfigError(f'Unknown config {str(config)!r}.{hint} Available in {CONFIG_DIR}: {", ".join(names)}')


def walk_dicts(obj: Any):
    """Yield every dict nested in ``obj`` (lists and dicts)."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk_dicts(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from walk_dicts(v)


def _dataloaders(cfg) -> list:
    return [cfg.get(k) for k in ('train_dataloader', 'val_dataloader', 'test_dataloader') if cfg.get(k)]


def set_data_root(cfg, data_root: str | os.PathLike) -> None:
    """Point every dataset of ``cfg`` at ``data_root``."""
    cfg.data_root = str(data_root)
    for loader in _dataloaders(cfg):
        for node in walk_dicts(loader.get('dataset')):
            if 'data_root' in node:
                node['data_root'] = str(data_root)


def set_max_iters(cfg, max_iters: int) -> None:
    """Shorten/extend training to ``max_iters``: the loop, every scheduler's ``total_iters``, ``begin`` and ``end``
    (whatever its type; a part of the run such as a warm-up keeps its share) and the intervals follow."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = int(max_iters)
    for sched in cfg.get('param_scheduler') or []:
        if isinstance(sched.get('total_iters'), int):
            sched['total_iters'] = int(max_iters) if sched['total_iters'] >= old else \
                max(1, round(sched['total_iters'] * max_iters / old))
        if sched.get('end') == old:
            sched['end'] = int(max_iters)
        elif isinstance(sched.get('end'), int) and sched['end'] < old:  # e.g. a warm-up: keep its share
            # at least 2 iterations: MMEngine's LinearLR spanning a single iteration never leaves its start factor
            sched['end'] = min(max(2, round(sched['end'] * max_iters / old)), max(1, int(max_iters) - 1))
        if isinstance(sched.get('begin'), int) and 0 < sched['begin'] < old:
            sched['begin'] = min(round(sched['begin'] * max_iters / old), sched.get('end', max_iters) - 1)
    if cfg.train_cfg.get('val_interval', 0) > max_iters:
        cfg.train_cfg.val_interval = int(max_iters)


def apply_smoke(cfg, size: int = SMOKE_SIZE, max_iters: int = SMOKE_ITERS) -> None:
    """Turn any config into a CPU smoke run: inputs scaled from 512 to ``size``, short schedule, no download."""
    factor = size / 512

    def scaled(value):
        if isinstance(value, (list, tuple)):
            return type(value)(max(1, round(v * factor)) if isinstance(v, (int, float)) else v for v in value)
        return max(1, round(value * factor))

    for loader in _dataloaders(cfg):
        loader['num_workers'] = 0
        loader['persistent_workers'] = False
        loader['pin_memory'] = False
        for node in walk_dicts(loader.get('dataset')):
            if 'type' in node:  # any transform with a size (Resize, RandomResize, a crop, a subclass of them)
                for key in ('scale', 'crop_size', 'scales'):
                    if key in node and node[key] is not None:
                        node[key] = ([scaled(s) for s in node[key]] if key == 'scales' else scaled(node[key]))
    for node in walk_dicts(cfg.get('model')):
        if node.get('type') == 'SegDataPreProcessor' and node.get('size'):
            node['size'] = (size, size)
        if node.get('type') == 'OHEMPixelSampler' and node.get('min_kept'):
            node['min_kept'] = max(1, int(node['min_kept'] * factor ** 2))
        if node.get('mode') == 'slide':
            node['crop_size'] = scaled(node['crop_size'])
            node['stride'] = scaled(node['stride'])
    if cfg.get('data_preprocessor', {}).get('size'):
        cfg.data_preprocessor['size'] = (size, size)
    drop_pretrained(cfg.model)
    set_max_iters(cfg, max_iters)
    cfg.train_cfg.val_interval = max(1, max_iters // 2)
    hooks = cfg.default_hooks
    hooks.checkpoint['interval'] = cfg.train_cfg.val_interval
    hooks.logger['interval'] = max(1, min(hooks.logger.get('interval', 50), max_iters // 8))
    cfg.env_cfg['cudnn_benchmark'] = False
    cfg.setdefault('randomness', dict(seed=0))  # smoke runs are reproducible


#: channel counts scaled by ``width`` are rounded to a multiple of this (grouped and split convolutions divide them)
WIDTH_DIVISOR = 8


def scaled_channels(value, width: float):
    """``value`` (an int or a tuple of ints) times ``width``, each rounded to a multiple of :data:`WIDTH_DIVISOR`."""
    def one(c):
        return max(WIDTH_DIVISOR, int(round(c * width / WIDTH_DIVISOR)) * WIDTH_DIVISOR)

    return type(value)(one(c) for c in value) if isinstance(value, (list, tuple)) else one(value)


def apply_width(cfg, model_cfg=None) -> None:
    """Set every channel count named in ``cfg.width_channels`` (dotted paths into ``cfg.model``, their values at
    width 1.0) to that value times ``cfg.width``, in ``model_cfg`` (default: ``cfg.model``). Always computed from
    the width-1.0 values, so applying it twice (a config dumped by training and loaded again) changes nothing; a
    channel count in ``width_channels`` is therefore changed there, not with ``--cfg-options model...``.
    Configs without ``width_channels`` are left as they are."""
    table = cfg.get('width_channels')
    if not table:
        return
    width = float(cfg.get('width', 1.0))
    if not width > 0:
        raise ConfigError(f'width = {cfg.get("width")!r}: the width knob must be a positive number (1.0 = the '
                          'recipe as published).')
    for dotted, base in table.items():
        *path, leaf = dotted.split('.')
        node = cfg.model if model_cfg is None else model_cfg
        try:
            for key in path:
                node = node[int(key)] if isinstance(node, (list, tuple)) else node[key]
            node[leaf]  # noqa: B018 - the place must exist
        except (KeyError, IndexError, ValueError, TypeError):
            raise ConfigError(f'width_channels names model.{dotted}, which the model config does not have: '
                              'correct the path in the config (dotted keys, list items by number).') from None
        node[leaf] = scaled_channels(tuple(base) if isinstance(base, list) else base, width)


def use_train_and_val(cfg) -> None:
    """A final fit: train on train + val (a ConcatDataset, both with the train pipeline), validated once at the end.

    The course allows it for the test submission once a recipe is chosen on val; the val scores of such a model
    are not honest (it has seen val), so there is one validation only, at the end, and ``cfg.final_fit`` says so.
    """
    import copy

    train_set = cfg.train_dataloader.dataset
    if train_set.get('type') == 'ConcatDataset':
        return
    if str(cfg.get('edition')) == '2025':  # no val masks: the final fit trains on every stem of the split
        cfg.train_cfg.val_interval = cfg.train_cfg.max_iters  # (utils.train adds the holdout to the train stems)
        cfg.final_fit = True
        return
    val_set = copy.deepcopy(train_set)
    val_prefix = cfg.val_dataloader.dataset.data_prefix
    val_set['data_prefix'] = dict(img_path=val_prefix['img_path'], seg_map_path=val_prefix['seg_map_path'])
    cfg.train_dataloader.dataset = dict(type='ConcatDataset', datasets=[train_set, val_set])
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters
    cfg.final_fit = True


SPLIT_PREFIX = dict(img_path='train/train_image', seg_map_path='train/train_mask')


def set_split(cfg, split: dict, work_dir: str | os.PathLike) -> dict[str, Path]:
    """Point ``cfg`` at a holdout split of the training pairs (2025-26: val has no masks, so 100 of the 1,000 pairs
    validate): ``split['train']`` stems to the train dataset, ``split['holdout']`` stems to the val and test
    datasets, each as an MMSeg ``ann_file`` (one stem a line) written into ``work_dir``, all reading
    ``train/train_image`` + ``train/train_mask``. Returns ``{'train': path, 'holdout': path}``.

    A final fit passes ``train`` = every stem: it still validates on the holdout, which it has then seen.
    """
    work = Path(work_dir)
    problems = [k for k in ('train', 'holdout') if not split.get(k)]
    if problems:
        raise ConfigError(f'The split has no {" and no ".join(problems)} stems: it needs both lists '
                          f'(utils.data.split.make_holdout writes them into {work / SPLIT_FILE}); make it again.')
    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for key in ('train', 'holdout'):
        files[key] = work / f'split_{key}.txt'
        files[key].write_text(''.join(f'{Path(str(s)).stem}\n' for s in split[key]))
    for loader, key in (('train_dataloader', 'train'), ('val_dataloader', 'holdout'), ('test_dataloader', 'holdout')):
        if not cfg.get(loader):
            continue
        if loader == 'test_dataloader' and cfg.test_dataloader is cfg.get('val_dataloader'):
            continue
        dataset = cfg[loader]['dataset']
        for node in (dataset.get('datasets') or [dataset]):
            node['ann_file'] = str(files[key])
            node['data_prefix'] = dict(SPLIT_PREFIX)
    return files


def train_data_root(cfg) -> str:
    """The data root of the training set (the first one of a final fit's train + val)."""
    ds = cfg.train_dataloader.dataset
    return (ds.get('datasets') or [ds])[0]['data_root']


def drop_pretrained(model_cfg) -> None:
    """No pre-trained weights in ``model_cfg`` (in place): ``pretrained`` and every ``Pretrained`` init_cfg go. The
    one home of this rule: smoke runs start from random weights, and a model built to load a checkpoint downloads
    nothing."""
    model_cfg['pretrained'] = None
    for node in walk_dicts(model_cfg):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None


def check_num_classes(cfg) -> None:
    """Every head and class-weight list of ``cfg`` must agree with the dataset's 19 classes."""
    problems = []
    for name in ('decode_head', 'auxiliary_head'):
        heads = cfg.model.get(name)
        for head in heads if isinstance(heads, list) else [heads] if heads else []:
            if head.get('num_classes') not in (None, NUM_CLASSES):
                problems.append(f'model.{name}.num_classes = {head["num_classes"]}')
            for node in walk_dicts(head.get('loss_decode')):
                weight = node.get('class_weight')
                if isinstance(weight, str) and weight not in WEIGHT_METHODS:
                    problems.append(f'model.{name} class_weight {weight!r} is not one of {WEIGHT_METHODS}')
                if isinstance(weight, (list, tuple)) and len(weight) != NUM_CLASSES:
                    problems.append(f'model.{name} class_weight has {len(weight)} entries')
    if problems:
        raise ConfigError(f'Class-count mismatch: CelebAMask has {NUM_CLASSES} classes ({", ".join(CLASSES[:4])}, ...) '
                         f'but {"; ".join(problems)}. Set them to {NUM_CLASSES} in the config or with '
                         '--cfg-options.')


def check_data_root(data_root: str | os.PathLike, splits: tuple[str, ...] = ('train', 'val')) -> Path:
    """Fail early, with the expected layout, if ``data_root`` lacks a needed split."""
    root = Path(data_root)
    if not root.is_dir():
        raise ConfigError(f'Data root not found: {root}. Fetch the dataset first (`python -m utils.data fetch '
                         f'SOURCE --out {root}`) or make synthetic data (`python -m utils.core.synthetic --out {root}`).')
    for split in splits:
        for folder in (image_dir(root, split), mask_dir(root, split)):
            if not folder.is_dir():
                raise ConfigError(f'Missing split folder {folder} under {root}; {LAYOUT_HELP}')
    return root


def load_config(config: str | os.PathLike, *, data_root: str | os.PathLike | None = None,
                work_dir: str | os.PathLike | None = None, max_iters: int | None = None, amp: bool = False,
                smoke: bool | dict | None = None, cfg_options: dict | None = None, launcher: str = 'none',
                channels_last: bool | None = None, final_fit: bool = False):
    """Load ``config`` by file path and apply this project's options; returns an mmengine ``Config``.

    ``final_fit``: train on train + val (:func:`use_train_and_val`).
    ``channels_last=None`` trains in the channels-last memory format exactly when a CUDA GPU is present:
    on the H200 it made AMP training 1.22x (seed) to 1.33x (improved R50) faster (docs/BENCHMARKS.md).
    """
    from mmengine.config import Config

    path = resolve_config(config)
    cfg = Config.fromfile(str(path))
    cfg_options = dict(cfg_options or {})
    smoke_keys = {k: cfg_options.pop(k) for k in list(cfg_options) if k == 'smoke' or k.startswith('smoke.')}
    if smoke_keys:  # options of the smoke scaling itself come first ...
        cfg.merge_from_dict(smoke_keys)
    smoke_opts = cfg.pop('smoke', None)
    default = dict(size=SMOKE_SIZE, max_iters=SMOKE_ITERS)
    if smoke is True:
        smoke_opts = {**default, **(smoke_opts or {})}
    elif isinstance(smoke, dict):
        smoke_opts = {**default, **(smoke_opts or {}), **smoke}
    elif smoke is False:
        smoke_opts = None
    if smoke_opts:
        apply_smoke(cfg, int(smoke_opts['size']), int(smoke_opts['max_iters']))
    cfg.smoke_run = bool(smoke_opts)  # said once, here: training never guesses it back from the schedule
    if max_iters:
        set_max_iters(cfg, max_iters)
    if data_root is not None:
        set_data_root(cfg, data_root)
    if final_fit:
        use_train_and_val(cfg)
    if work_dir is not None:  # utils.train always gives one (env.default_work_dir: on Drive in Colab)
        cfg.work_dir = str(work_dir)
    if cfg_options:  # ... every other explicit override last: it wins over smoke scaling and --max-iters, as in MMSeg
        cfg.merge_from_dict(cfg_options)
    apply_width(cfg)  # after the overrides: --cfg-options width=0.8 rescales the channel lists
    check_num_classes(cfg)
    if amp:
        import torch

        if torch.cuda.is_available():
            cfg.optim_wrapper['type'] = 'AmpOptimWrapper'
            cfg.optim_wrapper['loss_scale'] = 'dynamic'
        else:
            warnings.warn('AMP needs a CUDA GPU and none is available: training in FP32 instead.')
    cfg.launcher = launcher
    if channels_last is None:
        import torch

        channels_last = torch.cuda.is_available()
    cfg.channels_last = bool(channels_last)
    if launcher != 'none':
        import torch

        if not torch.cuda.is_available():  # CPU processes (tests, CPU clusters): gloo, DDP without devices
            cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
            cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False, find_unused_parameters=False)
    cfg.config_path = str(path)
    return cfg


def best_metric(cfg) -> str:
    """The validation metric a config keeps its best checkpoint by (``save_best``: 'imgF' for the 2025-26 recipes,
    'mIoU' for 2022's); every reader of validation numbers takes its key from here, not from a literal."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    key = hook.get('save_best')
    key = key[0] if isinstance(key, (list, tuple)) and key else key
    return key if isinstance(key, str) and key != 'auto' else 'mIoU'


def format_metric(key: str, value: float) -> str:
    """``'imgF 0.8123'`` (the per-image F on the leaderboard's 0-1 scale) or ``'mIoU 74.72'`` (percent)."""
    return f'{key} {float(value):.4f}' if key == 'imgF' else f'{key} {float(value):.2f}'


def resolve_tta(tta: str | None, cfg: Any = None) -> str:
    """The one place a TTA mode is decided: ``tta`` when given, else the loaded config's ``test_tta`` (else
    :data:`DEFAULT_TTA`); a mode outside :data:`TTA_MODES` raises :class:`ConfigError` naming the choices."""
    if tta is None:
        tta = cfg.get('test_tta', DEFAULT_TTA) if cfg is not None else DEFAULT_TTA
    if tta not in TTA_MODES:
        raise ConfigError(f'Unknown TTA {tta!r}: choose one of {", ".join(TTA_MODES)}.')
    return str(tta)


def config_tta(config: str | os.PathLike) -> str:
    """The test-time augmentation a config asks for (``test_tta``, set once in ``_base_/default_runtime.py``)."""
    from mmengine.config import Config

    return resolve_tta(None, Config.fromfile(str(resolve_config(config))))


def seed_class_weights() -> list[float]:
    """The seed report's hand-picked class weights, read from the seed config (its one home)."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(resolve_config(RECIPES['seed'][0])))
    return [float(w) for w in cfg.model.decode_head.loss_decode.class_weight]
