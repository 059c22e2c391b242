"""What the second sources' own libraries compute, recorded once, so that CI proves the project's key mappings
(:mod:`utils.core.pretrained`) without those libraries: one module for the three sources.

* ``resnet``: timm's ``resnet50c`` and ``resnet101c`` (``timm_to_resnetv1c``; fixtures/timm_resnet_c.json);
* ``mit``: transformers 4.x' MiT-B3, the hub's ``nvidia/mit-b3`` (``hf_to_mit``; fixtures/hf_mit_b3.json);
* ``swin``: timm's ``swin_base_patch4_window12_384.ms_in1k`` (``timm_to_swin``; fixtures/timm_swin.json).

Each recording holds the library's state-dict keys and shapes, in its order, and the per-channel mean and standard
deviation of its features on reproducible weights and input. CI rebuilds those weights from the keys
(:func:`reproducible_state`), maps them, runs MMSeg's backbone on :func:`reproducible_input` and compares: a wrong
name, a swapped layer or q/k/v, a transposed linear layer or a dropped BN statistic changes those numbers.

The weights and the input come from NumPy's PCG64 generator through ``Generator.random()`` (NumPy fixes the PCG64
stream across versions, and ``random()`` turns it into doubles by a shift; were that ever to change, CI would fail
loudly, never pass silently). Each source draws its weights in key order with its own ranges (:data:`SOURCES`).

Why recordings: timm needs torchvision, which does not import on this project's CPU test machines (``make
colab-check`` runs the live proofs); the hub's ``nvidia/mit-b3`` weights are stored under transformers 4.x's names,
which transformers 5 renames when it loads them, so that recording is made with transformers 4.x. The Swin
recording is of a small Swin of Swin-B's structure (embed 32, depths 2/2/2/2, window 2) at 128 px, where timm and
MMSeg compute the same network (at 512 px they pad the windows differently; at 384 px timm drops the last stage's
shift), plus the full Swin-B's keys and shapes; the full Swin-B at 768 px matched timm to 1e-15 in float64 when the
mapping was written.

Re-record one source (needs timm with torchvision, or ``pip install --target DIR 'transformers<5'`` then
``PYTHONPATH=DIR`` for ``mit``)::

    python tests/weight_fixtures.py resnet|mit|swin
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

FIXTURES = Path(__file__).with_name('fixtures')
RESNET_MODELS = {50: 'resnet50c', 101: 'resnet101c'}
MIT_B3 = dict(depths=[3, 4, 18, 3], hidden_sizes=[64, 128, 320, 512], num_attention_heads=[1, 2, 5, 8],
              sr_ratios=[8, 4, 2, 1], patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4])
SWIN_NAME = 'swin_base_patch4_window12_384.ms_in1k'
SWIN_SMALL = dict(embed_dim=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8), window_size=2)

def _resnet_range(key: str, shape: list[int]) -> tuple[float, float] | None:
    """``(low, high)`` of the uniform draw for ``key`` (None: a counter, set to 0, draws nothing). He-scaled convs,
    BN statistics away from identity (a residual branch's last BN small, so that 33 blocks stay in range)."""
    name = key.rsplit('.', 1)[-1]
    if name == 'num_batches_tracked':
        return None
    if len(shape) == 4:  # conv: uniform with the variance of He initialisation
        bound = math.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
        return -bound, bound
    if name == 'running_var':
        return 0.5, 1.5
    if key.endswith('bn3.weight'):
        return 0.05, 0.25
    if name == 'weight' and len(shape) == 1:  # BN scale
        return 0.5, 1.5
    return -0.5, 0.5  # BN bias and running mean, the classifier


def _transformer_range(key: str, shape: list[int]) -> tuple[float, float]:
    """Variance-preserving linears and convs (fan-in from every dimension but the first), layer norms away from
    identity."""
    if len(shape) >= 2:
        bound = math.sqrt(3.0 / math.prod(shape[1:]))
        return -bound, bound
    if key.endswith('weight'):  # layer norm scale
        return 0.5, 1.5
    return -0.2, 0.2


def _swin_range(key: str, shape: list[int]) -> tuple[float, float]:
    """As :func:`_transformer_range`, with the relative position tables small."""
    return (-1.0, 1.0) if key.endswith('relative_position_bias_table') else _transformer_range(key, shape)


@dataclass(frozen=True)
class Source:
    fixture: str
    input_shape: tuple[int, int, int, int]
    weight_range: Callable


SOURCES = {'resnet': Source('timm_resnet_c.json', (2, 3, 96, 96), _resnet_range),
           'mit': Source('hf_mit_b3.json', (2, 3, 64, 64), _transformer_range),
           'swin': Source('timm_swin.json', (2, 3, 128, 128), _swin_range)}


def reproducible_state(keys_and_shapes: list[tuple[str, list[int]]], source: str, seed: int = 0) -> dict:
    """Weights for every key, drawn in key order with ``source``'s ranges."""
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))
    state = {}
    for key, shape in keys_and_shapes:
        bounds = SOURCES[source].weight_range(key, list(shape))
        if bounds is None:
            state[key] = torch.tensor(0)
            continue
        low, high = bounds
        state[key] = torch.from_numpy((low + (high - low) * rng.random(shape)).astype(np.float32))
    return state


