"""Write a trained MMSeg model out as the leaderboard's standalone solution: the architecture as plain numbers for
``run.py``, its weights under ``run.py``'s own names, the run's preprocessing, TTA and decoding biases.

Every number is read from the built model (strides, dilations and paddings as MMSeg set them after construction),
never restated here, and the weights are matched tensor by tensor (suffix and shape), so a model ``run.py`` cannot
build is refused with the first tensor that differs.
"""
from __future__ import annotations

import os
import pprint
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from utils.base.labels import CLASSES, NUM_CLASSES, PALETTE, flip_permutation
from utils.base.layout import KnownError
from utils.submit.solution import run as template

#: What ``run.py`` imports: the distribution that provides each, pinned to the version this build runs with.
REQUIREMENTS = ('torch', 'numpy', 'Pillow')
SOLUTION_FILES = ('run.py', 'ckpt.pth', 'requirements.txt')
TEMPLATE = Path(template.__file__)
_MARK = re.compile(r'^SETTINGS = None\b.*$', re.M)
_ACTS = {'ReLU': 'ReLU', 'ReLU6': 'ReLU6', 'HSwish': 'HSwish', 'Hardswish': 'HSwish', 'HSigmoid': 'HSigmoid',
         'Sigmoid': 'Sigmoid'}


class ExportError(KnownError, ValueError):
    """A model that the standalone ``run.py`` cannot reproduce; the message names the part and what is supported."""


def _act(cfg: Any, where: str) -> str | None:
    if cfg is None:
        return None
    name = cfg.get('type') if isinstance(cfg, dict) else getattr(cfg, '__name__', str(cfg))
    name = getattr(name, '__name__', name)
    if name not in _ACTS:
        raise ExportError(f'{where}: activation {name!r} is not one run.py writes out ({", ".join(sorted(_ACTS))}).')
    return _ACTS[name]


def _conv_act(module: Any, where: str) -> str | None:
    """The activation of an mmcv ConvModule (None when it has none)."""
    return _act(module.act_cfg, where) if module.with_activation else None


def _square(value: Any, where: str) -> int:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if pair[0] != pair[1]:
        raise ExportError(f'{where}: {pair} differs along height and width; run.py writes square ones only.')
    return int(pair[0])


def _bisenetv2(bb: Any) -> dict:
    return dict(in_channels=bb.in_channels, detail_channels=list(bb.detail_channels),
                semantic_channels=list(bb.semantic_channels), expansion=bb.semantic_expansion_ratio,
                bga_channels=bb.bga_channels, out_indices=list(bb.out_indices), align_corners=bb.align_corners)


def _fastscnn(bb: Any) -> dict:
    gfe = bb.global_feature_extractor
    first = gfe.bottleneck1[0].conv
    hidden, cin = first[0].conv.out_channels, first[0].conv.in_channels
    if len(first) != 3 or hidden % cin:
        raise ExportError('FastSCNN: the first bottleneck has no 1x1 expansion by a whole ratio; run.py writes '
                          'MMSeg\'s default blocks only.')
    return dict(in_channels=bb.in_channels,
                downsample_channels=[bb.downsample_dw_channels1, bb.downsample_dw_channels2],
                global_in=bb.global_in_channels, block_channels=list(bb.global_block_channels),
                block_strides=list(bb.global_block_strides), global_out=bb.global_out_channels,
                higher_in=bb.higher_in_channels, lower_in=bb.lower_in_channels, fusion_out=bb.fusion_out_channels,
                out_indices=list(bb.out_indices), act=_act(bb.act_cfg, 'FastSCNN'),
                dw_act=_conv_act(bb.learning_to_downsample.dsconv1.depthwise_conv, 'FastSCNN downsampling'),
                align_corners=bb.align_corners, expand_ratio=hidden // cin,
                num_blocks=[len(gfe.bottleneck1), len(gfe.bottleneck2), len(gfe.bottleneck3)],
                pool_scales=list(gfe.ppm.pool_scales))


def _conv_geometry(conv: Any, where: str) -> dict:
    from mmcv.cnn.bricks import Conv2dAdaptivePadding

    return dict(stride=_square(conv.stride, where), padding=_square(conv.padding, where),
                dilation=_square(conv.dilation, where), same=isinstance(conv, Conv2dAdaptivePadding))


