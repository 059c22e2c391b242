"""Every way weights enter a run, found in one walk of the config; what the course rules make of each.

MMEngine and MMSeg load weights from many settings: ``pretrained`` on any module (a file, a URL, or ``True`` for a
timm or Hugging Face backbone), any ``init_cfg`` (a dict or a list of them, whatever the initializer's type is
called, ``'Pretrained'`` or ``'mmengine.model.weight_init.PretrainedInit'``: it loads what its ``checkpoint`` names),
a TIMM backbone's ``checkpoint_path``, and ``load_from`` at the top. :func:`weight_loads` lists them all;
:func:`utils.core.pretrained.check_course_rules` judges each one, the plan table shows :func:`weights_plan`, and the
2025-26 rules (no pre-training at all) refuse every entry it lists.

Known weight files are recognised by their bytes, not their name: OpenMMLab names each file it publishes with the
first 8 hex digits of the file's SHA-256 (``mit_b3_20220624-13b1141c.pth``), so a file named like a known one must
have a SHA-256 that starts with those digits (:data:`KNOWN_SHA256_PREFIX`); a URL naming a known file counts only
on OpenMMLab's own server.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: Weight files of the recipes -> the first 8 hex digits of their SHA-256, as OpenMMLab publishes them in the file
#: name (the open-mmlab:// names resolve to these files). Checked against the real hash of any local file.
KNOWN_SHA256_PREFIX = {
    'resnet50_v1c': '2cccc1ad',  # download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth
    'resnet101_v1c': 'e67eebb6',  # .../resnet101_v1c-e67eebb6.pth
    'swin_base_patch4_window12_384_20220317-55b0104a.pth': '55b0104a',
    'mit_b3_20220624-13b1141c.pth': '13b1141c',
}
OPENMMLAB_HOSTS = ('download.openmmlab.com',)
#: Tokens of a timm tag that say "more than ImageNet-1k" (a fine-tune from bigger data, distillation, other data).
_NOT_PLAIN = re.compile(r'^(in\d+k|in\d+ft\d+k|ft|laion\w*|ig\w*|jft\w*|clip\w*|openai\w*|dist|d|cc\d+m|ssl|swsl|'
                        r'semi\w*|wsl|mim\w*|yfcc\w*|dino\w*|eva\w*|m\d+m|merged\w*|sw\w*|datacomp\w*|'
                        r'dfn\w*|metaclip\w*|lvd\w*)$')


def _walk(node: Any, where: str, out: list) -> None:
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _walk(item, f'{where}[{i}]', out)
        return
    if not isinstance(node, dict):
        return
    kind = str(node.get('type', ''))
    for key, value in node.items():
        here = f'{where}.{key}'
        if key == 'pretrained' and isinstance(value, str) and value:
            out.append((here, value))
        elif key == 'pretrained' and value is True:  # timm / Hugging Face backbones fetch by model name
            name = node.get('model_name') or node.get('pretrained_model_name_or_path') or node.get('arch') or '?'
            hub = 'hf-hub:' if 'huggingface' in kind.lower() else 'timm/'
            out.append((here, f'{hub}{name}'))
        elif key in ('checkpoint_path', 'pretrained_model_name_or_path') and isinstance(value, str) and value:
            out.append((here, value if key == 'checkpoint_path' else f'hf-hub:{value}'))
        elif key == 'init_cfg':
            for i, init in enumerate(value if isinstance(value, (list, tuple)) else [value]):
                spot = here if not isinstance(value, (list, tuple)) else f'{here}[{i}]'
                if isinstance(init, dict) and init.get('checkpoint'):  # any initializer type that names weights
                    out.append((f'{spot}.checkpoint', str(init['checkpoint'])))
                if isinstance(init, dict):
                    _walk({k: v for k, v in init.items() if k != 'checkpoint'}, spot, out)
        else:
            _walk(value, here, out)


def weight_loads(cfg) -> list[tuple[str, str]]:
    """``(setting, what)`` for every way weights would enter a run of ``cfg``: every ``pretrained`` and ``init_cfg``
    anywhere in ``cfg.model`` (lists too), timm / Hugging Face ``pretrained=True`` (as ``timm/<model>`` or
    ``hf-hub:<model>``), ``checkpoint_path``, and ``load_from`` (a resume's own checkpoint included: the caller
    decides)."""
    out: list[tuple[str, str]] = []
    _walk(dict(cfg.get('model') or {}), 'model', out)
    if cfg.get('load_from'):
        out.append(('load_from', str(cfg.get('load_from'))))
    return out


def known_name(value: str) -> str | None:
    """The :data:`KNOWN_SHA256_PREFIX` key a setting names (by its last path part), else None."""
    key = value[len('open-mmlab://'):] if value.startswith('open-mmlab://') else os.path.basename(value.split('?')[0])
    return key if key in KNOWN_SHA256_PREFIX else None


def sha256_of(path: str | os.PathLike) -> str:
    from utils.base.trust import sha256_file

    return sha256_file(path)


def known_file_problem(value: str) -> str | None:
    """Why a setting naming a known weight file is not that file (another host, or other bytes); None when fine."""
    name = known_name(value)
    if name is None or value.startswith('open-mmlab://'):
        return None
    if '://' in value:
        host = value.split('/')[2]
        return None if host in OPENMMLAB_HOSTS else (
            f'{value!r} takes a known file\'s name from another host ({host}): only OpenMMLab\'s own copy is known')
    if not Path(value).is_file():
        return f'{value!r} names a known weight file, but no such file exists here'
    sha = sha256_of(value)
    if not sha.startswith(KNOWN_SHA256_PREFIX[name]):
        return (f'{value!r} has the name of OpenMMLab\'s {name} but not its bytes (SHA-256 {sha[:8]}..., OpenMMLab '
                f'publishes {KNOWN_SHA256_PREFIX[name]}...): a renamed file is judged by its content')
    return None


def timm_tag_problem(value: str) -> str | None:
    """For a timm / Hugging Face name: why its tag is not plain ImageNet-1k (``.ms_in1k``, ``.fb_in1k``, ``.a1_in1k``
    pass; ``in12k_ft_in1k``, ``in22k_ft_in1k``, ``laion2b_ft_in1k``, ``ig1b_ft_in1k``, no tag, do not)."""
    model = value.split(':', 1)[-1].rsplit('/', 1)[-1]
    tag = model.rsplit('.', 1)[1] if '.' in model else ''
    tokens = tag.lower().split('_') if tag else []
    if not tokens or tokens[-1] != 'in1k' or any(_NOT_PLAIN.match(t) for t in tokens[:-1]):
        return (f'{value!r} is a timm/Hugging Face model without a plain ImageNet-1k tag (.ms_in1k, .fb_in1k, ...): '
                'no tag takes timm\'s default (often an ImageNet-22k fine-tune), and tags such as in12k_ft_in1k, '
                'in22k_ft_in1k, laion2b_ft_in1k or ig1b_ft_in1k were pre-trained on more than ImageNet-1k')
    return None


def weights_plan(cfg) -> list[tuple[str, str, str | None]]:
    """``(setting, source, sha256 or None)`` for what a run of ``cfg`` will load: a local file's real SHA-256, None
    for what is fetched at run time (the kept copy's hash is in the run record once it is there)."""
    rows = []
    for setting, value in weight_loads(cfg):
        path = Path(value)
        sha = sha256_of(path) if '://' not in value and not value.startswith(('timm/', 'hf-hub:')) \
            and path.is_file() else None
        rows.append((setting, value, sha))
    return rows
