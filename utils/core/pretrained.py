"""ImageNet weights for the backbone that a run can count on: kept on Drive after the first download, two sources.

A config names its backbone weights as MMSeg does (``pretrained='open-mmlab://resnet50_v1c'``), which MMEngine
would download from OpenMMLab's server alone, on every fresh runtime. :func:`prepare_pretrained` instead
points the config at a local copy, getting it once per Drive:

1. the copy kept in the cache folder (``MyDrive/celebamask-parsing/pretrained`` in Colab);
2. else OpenMMLab's file (the URL MMEngine itself uses), downloaded and kept there;
3. else the Gluon ResNet-C weights on the Hugging Face hub through timm (``resnet50c.gluon_in1k``), with their
   keys mapped onto MMSeg's ResNetV1c (:func:`timm_to_resnetv1c`), kept there too.

It says which source was used. Both are ImageNet-1k ResNet-50-C models of the same architecture (deep
3-conv stem, stride on the 3x3 convolution). OpenMMLab's file lies in its ``third_party`` folder and publishes
no accuracy; an MMSeg maintainer wrote that it came from MSRA (open-mmlab/mmsegmentation#1176), so it is not
known to be the Gluon model, which reaches 78.0% top-1 in timm's tables. The two are not claimed to be equal:
the second source is a close substitute, and the notebook says when it is used.

The transformer recipes name their weights as MMSeg does, a URL in the backbone's ``init_cfg``
(``dict(type='Pretrained', checkpoint='https://download.openmmlab.com/...')``); :func:`prepare_pretrained`
keeps those on Drive the same way: OpenMMLab's server first, then a second source where one is proven
(:data:`SECOND_SOURCES`, both ImageNet-1k, keys mapped and proven offline: MiT-B3 from the hub's ``nvidia/mit-b3``
by :func:`hf_to_mit`, Swin-B from timm's ``swin_base_patch4_window12_384.ms_in1k`` by :func:`timm_to_swin`).

The course allows ImageNet-1k pre-training only. :data:`IMAGENET_1K` lists every weight file a recipe may name and
what it is; :func:`check_course_rules` refuses a config that names other weights (an ImageNet-21k/22k name, a timm
tag that is not an ImageNet-1k one, a file it does not know, a ``load_from`` of a checkpoint this project's training
did not write), unless the config sets ``course_rules=False`` (for use outside the course).
"""
from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Callable
from utils.base.layout import KnownError
from utils.core.weights import weight_loads, weights_plan  # noqa: F401  (one walker of every way weights enter)

PREFIX = 'open-mmlab://'
#: OpenMMLab backbone name -> the timm model with the same architecture (Gluon ResNet-C, ImageNet-1k)
TIMM_NAMES = {'resnet50_v1c': 'resnet50c.gluon_in1k', 'resnet101_v1c': 'resnet101c.gluon_in1k'}
#: timm's deep stem -> MMSeg's ResNetV1c stem (the layers keep their names; ``fc`` is dropped)
_STEM = {'conv1.0.': 'stem.0.', 'conv1.1.': 'stem.1.', 'conv1.3.': 'stem.3.', 'conv1.4.': 'stem.4.',
         'conv1.6.': 'stem.6.', 'bn1.': 'stem.7.'}


#: every pre-trained weight file a recipe names (OpenMMLab name or file name) -> what it is (ImageNet-1k only)
IMAGENET_1K = {
    'resnet50_v1c': 'ImageNet-1k ResNet-50-C',
    'resnet101_v1c': 'ImageNet-1k ResNet-101-C',
    'swin_base_patch4_window12_384_20220317-55b0104a.pth': 'ImageNet-1k Swin-B, 384 px (Microsoft, OpenMMLab copy)',
    'mit_b3_20220624-13b1141c.pth': 'ImageNet-1k MiT-B3 (NVIDIA, OpenMMLab copy)',
}
#: names of weights trained on more than ImageNet-1k (ImageNet-21k/22k), whatever the source
_BIG_IMAGENET = re.compile(r'(?<![0-9])(in|im|imagenet|imagenet-|imagenet_)?2[12]k(?![0-9])', re.IGNORECASE)
RULE = ('the course allows ImageNet-1k pre-trained weights only (Project 1 rules: no other pre-training, no external '
        'data)')
OVERRIDE = ('For use outside the course, set course_rules=False in the config (command line: '
            '--cfg-options course_rules=False).')


