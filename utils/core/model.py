"""The segmentor of a config, built with this project's registrations and no download; its parameter counts."""
from __future__ import annotations

import functools
import importlib


@functools.lru_cache(maxsize=1)
def registering_modules() -> tuple[str, ...]:
    """This project's modules that register with MMSeg: the ``custom_imports`` of ``configs/_base_/default_runtime.py``
    (their one list; every config inherits it, so training imports the same ones)."""
    from mmengine.config import Config

    from utils.core.config import CONFIG_DIR

    return tuple(Config.fromfile(str(CONFIG_DIR / '_base_' / 'default_runtime.py')).custom_imports['imports'])


def init_registries() -> None:
    """Register MMSeg's and this project's modules (:func:`registering_modules`); 'mmseg' is the default scope."""
    from utils.core import compat  # noqa: F401  (the mmcv-lite shim, before mmseg is imported)
    import mmseg  # noqa: F401
    from mmengine.registry import init_default_scope

    for name in registering_modules():
        importlib.import_module(name)
    init_default_scope('mmseg')


def build_segmentor(cfg, for_training: bool = False):
    """``cfg.model`` built without pretrained weights (they come from a checkpoint, or random init).

    For prediction (``for_training=False``) the losses do not matter, so data-derived class weights that
    are still names (``'inv_sqrt'``) are dropped instead of being computed from the train masks.
    """
    import copy

    from mmseg.registry import MODELS

    from utils.core.config import apply_width, drop_pretrained, walk_dicts

    init_registries()
    model_cfg = copy.deepcopy(cfg.model)
    apply_width(cfg, model_cfg)  # a config read with Config.fromfile: its width knob still applies
    drop_pretrained(model_cfg)
    for node in walk_dicts(model_cfg):
        if not for_training and isinstance(node.get('class_weight'), str):
            node['class_weight'] = None
    return MODELS.build(model_cfg)


def count_parameters(model) -> int:
    """Trainable parameters (the seed report's count: 43,589,878 for DeepLabV3+ R50 with its aux head)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def parameter_table(model, trainable_only: bool = True):
    """The parameters of a built segmentor by its parts (backbone, heads), counted as an edition's formula counts
    them (``trainable_only``: the 2022 report's ``requires_grad`` count; else every parameter, the 2025 cap's)."""
    import pandas as pd

    def count(module) -> int:
        return int(sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only))

    parts = {name: count(child) for name, child in model.named_children() if count(child)}
    aux = parts.get('auxiliary_head', 0)
    rows = {'whole model': count(model), 'used at test time (no auxiliary head)': count(model) - aux, **parts}
    return pd.DataFrame({'parameters': list(rows.values())}, index=list(rows))


# --------------------------------------------------------------------------- the 2025-26 parameter budget
def count_all_parameters(cfg, width: float | None = None) -> int:
    """Parameters of ``cfg``'s whole model (the 2025-26 formula: every parameter, auxiliary heads included), at
    ``width`` (the config's width knob; None: as configured)."""
    if width is not None:
        cfg = cfg.copy()
        cfg.width = float(width)
    return int(sum(p.numel() for p in build_segmentor(cfg).parameters()))


def fit_budget(cfg, cap: int | None = None, low: float = 0.125, high: float = 4.0, tol: float = 0.005):
    """The widest ``width`` of ``cfg`` whose whole model has fewer than ``cap`` parameters (binary search; channel
    counts are multiples of 8, so the count rises in steps). Returns ``(width, count, table)``, the table a
    DataFrame of width -> parameters and share of the cap at the widths tried and a few round ones."""
    import pandas as pd

    from utils.core.config import ConfigError
    from utils.base.edition import PARAM_CAP

    cap = int(cap or PARAM_CAP)
    if not cfg.get('width_channels'):
        raise ConfigError(f'{cfg.get("config_path", "the config")} has no width knob (`width` and `width_channels`'
                          '): the 2025-26 recipes have one; copy their pattern into your config.')
    tried = {}

    def count(w: float) -> int:
        if w not in tried:
            tried[w] = count_all_parameters(cfg, w)
        return tried[w]

    if count(low) >= cap:
        raise ConfigError(f'Even at width {low} the model has {count(low):,} parameters, not fewer than {cap:,}: '
                          'the layers that width does not scale are too large; slim them in the config.')
    while count(high) < cap and high < 64:
        low, high = high, high * 2
    while high - low > tol:
        mid = (low + high) / 2
        low, high = (mid, high) if count(mid) < cap else (low, mid)
    for w in (0.5, 0.75, 1.0, 1.25):
        count(w)
    table = pd.DataFrame({'width': sorted(tried), 'parameters': [tried[w] for w in sorted(tried)]})
    table['share of cap'] = table['parameters'] / cap
    table['under cap'] = table['parameters'] < cap
    return round(low, 4), tried[low], table


def main(argv: list[str] | None = None) -> int:
    import argparse

    from utils.base.report import cli_error

    p = argparse.ArgumentParser(prog='python -m utils.core.model', description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    f = sub.add_parser('fit-budget', help='the widest `width` of a config under the 2025-26 parameter cap')
    f.add_argument('config', help='config path or name in configs/ (with a `width` knob)')
    f.add_argument('--cap', type=int, default=None, help='fewer than this many parameters (default 1,821,085)')
    f.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    a = p.parse_args(argv)
    try:
        from utils.core.config import load_config
        from utils.base.edition import PARAM_CAP

        cfg = load_config(a.config, work_dir='/tmp/unused')
        width, count, table = fit_budget(cfg, a.cap)
    except Exception as exc:  # noqa: BLE001 - one message naming the file and the fix
        return cli_error(exc, debug=a.debug)
    cap = a.cap or PARAM_CAP
    print(table.to_string(index=False, formatters={'parameters': '{:,}'.format, 'share of cap': '{:.1%}'.format}))
    print(f'\nwidest under the cap (fewer than {cap:,}): width = {width} -> {count:,} parameters '
          f'({count / cap:.1%} of the cap). Set `width = {width}` in the config.')
    return 0


if __name__ == '__main__':
    import sys

    sys.exit(main())
