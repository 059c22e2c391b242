"""The segmentor of a config, built with this project's registrations and no download; its parameter counts."""
from __future__ import annotations

import functools
import importlib


@functools.lru_cache(maxsize=1)
def registering_modules() -> tuple[str, ...]:
    """This project's modules that register with MMSeg: the ``custom_imports`` of ``configs/_base_/default_runtime.py``
    (their one list; every config inherits it, so training imports the same ones)."""
    from mmengine.config import Config

    from .config import CONFIG_DIR

    return tuple(Config.fromfile(str(CONFIG_DIR / '_base_' / 'default_runtime.py')).custom_imports['imports'])


def init_registries() -> None:
    """Register MMSeg's and this project's modules (:func:`registering_modules`); 'mmseg' is the default scope."""
    from . import compat  # noqa: F401  (the mmcv-lite shim, before mmseg is imported)
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

    from .config import apply_width, drop_pretrained, walk_dicts

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


def model_summary(config: str):
    """Parameter counts of a config's model (built without downloading weights), as a small table of numbers."""
    import pandas as pd

    from .config import load_config

    model = build_segmentor(load_config(config, work_dir='/tmp/unused'))
    total = count_parameters(model)
    aux = sum(p.numel() for p in model.auxiliary_head.parameters()) if getattr(model, 'auxiliary_head', None) else 0
    return pd.DataFrame({'trainable parameters': [total, total - aux, aux]},
                        index=['whole model', 'used at test time (no auxiliary head)', 'auxiliary FCN head'])