class PretrainedError(KnownError, RuntimeError):
    """No source gave the backbone weights; the message lists why each failed and what to do."""


class CourseRuleError(PretrainedError):
    """A config names weights that are not ImageNet-1k ones; the message names the rule and its override."""


def timm_to_resnetv1c(state: dict) -> dict:
    """A timm ResNet-C state dict with MMSeg ResNetV1c's keys (stem renamed, layers unchanged, classifier dropped)."""
    out = {}
    for key, value in state.items():
        if key.startswith('fc.'):
            continue
        new = next((mm + key[len(tm):] for tm, mm in _STEM.items() if key.startswith(tm)), key)
        if not new.startswith(('stem.', 'layer')):
            raise ValueError(f'unexpected key {key!r} in a timm ResNet-C state dict')
        out[new] = value
    return out


_MIT_BLOCK = {'layer_norm_1.': 'norm1.', 'layer_norm_2.': 'norm2.', 'attention.self.sr.': 'attn.sr.',
              'attention.self.layer_norm.': 'attn.norm.', 'attention.output.dense.': 'attn.attn.out_proj.',
              'mlp.dense1.': 'ffn.layers.0.', 'mlp.dwconv.dwconv.': 'ffn.layers.1.', 'mlp.dense2.': 'ffn.layers.4.'}


def hf_to_mit(state: dict) -> dict:
    """A Hugging Face SegFormer/MiT state dict (the hub's ``nvidia/mit-b*`` files, transformers 4.x names) with MMSeg
    MixVisionTransformer's keys: q, k and v joined into one in-projection, the MLP's linear layers as 1x1 convs,
    the classifier dropped. Proven against transformers' own forward in tests/test_pretrained_hf.py."""
    import re

    import torch

    out, qkv = {}, {}
    for key, value in state.items():
        key = key.removeprefix('segformer.')
        if key.startswith(('classifier.', 'decode_head.')):
            continue
        if m := re.fullmatch(r'encoder\.patch_embeddings\.(\d+)\.(proj|layer_norm)\.(weight|bias)', key):
            out[f'layers.{m[1]}.0.{"projection" if m[2] == "proj" else "norm"}.{m[3]}'] = value
        elif m := re.fullmatch(r'encoder\.layer_norm\.(\d+)\.(weight|bias)', key):
            out[f'layers.{m[1]}.2.{m[2]}'] = value
        elif m := re.fullmatch(r'encoder\.block\.(\d+)\.(\d+)\.attention\.self\.(query|key|value)\.(weight|bias)', key):
            qkv.setdefault((m[1], m[2], m[4]), {})[m[3]] = value
        elif m := re.fullmatch(r'encoder\.block\.(\d+)\.(\d+)\.(.+)', key):
            rest = m[3]
            old = next((o for o in _MIT_BLOCK if rest.startswith(o)), None)
            if old is None:
                raise ValueError(f'unexpected key {key!r} in a Hugging Face MiT state dict')
            new = _MIT_BLOCK[old] + rest[len(old):]
            if old in ('mlp.dense1.', 'mlp.dense2.') and value.dim() == 2:
                value = value[:, :, None, None]  # a linear layer as MMSeg's 1x1 convolution
            out[f'layers.{m[1]}.1.{m[2]}.{new}'] = value
        else:
            raise ValueError(f'unexpected key {key!r} in a Hugging Face MiT state dict')
    for (stage, block, kind), parts in qkv.items():
        if set(parts) != {'query', 'key', 'value'}:
            raise ValueError(f'block {stage}.{block} lacks one of query/key/value ({kind})')
        out[f'layers.{stage}.1.{block}.attn.attn.in_proj_{kind}'] = torch.cat(
            [parts['query'], parts['key'], parts['value']])
    return out


_SWIN_BLOCK = {'attn.qkv.': 'attn.w_msa.qkv.', 'attn.proj.': 'attn.w_msa.proj.', 'mlp.fc1.': 'ffn.layers.0.0.',
               'attn.relative_position_bias_table': 'attn.w_msa.relative_position_bias_table',
               'mlp.fc2.': 'ffn.layers.1.', 'norm1.': 'norm1.', 'norm2.': 'norm2.'}


