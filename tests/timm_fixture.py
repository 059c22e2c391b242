"""What timm's ResNet-C computes, recorded once, so that CI can check the key mapping without timm.

timm needs torchvision, and this project's CPU test machines have no torchvision that imports (PyPI's wheels
are built against CUDA torch). So the full proof, timm's model against MMSeg's ResNetV1c on the same random
weights, runs where timm is installed (``make colab-check``), and this module records what it needs for CI:

* timm's state-dict keys and shapes, in timm's order;
* what timm's ``forward_features`` gives on reproducible weights and input: the per-channel mean and standard
  deviation of the last feature map.

The weights and the input come from NumPy's PCG64 generator through ``Generator.random()`` (NumPy fixes the
PCG64 stream across versions, and ``random()`` turns it into doubles by a shift; were that ever to change, CI
would fail loudly, never pass silently), so CI can rebuild them without timm, map the keys with
:func:`utils.pretrained.timm_to_resnetv1c`, run MMSeg's ResNetV1c and compare. A wrong name, a swapped layer or
a dropped BN statistic changes those 4,096 numbers per depth.

Re-record (needs timm and torchvision) after a timm upgrade renames anything::

    python tests/timm_fixture.py
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).with_name('fixtures') / 'timm_resnet_c.json'
MODELS = {50: 'resnet50c', 101: 'resnet101c'}
INPUT_SHAPE = (2, 3, 96, 96)


def reproducible_state(keys_and_shapes: list[tuple[str, list[int]]], seed: int = 0) -> dict:
    """Weights for every key, drawn in key order: He-scaled convs, BN statistics away from identity."""
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))

    def uniform(shape, low, high):
        return torch.from_numpy((low + (high - low) * rng.random(shape)).astype(np.float32))

    state = {}
    for key, shape in keys_and_shapes:
        name = key.rsplit('.', 1)[-1]
        if name == 'num_batches_tracked':
            state[key] = torch.tensor(0)
        elif len(shape) == 4:  # conv: uniform with the variance of He initialisation
            bound = math.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
            state[key] = uniform(shape, -bound, bound)
        elif name == 'running_var':
            state[key] = uniform(shape, 0.5, 1.5)
        elif key.endswith('bn3.weight'):  # a residual branch's last BN: small, so that 33 blocks stay in range
            state[key] = uniform(shape, 0.05, 0.25)
        elif name == 'weight' and len(shape) == 1:  # BN scale
            state[key] = uniform(shape, 0.5, 1.5)
        else:  # BN bias and running mean, the classifier
            state[key] = uniform(shape, -0.5, 0.5)
    return state


def reproducible_input(seed: int = 1):
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))
    return torch.from_numpy((rng.random(INPUT_SHAPE) * 2 - 1).astype(np.float32))


def channel_stats(features) -> dict:
    """Per-channel mean and standard deviation over the batch and the spatial positions."""
    flat = features.double().transpose(0, 1).reshape(features.shape[1], -1)
    return dict(mean=flat.mean(1).tolist(), std=flat.std(1).tolist())


def record() -> dict:
    """timm's keys and features for each depth (needs timm)."""
    import timm
    import torch

    out = dict(timm=timm.__version__, torch=torch.__version__, input_shape=list(INPUT_SHAPE), models={})
    for depth, name in MODELS.items():
        model = timm.create_model(name, pretrained=False).eval()
        keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
        model.load_state_dict(reproducible_state(keys), strict=True)
        with torch.no_grad():
            stats = channel_stats(model.forward_features(reproducible_input()))
        out['models'][str(depth)] = dict(timm_name=name, keys=keys,
                                         mean=[float(f'{v:.7g}') for v in stats['mean']],
                                         std=[float(f'{v:.7g}') for v in stats['std']])
    return out


def load() -> dict:
    return json.loads(FIXTURE.read_text())


def main() -> int:
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(record(), separators=(',', ':')) + '\n')
    print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