def reproducible_input(source: str, seed: int = 1):
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))
    return torch.from_numpy((rng.random(SOURCES[source].input_shape) * 2 - 1).astype(np.float32))


def channel_stats(features) -> dict:
    """Per-channel mean and standard deviation over the batch and the spatial positions (channels on axis 1)."""
    flat = features.double().transpose(0, 1).reshape(features.shape[1], -1)
    return dict(mean=flat.mean(1).tolist(), std=flat.std(1).tolist())


def _rounded(stats: dict) -> dict:
    return {k: [float(f'{v:.7g}') for v in stats[k]] for k in ('mean', 'std')}


def load(source: str) -> dict:
    return json.loads((FIXTURES / SOURCES[source].fixture).read_text())


# --------------------------------------------------------------------------- the libraries themselves
def hf_model():
    """transformers' MiT-B3 classifier with the reproducible weights loaded (needs transformers 4.x)."""
    from transformers import SegformerConfig, SegformerForImageClassification

    model = SegformerForImageClassification(SegformerConfig(num_labels=1000, **MIT_B3)).eval()
    keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict(reproducible_state(keys, 'mit'), strict=True)
    return model, keys


def hf_stages(model) -> list:
    import torch

    with torch.no_grad():
        return list(model.segformer(reproducible_input('mit'), output_hidden_states=True).hidden_states)


def small_timm_swin():
    """timm's small Swin with the reproducible weights (needs timm)."""
    from timm.models.swin_transformer import SwinTransformer

    model = SwinTransformer(img_size=SOURCES['swin'].input_shape[-1], num_classes=10, **SWIN_SMALL).eval()
    keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict(reproducible_state(keys, 'swin'), strict=True)
    return model, keys


def timm_swin_features(model):
    import torch

    with torch.no_grad():
        return model.forward_features(reproducible_input('swin')).permute(0, 3, 1, 2)


def record(source: str) -> dict:
    """What the library computes for ``source`` (needs that library)."""
    import torch

    shape = list(SOURCES[source].input_shape)
    if source == 'mit':
        import transformers

        model, keys = hf_model()
        return dict(transformers=transformers.__version__, torch=torch.__version__, input_shape=shape, keys=keys,
                    stages=[_rounded(channel_stats(f)) for f in hf_stages(model)])
    import timm

    if source == 'swin':
        big = timm.create_model(SWIN_NAME, pretrained=False)
        model, keys = small_timm_swin()
        return dict(timm=timm.__version__, torch=torch.__version__, input_shape=shape, small=SWIN_SMALL,
                    swin_b_keys=[(k, list(v.shape)) for k, v in big.state_dict().items()], small_keys=keys,
                    **_rounded(channel_stats(timm_swin_features(model))))
    out = dict(timm=timm.__version__, torch=torch.__version__, input_shape=shape, models={})
    for depth, name in RESNET_MODELS.items():
        model = timm.create_model(name, pretrained=False).eval()
        keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
        model.load_state_dict(reproducible_state(keys, 'resnet'), strict=True)
        with torch.no_grad():
            stats = channel_stats(model.forward_features(reproducible_input('resnet')))
        out['models'][str(depth)] = dict(timm_name=name, keys=keys, **_rounded(stats))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SOURCES:
        print(f'usage: python tests/weight_fixtures.py {"|".join(SOURCES)}', file=sys.stderr)
        return 2
    path = FIXTURES / SOURCES[argv[0]].fixture
    FIXTURES.mkdir(exist_ok=True)
    path.write_text(json.dumps(record(argv[0]), separators=(',', ':')) + '\n')
    print(f'wrote {path} ({path.stat().st_size:,} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
