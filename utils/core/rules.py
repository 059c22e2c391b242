"""The 2025-26 course rules, enforced before training: fewer than 1,821,085 parameters, no pre-trained weights.

The count is the handout's, ``sum(p.numel() for p in model.parameters())`` on the whole built model, auxiliary heads
included (they are part of the instance that is saved). Weights are refused however a config gives them: a
``pretrained`` path anywhere in the model, an ``init_cfg`` of any ``Pretrained`` type (also inside a list, also
named by class path or given as the class itself), an ``init_cfg`` with a ``checkpoint``, and ``load_from``;
``--cfg-options`` values are merged into the config before this check, so they are covered too. The 2022 rules
(ImageNet-1k weights only) stay with :func:`utils.core.pretrained.check_course_rules`.
"""
from __future__ import annotations

from typing import Any

from utils.base.edition import DEFAULT_EDITION, rules
from utils.base.layout import KnownError


class EditionRuleError(KnownError, RuntimeError):
    """A model or its weights break the course rules of the edition in force; the message says which and how."""


def effective_edition(cfg, edition: str | None = None) -> str:
    """The edition whose rules apply: a config that says ``edition = '2025'`` keeps its rules whatever the command
    line says; otherwise ``edition`` (default 2022). An unknown edition raises utils.base.edition.EditionError."""
    said = cfg.get('edition')
    for candidate in (said, edition):
        if candidate is not None:
            rules(candidate)  # an edition the course never had is named and refused
    return '2025' if '2025' in (str(said), str(edition)) else str(edition or said or DEFAULT_EDITION)


def _is_pretrained_init(init: Any) -> bool:
    """An init_cfg that loads weights: a type named ...Pretrained... (a registry name, a class path or the class
    itself) or any init that names a checkpoint."""
    if not isinstance(init, dict):
        return False
    kind = init.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return 'pretrained' in name.lower() or bool(init.get('checkpoint'))


def weight_sources(cfg) -> list[str]:
    """Every way ``cfg`` asks for weights that were not trained here from scratch, as ``setting = value`` strings."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                here = f'{path}.{key}'
                if key == 'pretrained' and value:
                    found.append(f'{here} = {value!r}')
                elif key == 'init_cfg':
                    inits = value if isinstance(value, (list, tuple)) else [value]
                    found.extend(f'{here} = {dict(i)!r}' for i in inits if _is_pretrained_init(i))
                walk(value, here)
        elif isinstance(node, (list, tuple)):
            for k, value in enumerate(node):
                walk(value, f'{path}[{k}]')

    walk(cfg.get('model') or {}, 'model')
    if cfg.get('load_from'):
        found.append(f'load_from = {str(cfg.load_from)!r}')
    return found


def parameter_facts(cfg) -> tuple[int, str]:
    """``(count, where most of them are)`` of ``cfg``'s whole model, built from random weights on the CPU."""
    from utils.core.model import build_segmentor

    model = build_segmentor(cfg)
    total = sum(p.numel() for p in model.parameters())
    parts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    top = max(parts, key=parts.get)
    inner = {name: sum(p.numel() for p in child.parameters())
             for name, child in getattr(model, top).named_children()}
    where = f'{top} ({parts[top]:,}'
    if inner:
        sub = max(inner, key=inner.get)
        where += f'; its largest part {top}.{sub} has {inner[sub]:,}'
    return int(total), where + ')'


def check_edition_rules(cfg, edition: str | None = None) -> int | None:
    """Refuse, before anything is trained, what the edition's rules forbid; returns the parameter count (None under
    rules without a cap). Under 2025: ``count >= 1,821,085`` or any weights (:func:`weight_sources`) raise one
    :class:`EditionRuleError` naming the count, the cap and the module that holds most parameters."""
    ed = rules(effective_edition(cfg, edition))
    if ed.param_cap is None and not ed.from_scratch:
        return None
    count, where = parameter_facts(cfg)
    problems = []
    if ed.param_cap is not None and count >= ed.param_cap:
        problems.append(f'the model has {count:,} parameters, and the rules allow fewer than {ed.param_cap:,} '
                        f'({count / ed.param_cap:.1%} of it)')
    weights = weight_sources(cfg) if ed.from_scratch else []
    if weights:
        problems.append('pre-trained weights are not allowed (trained from scratch only), and the config gives '
                        + '; '.join(weights))
    if problems:
        fixes = (['slim the model (a smaller `width` in the config: `python -m utils.core.model fit-budget CONFIG` finds '
                  'the widest under the cap)'] if count >= (ed.param_cap or count + 1) else []) \
            + (['remove every pretrained / init_cfg Pretrained / load_from setting'] if weights else [])
        raise EditionRuleError(
            f'Refused under the {ed.edition} rules: ' + '; '.join(problems) + f'. Count: {count:,} parameters '
            f'({ed.count_formula}, auxiliary heads included; cap {ed.param_cap:,}); most are in {where}. '
            'Nothing was trained. Fix: ' + ' and '.join(fixes) + '.')
    return count