def _mobilenetv3(bb: Any) -> dict:
    names = list(bb.layers)
    stem = getattr(bb, names[0]).conv
    blocks = []
    for name in names[1:-1]:
        blk, where = getattr(bb, name), f'MobileNetV3 {name}'
        dw = blk.depthwise_conv
        cin = blk.expand_conv.conv.in_channels if blk.with_expand_conv else dw.conv.in_channels
        blocks.append({'in': cin, 'mid': dw.conv.in_channels, 'out': blk.linear_conv.conv.out_channels,
                       'kernel': _square(dw.conv.kernel_size, where), 'act': _conv_act(dw, where),
                       'expand': blk.with_expand_conv, 'residual': blk.with_res_shortcut,
                       'squeeze': blk.se.conv1.conv.out_channels if blk.with_se else 0,
                       **_conv_geometry(dw.conv, where)})
    last = getattr(bb, names[-1]).conv
    geo = _conv_geometry(stem, 'MobileNetV3 layer0')
    return dict(stem=dict(out=stem.out_channels, stride=geo['stride'], padding=geo['padding'], same=geo['same']),
                blocks=blocks, out_indices=list(bb.out_indices),
                last=dict(**{k: v for k, v in _conv_geometry(last, 'MobileNetV3 last layer').items()
                             if k in ('padding', 'dilation')}, **{'in': last.in_channels, 'out': last.out_channels}))


def _pair(v: Any) -> list[int]:
    return [int(x) for x in v] if isinstance(v, (tuple, list)) else [int(v), int(v)]


def _head(head: Any) -> tuple[str, dict]:
    kind = type(head).__name__
    norm, act = head.norm_cfg is not None, _act(head.act_cfg, kind)
    if kind == 'LRASPPHead':
        pool = head.image_pool[0]
        return 'LRASPPHead', dict(in_channels=list(head.in_channels), channels=head.channels,
                                  num_classes=head.out_channels, branch_channels=list(head.branch_channels),
                                  in_index=list(head.in_index), norm=norm, act=act, align_corners=head.align_corners,
                                  pool_kernel=_pair(pool.kernel_size), pool_stride=_pair(pool.stride))
    if kind not in ('FCNHead', 'DepthwiseSeparableFCNHead'):
        raise ExportError(f'decode head {kind}: run.py writes out FCNHead, DepthwiseSeparableFCNHead and LRASPPHead '
                          '(the heads of the 2025 recipes).')
    if head.input_transform is not None:
        raise ExportError(f'{kind} with input_transform={head.input_transform!r}: run.py takes one input level.')
    separable = kind == 'DepthwiseSeparableFCNHead'
    first = head.convs[0] if head.num_convs else None
    dilation = 1 if first is None or separable else _square(first.conv.dilation, kind)
    dw_act = _conv_act(first.depthwise_conv, kind) if separable and first is not None else None
    return 'FCNHead', dict(in_channels=head.in_channels, channels=head.channels, num_classes=head.out_channels,
                           num_convs=head.num_convs, kernel_size=head.kernel_size, dilation=dilation,
                           concat_input=head.concat_input, in_index=head.in_index, norm=norm, act=act,
                           separable=separable, dw_act=dw_act)


_BACKBONES = {'BiSeNetV2': _bisenetv2, 'FastSCNN': _fastscnn, 'MobileNetV3': _mobilenetv3}


def _check_norms(model: Any) -> None:
    """Every norm layer is a batch norm with PyTorch's defaults (what run.py builds)."""
    import torch.nn as nn

    for name, m in list(model.backbone.named_modules()) + list(model.decode_head.named_modules()):
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.eps != 1e-5 or not m.affine or not m.track_running_stats:
                raise ExportError(f'{name}: batch norm with eps={m.eps}, affine={m.affine}, track_running_stats='
                                  f'{m.track_running_stats}; run.py builds nn.BatchNorm2d with its defaults.')
        elif isinstance(m, (nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)):
            raise ExportError(f'{name}: {type(m).__name__}; run.py writes batch norm only.')


def describe(model: Any) -> dict:
    """The architecture of an MMSeg ``EncoderDecoder`` as ``run.py``'s ``SETTINGS['arch']`` (plain numbers)."""
    kind = type(model.backbone).__name__
    if type(model).__name__ != 'EncoderDecoder' or getattr(model, 'with_neck', False):
        neck = ' with a neck' if getattr(model, 'with_neck', False) else ''
        raise ExportError(f'{type(model).__name__}{neck}: run.py writes out '
                          'an EncoderDecoder of a backbone and a decode head.')
    if kind not in _BACKBONES:
        raise ExportError(f'backbone {kind}: run.py writes out {", ".join(_BACKBONES)} (the 2025 recipes).')
    _check_norms(model)
    head_type, head_args = _head(model.decode_head)
    return {'backbone': {'type': kind, 'args': _BACKBONES[kind](model.backbone)},
            'head': {'type': head_type, 'args': head_args, 'align_corners': model.decode_head.align_corners}}


def plain_network(arch: dict):
    """``run.py``'s network for ``arch`` (in eval mode)."""
    return template.Segmentor(arch).eval()


