"""What Hugging Face transformers' MiT-B3 (SegFormer encoder) computes, recorded once, so CI proves the key mapping
:func:`utils.pretrained.hf_to_mit` without transformers.

The hub's ``nvidia/mit-b3`` weights are stored under transformers 4.x's names, which transformers 5 renames when
it loads them; the mapping reads the stored names, so the recording is made with transformers 4.x (the proof test
runs directly wherever transformers 4.x imports). Recorded: the 4.x state-dict keys and shapes of
``SegformerForImageClassification`` (MiT-B3, 1,000 classes) in their order, and the per-channel mean and standard
deviation of the four stage outputs on reproducible weights and input (NumPy's PCG64 stream, as in
tests/timm_fixture.py). CI rebuilds the weights from the keys, maps them, runs MMSeg's MixVisionTransformer and
compares: a wrong name, a swapped q/k/v or a transposed linear layer changes those 1,024 numbers.

Re-record (needs transformers 4.x: ``pip install --target DIR 'transformers<5'``, then ``PYTHONPATH=DIR``)::

    python tests/hf_fixture.py
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).with_name('fixtures') / 'hf_mit_b3.json'
INPUT_SHAPE = (2, 3, 64, 64)
MIT_B3 = dict(depths=[3, 4, 18, 3], hidden_sizes=[64, 128, 320, 512], num_attention_heads=[1, 2, 5, 8],
              sr_ratios=[8, 4, 2, 1], patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4])


def reproducible_state(keys_and_shapes: list[tuple[str, list[int]]], seed: int = 0) -> dict:
    """Weights for every key, in key order: variance-preserving convs and linears, layer norms away from identity."""
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))

    def uniform(shape, low, high):
        return torch.from_numpy((low + (high - low) * rng.random(shape)).astype(np.float32))

    state = {}
    for key, shape in keys_and_shapes:
        if len(shape) >= 2:  # conv or linear: fan-in from every dimension but the first
            bound = math.sqrt(3.0 / math.prod(shape[1:]))
            state[key] = uniform(shape, -bound, bound)
        elif key.endswith('weight'):  # layer norm scale
            state[key] = uniform(shape, 0.5, 1.5)
        else:
            state[key] = uniform(shape, -0.2, 0.2)
    return state


def reproducible_input(seed: int = 1):
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))
    return torch.from_numpy((rng.random(INPUT_SHAPE) * 2 - 1).astype(np.float32))


def channel_stats(features) -> dict:
    flat = features.double().transpose(0, 1).reshape(features.shape[1], -1)
    return dict(mean=flat.mean(1).tolist(), std=flat.std(1).tolist())


def hf_model():
    """transformers' MiT-B3 classifier with the reproducible weights loaded (needs transformers 4.x)."""
    from transformers import SegformerConfig, SegformerForImageClassification

    model = SegformerForImageClassification(SegformerConfig(num_labels=1000, **MIT_B3)).eval()
    keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict(reproducible_state(keys), strict=True)
    return model, keys


def hf_stages(model) -> list:
    import torch

    with torch.no_grad():
        return list(model.segformer(reproducible_input(), output_hidden_states=True).hidden_states)


def record() -> dict:
    import torch
    import transformers

    model, keys = hf_model()
    stages = [channel_stats(f) for f in hf_stages(model)]
    return dict(transformers=transformers.__version__, torch=torch.__version__, input_shape=list(INPUT_SHAPE),
                keys=keys, stages=[{k: [float(f'{v:.7g}') for v in s[k]] for k in ('mean', 'std')} for s in stages])


def load() -> dict:
    return json.loads(FIXTURE.read_text())


def main() -> int:
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(record(), separators=(',', ':')) + '\n')
    print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