def _unfold_order(value):
    """A patch-merging weight (or norm) from the 2x2-neighbour-major order timm and Microsoft use (h0w0, h1w0, h0w1,
    h1w1; channels inside) to MMSeg's ``nn.Unfold`` order (channels outside; h0w0, h0w1, h1w0, h1w1 inside)."""
    lead = value.shape[:-1]
    quarter = value.shape[-1] // 4
    return value.reshape(*lead, 4, quarter)[..., [0, 2, 1, 3], :].transpose(-1, -2).reshape(*lead, 4 * quarter)


def timm_to_swin(state: dict) -> dict:
    """A timm (>= 0.9) Swin state dict with MMSeg SwinTransformer's keys: stage ``i``'s leading downsample becomes
    stage ``i-1``'s trailing one (its weights in MMSeg's unfold order), the final norm becomes ``norm3`` (MMSeg's
    ``norm0``-``norm2`` have no counterpart and keep their initial values), the classifier is dropped.
    Proven against timm's own forward in tests/test_pretrained_swin.py."""
    import re

    out = {}
    for key, value in state.items():
        if key.startswith('head.') or key.endswith(('relative_position_index', 'attn_mask')):
            continue
        if m := re.fullmatch(r'patch_embed\.(proj|norm)\.(weight|bias)', key):
            out[f'patch_embed.{"projection" if m[1] == "proj" else "norm"}.{m[2]}'] = value
        elif m := re.fullmatch(r'norm\.(weight|bias)', key):
            out[f'norm3.{m[1]}'] = value
        elif m := re.fullmatch(r'layers\.(\d+)\.downsample\.(norm|reduction)\.(weight|bias)', key):
            out[f'stages.{int(m[1]) - 1}.downsample.{m[2]}.{m[3]}'] = _unfold_order(value)
        elif m := re.fullmatch(r'layers\.(\d+)\.blocks\.(\d+)\.(.+)', key):
            old = next((o for o in _SWIN_BLOCK if m[3].startswith(o)), None)
            if old is None:
                raise ValueError(f'unexpected key {key!r} in a timm Swin state dict')
            out[f'stages.{m[1]}.blocks.{m[2]}.{_SWIN_BLOCK[old]}{m[3][len(old):]}'] = value
        else:
            raise ValueError(f'unexpected key {key!r} in a timm Swin state dict')
    return out


def _download_openmmlab(name: str, target: Path) -> None:
    """OpenMMLab's file for ``name`` (the URL MMEngine resolves ``open-mmlab://<name>`` to) into ``target``."""
    import torch
    from mmengine.runner.checkpoint import get_external_models

    torch.hub.download_url_to_file(get_external_models()[name], str(target), progress=True)


def _download_timm(name: str, target: Path) -> None:
    """The Gluon ResNet-C weights from the Hugging Face hub (timm), mapped to ResNetV1c keys, into ``target``."""
    import torch

    try:
        import timm
    except ImportError as exc:
        raise PretrainedError('timm is not installed (pip install timm)') from exc
    model = timm.create_model(TIMM_NAMES[name], pretrained=True)
    torch.save({'state_dict': timm_to_resnetv1c(model.state_dict())}, target)


SOURCES: dict[str, Callable[[str, Path], None]] = {
    'download.openmmlab.com': _download_openmmlab,
    'the Hugging Face hub (timm, Gluon ResNet-C)': _download_timm,
}


def _usable(path: Path, name: str) -> bool:
    """True when ``path`` loads (weights only, nothing run) and fits ResNetV1c of this depth."""
    from utils.core.checkpoints import CheckpointError, extract_state_dict, safe_load_checkpoint

    try:
        state = extract_state_dict(safe_load_checkpoint(path), str(path))
    except CheckpointError:
        return False
    depth_keys = {'resnet50_v1c': 'layer3.5.conv1.weight', 'resnet101_v1c': 'layer3.22.conv1.weight'}
    return 'stem.0.weight' in state and depth_keys.get(name, 'layer1.0.conv1.weight') in state


