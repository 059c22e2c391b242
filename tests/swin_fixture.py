"""What timm's Swin computes, recorded once, so that CI proves :func:`utils.pretrained.timm_to_swin` without timm.

timm needs torchvision, which does not import on this project's CPU test machines; the recording was made with
timm 1.0.31 and a stand-in for torchvision (Swin's forward never uses it). Recorded:

* the keys and shapes of ``swin_base_patch4_window12_384.ms_in1k`` (the weights the second source downloads), so
  CI checks that every one of them maps onto MMSeg's Swin-B of configs/_base_/models/upernet_swin-b-w12.py;
* the features of a small Swin of the same structure (embed 32, depths 2/2/2/2, window 2) at 128 px, on
  reproducible weights and input (NumPy's PCG64 stream, as tests/timm_fixture.py): every stage's side is a multiple
  of the window and the last one is larger than it, the sizes where timm and MMSeg compute the same network (at 512 px
  they pad the windows differently; at 384 px timm drops the last stage's shift). The full Swin-B at 768 px matched
  timm to 1e-15 in float64 when the mapping was written.

Re-record (needs timm)::

    python tests/swin_fixture.py
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).with_name('fixtures') / 'timm_swin.json'
TIMM_NAME = 'swin_base_patch4_window12_384.ms_in1k'
SMALL = dict(embed_dim=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8), window_size=2)
INPUT_SHAPE = (2, 3, 128, 128)


def reproducible_state(keys_and_shapes: list[tuple[str, list[int]]], seed: int = 0) -> dict:
    """Weights in key order: variance-preserving linears and convs, layer norms away from identity, small tables."""
    import torch

    rng = np.random.Generator(np.random.PCG64(seed))

    def uniform(shape, low, high):
        return torch.from_numpy((low + (high - low) * rng.random(shape)).astype(np.float32))

    state = {}
    for key, shape in keys_and_shapes:
        if key.endswith('relative_position_bias_table'):
            state[key] = uniform(shape, -1.0, 1.0)
        elif len(shape) >= 2:
            bound = math.sqrt(3.0 / math.prod(shape[1:]))
            state[key] = uniform(shape, -bound, bound)
        elif key.endswith('weight'):
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


def small_timm():
    """timm's small Swin with the reproducible weights (needs timm)."""
    from timm.models.swin_transformer import SwinTransformer

    model = SwinTransformer(img_size=INPUT_SHAPE[-1], num_classes=10, **SMALL).eval()
    keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict(reproducible_state(keys), strict=True)
    return model, keys


def timm_features(model):
    import torch

    with torch.no_grad():
        return model.forward_features(reproducible_input()).permute(0, 3, 1, 2)


def record() -> dict:
    import timm
    import torch

    big = timm.create_model(TIMM_NAME, pretrained=False)
    model, keys = small_timm()
    stats = channel_stats(timm_features(model))
    return dict(timm=timm.__version__, torch=torch.__version__, input_shape=list(INPUT_SHAPE), small=SMALL,
                swin_b_keys=[(k, list(v.shape)) for k, v in big.state_dict().items()], small_keys=keys,
                mean=[float(f'{v:.7g}') for v in stats['mean']], std=[float(f'{v:.7g}') for v in stats['std']])


def load() -> dict:
    return json.loads(FIXTURE.read_text())


def main() -> int:
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(record(), separators=(',', ':')) + '\n')
    print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
