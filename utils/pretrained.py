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
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable
from .layout import KnownError

PREFIX = 'open-mmlab://'
#: OpenMMLab backbone name -> the timm model with the same architecture (Gluon ResNet-C, ImageNet-1k)
TIMM_NAMES = {'resnet50_v1c': 'resnet50c.gluon_in1k', 'resnet101_v1c': 'resnet101c.gluon_in1k'}
#: timm's deep stem -> MMSeg's ResNetV1c stem (the layers keep their names; ``fc`` is dropped)
_STEM = {'conv1.0.': 'stem.0.', 'conv1.1.': 'stem.1.', 'conv1.3.': 'stem.3.', 'conv1.4.': 'stem.4.',
         'conv1.6.': 'stem.6.', 'bn1.': 'stem.7.'}


class PretrainedError(KnownError, RuntimeError):
    """No source gave the backbone weights; the message lists why each failed and what to do."""


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
    from .checkpoints import CheckpointError, extract_state_dict, safe_load_checkpoint

    try:
        state = extract_state_dict(safe_load_checkpoint(path), str(path))
    except CheckpointError:
        return False
    depth_keys = {'resnet50_v1c': 'layer3.5.conv1.weight', 'resnet101_v1c': 'layer3.22.conv1.weight'}
    return 'stem.0.weight' in state and depth_keys.get(name, 'layer1.0.conv1.weight') in state


def fetch_backbone(name: str, cache_dir: str | os.PathLike) -> tuple[Path, str]:
    """``(local file, where it came from)`` for backbone ``name`` (``'resnet50_v1c'``), getting it once per cache."""
    cache = Path(cache_dir)
    path = cache / f'{name}.pth'
    if path.is_file() and _usable(path, name):
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
                          f'copy that arrives is kept in {cache} for every later run.')


def prepare_pretrained(cfg, cache_dir: str | os.PathLike) -> str | None:
    """Point ``cfg.model.pretrained = 'open-mmlab://<name>'`` at a local copy; returns the line to show (None: no change)."""
    name = cfg.model.get('pretrained')
    if not isinstance(name, str) or not name.startswith(PREFIX):
        return None
    path, source = fetch_backbone(name[len(PREFIX):], cache_dir)
    cfg.model['pretrained'] = str(path)
    return f'ImageNet weights of the backbone ({name}): {source}'