def fetch_backbone(name: str, cache_dir: str | os.PathLike, architecture: dict | None = None) -> tuple[Path, str]:
    """``(local file, where it came from)`` for backbone ``name`` (``'resnet50_v1c'``), getting it once per cache.
    ``architecture`` (the backbone's config): a kept copy must hold every one of its weights, with its shape."""
    cache = Path(cache_dir)
    path = cache / f'{name}.pth'
    if path.is_file() and _usable(path, name) and _kept_copy_fits(path, architecture):
        return path, f'kept copy {path}'
    if name not in TIMM_NAMES:
        raise PretrainedError(f'No known source for the backbone weights {PREFIX}{name}.')
    cache.mkdir(parents=True, exist_ok=True)
    failures = []
    for source, download in SOURCES.items():
        fd, tmp_name = tempfile.mkstemp(prefix=f'.{name}.', suffix='.part', dir=cache)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            download(name, tmp)
            if not _usable(tmp, name):
                raise PretrainedError('the file is not ResNetV1c weights')
            os.replace(tmp, path)
            return path, f'{source}, kept at {path}'
        except Exception as exc:  # noqa: BLE001 - any failure of a source means: try the next one
            failures.append(f'{source}: {type(exc).__name__}: {exc}'.splitlines()[0][:300])
        finally:
            tmp.unlink(missing_ok=True)
    raise PretrainedError(f'Could not get the ImageNet weights of the backbone ({PREFIX}{name}): '
                          + '; '.join(failures) + '. Check the runtime\'s internet connection and run again; the first '
                          f'copy that arrives is kept in {cache} for every later run.' + _stale_note(path))


def _url_weights(node: dict) -> str | None:
    """The checkpoint URL/path of an ``init_cfg=dict(type='Pretrained', checkpoint=...)`` node, else None."""
    init = node.get('init_cfg')
    if isinstance(init, dict) and init.get('type') == 'Pretrained' and isinstance(init.get('checkpoint'), str):
        return init['checkpoint']
    return None


def weight_references(cfg) -> list[tuple[str, str]]:
    """``(setting, value)`` for every pre-trained weight file ``cfg.model`` names, anywhere (:func:`weight_loads`
    without ``load_from``)."""
    return [(setting, value) for setting, value in weight_loads(cfg) if setting != 'load_from']


def weights_source(cfg) -> str:
    """A line for the plan table: each setting that loads weights, what it loads and from where."""
    refs = weight_loads(cfg)
    if not refs:
        return 'none (random initialisation)'
    parts = []
    for setting, value in refs:
        key = value[len(PREFIX):] if value.startswith(PREFIX) else os.path.basename(value)
        host = 'download.openmmlab.com' if value.startswith(PREFIX) or 'download.openmmlab.com/' in value else value
        where = '' if setting in ('model.pretrained', 'model.backbone.init_cfg.checkpoint') else f' ({setting})'
        parts.append(f'{IMAGENET_1K.get(key, key)} from {host}{where}')
    return '; '.join(parts)


def _rule_problem(value: str) -> str | None:
    """Why the weights named ``value`` break the course rule (None: known ImageNet-1k weights, by name and bytes)."""
    from utils.core.weights import known_file_problem, known_name, timm_tag_problem

    if value.startswith(('timm/', 'hf-hub:', 'hf_hub:', 'timm:')):
        return timm_tag_problem(value)
    if known_name(value) is not None:
        return known_file_problem(value)
    key = os.path.basename(value.split('?')[0])
    if _BIG_IMAGENET.search(value):
        return f'{value!r} names ImageNet-21k/22k weights'
    if not key.endswith(('.pth', '.pt', '.bin', '.safetensors', '.ckpt')) and re.fullmatch(r'[\w-]+\.[a-z0-9_]+', key):
        return timm_tag_problem(value)
    return f'{value!r} is not a weight file known to be ImageNet-1k (utils.core.pretrained.IMAGENET_1K lists them)'


def check_course_rules(cfg) -> None:
    """Refuse (:class:`CourseRuleError`) weights that are not ImageNet-1k, unless ``cfg.course_rules`` is False.

    Checked: every way weights enter (:func:`utils.core.weights.weight_loads`: ``pretrained`` and ``init_cfg`` anywhere
    in the model, lists too, timm / Hugging Face ``pretrained=True``), known files by their bytes, and ``load_from``
    (a model trained elsewhere may have seen other data: only a checkpoint whose bytes this project's training
    recorded, i.e. a resume, is allowed).
    """
    if cfg.get('course_rules', True) is False:
        return
    from utils.core.checkpoints import is_trusted_checkpoint

    problems = []
    for setting, value in weight_loads(cfg):
        if setting == 'load_from':
            if not (os.path.isfile(value) and is_trusted_checkpoint(value)):
                problems.append(f'load_from = {value!r} is a checkpoint that this project\'s training did not write '
                                '(its weights may come from other data or pre-training)')
        elif why := _rule_problem(value):
            problems.append(f'{setting} = {why}')
    if problems:
        raise CourseRuleError(f'Refused: {RULE}. ' + '; '.join(problems) + '. Use a recipe of utils.core.config.RECIPES '
                              '(their weights are listed in utils.core.pretrained.IMAGENET_1K). ' + OVERRIDE)