def export_state_dict(model: Any, cfg: Any = None) -> tuple[dict, dict]:
    """``(arch, state_dict)``: the architecture for ``run.py`` and the model's weights under ``run.py``'s names.

    The auxiliary heads (they only train) are left out. Tensors are paired in registration order and each pair
    must agree in name suffix (weight, bias, running_mean, ...) and shape, or :class:`ExportError` names it.
    ``cfg`` is accepted for symmetry with the loaders; everything is read from the built model.
    """
    arch = describe(model)
    plain = plain_network(arch)
    src = [(k, v) for k, v in model.state_dict().items() if not k.startswith('auxiliary_head.')]
    dst = list(plain.state_dict().items())
    for i, ((sk, sv), (dk, dv)) in enumerate(zip(src, dst)):
        if sk.rsplit('.', 1)[-1] != dk.rsplit('.', 1)[-1] or tuple(sv.shape) != tuple(dv.shape):
            raise ExportError(f'tensor {i}: the model\'s {sk} {tuple(sv.shape)} does not match run.py\'s {dk} '
                              f'{tuple(dv.shape)}; this model is not one run.py writes out.')
    if len(src) != len(dst):
        raise ExportError(f'the model has {len(src)} tensors (auxiliary heads left out), run.py\'s network '
                          f'{len(dst)}; first unmatched: {(src[len(dst):] or dst[len(src):])[0][0]}.')
    state = {dk: sv.detach().to('cpu').clone().contiguous() for (_, sv), (dk, _) in zip(src, dst)}
    plain.load_state_dict(state, strict=True)
    return arch, state


def class_bias_of(meta: dict | None, source: str = '<checkpoint>') -> list[float]:
    """The checkpoint's per-class decoding biases (``meta['class_bias']``, 19 finite floats), else zeros."""
    import math

    bias = (meta or {}).get('class_bias')
    if bias is None:
        return [0.0] * NUM_CLASSES
    try:
        values = [float(b) for b in bias]
    except (TypeError, ValueError):
        values = []
    if len(values) != NUM_CLASSES or not all(math.isfinite(v) for v in values):
        raise ExportError(f'{source}: meta["class_bias"] must be {NUM_CLASSES} finite numbers, one per class; '
                          f'got {bias!r:.80}. Tune the biases again, or remove them to decode with plain argmax.')
    return values


def requirements_text() -> str:
    """``requirements.txt``: what run.py imports, pinned to the versions installed here (local tags dropped, so
    the pins name releases of the package index; this build's predictions were made with exactly these)."""
    lines = []
    for dist in REQUIREMENTS:
        version = metadata.version(dist).split('+', 1)[0]
        lines.append(f'{dist}=={version}')
    return '\n'.join(lines) + '\n'


def settings(arch: dict, *, mean: list[float], std: list[float], test_size: tuple[int, int], tta: str,
             class_bias: list[float], ms_scales: tuple[float, ...]) -> dict:
    """``run.py``'s ``SETTINGS``: architecture, preprocessing, TTA, biases, flip permutation, palette, classes."""
    from utils.core.config import TTA_MODES

    if tta not in TTA_MODES:
        raise ExportError(f'TTA {tta!r}: run.py reproduces {", ".join(TTA_MODES)}.')
    return {'arch': arch, 'mean': [float(v) for v in mean], 'std': [float(v) for v in std],
            'test_size': [int(test_size[0]), int(test_size[1])], 'tta': tta, 'ms_scales': [float(s) for s in ms_scales],
            'flip_perm': [int(v) for v in flip_permutation()], 'class_bias': [float(b) for b in class_bias],
            'palette': [int(v) for rgb in PALETTE for v in rgb], 'classes': list(CLASSES)}


def run_py_text(values: dict) -> str:
    """The template with ``SETTINGS`` written in as a Python literal."""
    text = TEMPLATE.read_text()
    literal = ('# The trained run, as exported: mean and std are the float32 values its inputs were normalised with.\n'
               'SETTINGS = ' + pprint.pformat(values, width=110, sort_dicts=False, compact=True))
    out, n = _MARK.subn(lambda _: literal, text, count=1)
    if n != 1:
        raise ExportError(f'{TEMPLATE}: the line "SETTINGS = None" is missing, so the settings cannot be written.')
    return out


def write_solution(out_dir: str | os.PathLike, arch: dict, state: dict, values: dict) -> Path:
    """Write ``run.py``, ``ckpt.pth`` (``{"state_dict": tensors}``) and ``requirements.txt`` into ``out_dir``."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if values.get('arch') != arch:
        raise ExportError('the settings describe another architecture than the weights; export them together.')
    (out / 'run.py').write_text(run_py_text(values))
    torch.save({'state_dict': state}, out / 'ckpt.pth')
    (out / 'requirements.txt').write_text(requirements_text())
    return out