#: Weights of an architecture that no pre-trained file holds: Swin's per-stage output norms (only the last stage's
#: norm was pre-trained), and buffers that the model computes itself.
NO_PRETRAINED_COUNTERPART = re.compile(r'^norm[0-2]\.|relative_position_index$|num_batches_tracked$')


def architecture_shapes(backbone: dict) -> dict[str, tuple[int, ...]]:
    """Every weight of the module ``backbone`` (a config dict) with its shape, built on PyTorch's meta device where
    it can be (no memory, no initialisation), nothing loaded."""
    import copy

    import torch
    from mmseg.registry import MODELS

    import mmseg.models  # noqa: F401  (registers the backbones)

    spec = {k: v for k, v in copy.deepcopy(dict(backbone)).items() if k not in ('init_cfg', 'pretrained')}
    try:
        with torch.device('meta'):
            module = MODELS.build(spec)
    except RuntimeError:  # a backbone that reads a value while it builds (Swin's drop-path rates): on the CPU
        module = MODELS.build(spec)
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if not NO_PRETRAINED_COUNTERPART.search(k)}


def _stale_note(path: Path) -> str:
    return (f' The kept copy {path} is not used: it is incomplete or not this architecture\'s weights (delete it, or '
            'replace it with a whole copy).' if path.is_file() else '')


def _kept_copy_fits(path: Path, architecture: dict | None) -> bool:
    """True when the kept copy at ``path`` holds every weight of ``architecture`` with its shape (None: not checked);
    otherwise a warning names what is missing and the copy is fetched again (a copy with two or three keys used to
    be accepted)."""
    if architecture is None:
        return True
    from utils.core.checkpoints import CheckpointError, extract_state_dict, safe_load_checkpoint

    try:
        state = extract_state_dict(safe_load_checkpoint(path), str(path))
    except CheckpointError:
        return False
    state = {k.removeprefix('backbone.'): v for k, v in state.items()}
    want = architecture_shapes(architecture)
    missing = [k for k in want if k not in state]
    wrong = [k for k in want if k in state and tuple(state[k].shape) != want[k]]
    if missing or wrong:
        warnings.warn(f'The kept copy {path} does not hold the whole {architecture.get("type")}: '
                      f'{len(missing)} of its {len(want)} weights missing ({", ".join(missing[:3])}), {len(wrong)} of '
                      f'another shape ({", ".join(wrong[:3])}); fetching it again.', stacklevel=3)
        return False
    return True


def _download_url(url: str, target: Path) -> None:
    import torch

    torch.hub.download_url_to_file(url, str(target), progress=True)


def _download_hf_mit(repo: str, target: Path) -> None:
    """The hub's MiT weights (``nvidia/mit-b3``, as stored: transformers 4.x names), mapped to MMSeg's keys."""
    import torch

    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise PretrainedError('huggingface_hub is not installed (pip install huggingface_hub)') from exc
    from utils.core.checkpoints import safe_load_checkpoint

    try:
        from safetensors.torch import load_file

        state = load_file(hf_hub_download(repo, 'model.safetensors'))
    except Exception:  # noqa: BLE001 - no safetensors file (or package): the pickled weights, read weights-only
        state = safe_load_checkpoint(hf_hub_download(repo, 'pytorch_model.bin'))
    torch.save({'state_dict': hf_to_mit(state)}, target)


def _download_timm_swin(repo: str, target: Path) -> None:
    """timm's ImageNet-1k Swin-B 384 from the Hugging Face hub (its safetensors file), mapped to MMSeg's keys."""
    import torch

    try:
        from huggingface_hub import hf_hub_download
        from safetensors.torch import load_file
    except ImportError as exc:
        raise PretrainedError('huggingface_hub and safetensors are not installed (pip install huggingface_hub '
                              'safetensors)') from exc
    torch.save({'state_dict': timm_to_swin(load_file(hf_hub_download(repo, 'model.safetensors')))}, target)


#: weight file -> a second source: (what to say, download into a file, its argument, a key the file must hold)
SECOND_SOURCES = {
    'swin_base_patch4_window12_384_20220317-55b0104a.pth': (
        'the Hugging Face hub (timm/swin_base_patch4_window12_384.ms_in1k, ImageNet-1k; keys mapped)',
        _download_timm_swin, 'timm/swin_base_patch4_window12_384.ms_in1k', 'stages.2.blocks.17.attn.w_msa.qkv.weight'),
    'mit_b3_20220624-13b1141c.pth': ('the Hugging Face hub (nvidia/mit-b3, ImageNet-1k; keys mapped)',
                                     _download_hf_mit, 'nvidia/mit-b3', 'layers.2.1.17.attn.attn.in_proj_weight'),
}


def _check_weight_file(tmp: Path, what: str, key: str | None) -> None:
    from utils.core.checkpoints import CheckpointError, extract_state_dict, safe_load_checkpoint

    try:
        state = extract_state_dict(safe_load_checkpoint(tmp), what)
    except CheckpointError as exc:
        raise PretrainedError(f'{what} did not give a weight file ({exc})') from None
    if len(state) < 10 or (key is not None and key not in state):
        raise PretrainedError(f'{what} gave a file that is not the backbone\'s weights ({len(state)} tensors)')


def fetch_url_weights(url: str, cache_dir: str | os.PathLike, architecture: dict | None = None) -> tuple[Path, str]:
    """``(local file, where it came from)`` for the weights at ``url``, got once per cache (kept on Drive).

    Sources in order: the URL (OpenMMLab's server), then :data:`SECOND_SOURCES` where the file has one.
    """
    cache = Path(cache_dir)
    name = os.path.basename(url)
    path = cache / name
    if path.is_file():
        from utils.core.checkpoints import CheckpointError, check_checkpoint_file

        try:  # a copy cut off by a disconnect is fetched again, as fetch_backbone does for the ResNets
            check_checkpoint_file(path)
            if _kept_copy_fits(path, architecture):
                return path, f'kept copy {path}'
        except CheckpointError as exc:
            warnings.warn(f'The kept copy {path} is unusable ({exc}); fetching it again.', stacklevel=2)
    cache.mkdir(parents=True, exist_ok=True)
    host = url.split('/')[2] if '://' in url else url
    sources = [(host, _download_url, url, None)]
    if name in SECOND_SOURCES:
        sources.append(SECOND_SOURCES[name])
    failures = []
    for source, download, arg, key in sources:
        fd, tmp_name = tempfile.mkstemp(prefix=f'.{name}.', suffix='.part', dir=cache)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            download(arg, tmp)
            _check_weight_file(tmp, source, key)
            os.replace(tmp, path)
            return path, f'{source}, kept at {path}'
        except Exception as exc:  # noqa: BLE001 - any failure of a source means: try the next one
            failures.append(f'{source}: {type(exc).__name__}: {exc}'.splitlines()[0][:300])
        finally:
            tmp.unlink(missing_ok=True)
    raise PretrainedError(f'Could not get the pre-trained weights {name}: ' + '; '.join(failures) + '. Check the '
                          f'runtime\'s internet connection and run again; the first copy that arrives is kept in '
                          f'{cache} for every later run.' + _stale_note(path))


def prepare_pretrained(cfg, cache_dir: str | os.PathLike) -> str | None:
    """Point the config's pre-trained weights at local copies; returns the lines to show (None: nothing to fetch).

    ``model.pretrained = 'open-mmlab://<name>'`` (ResNet) and every ``init_cfg`` URL (Swin, MiT) are handled.
    """
    from utils.core.config import walk_dicts

    said = []
    name = cfg.model.get('pretrained')
    if isinstance(name, str) and name.startswith(PREFIX):
        path, source = fetch_backbone(name[len(PREFIX):], cache_dir, architecture=cfg.model.get('backbone'))
        cfg.model['pretrained'] = str(path)
        said.append(f'ImageNet weights of the backbone ({name}): {source}')
    for node in walk_dicts(cfg.model):
        url = _url_weights(node)
        if url and '://' in url:
            path, source = fetch_url_weights(url, cache_dir, architecture=node)
            node['init_cfg'] = {**node['init_cfg'], 'checkpoint': str(path)}
            what = IMAGENET_1K.get(os.path.basename(url), os.path.basename(url))
            said.append(f'{what} weights of the backbone: {source}')
    return '\n'.join(said) or None
