"""Face parsing (CelebAMask-HQ, 19 classes): predict label masks with the trained network, standalone.

    pip install -r requirements.txt
    python3 run.py --input IMG.jpg --output MASK.png --weights ckpt.pth
    python3 run.py --input IMAGE_DIR --output MASK_DIR --weights ckpt.pth      # a folder: the model loads once

The network is written out here in plain PyTorch (no mmcv, mmengine or MMSegmentation); ``SETTINGS`` below holds
what the trained run used: the architecture, the input size and normalisation, the test-time augmentation and the
per-class decoding biases. The prediction of one image, step by step:

1. read it as RGB, resize it (bilinear) to the network's input size when it differs, subtract the mean and divide
   by the standard deviation of each channel;
2. forward it, and (flip TTA) its mirror image, whose class maps are mirrored back with the left/right classes
   swapped (a mirrored left eye is a right eye); each view's logits are upsampled (bilinear) to the image's size
   and turned into probabilities (softmax), then averaged;
3. the label of a pixel is ``argmax_c(log(p_c + 1e-12) + b_c)``, ``b`` the per-class biases (zeros: plain argmax);
4. it is written as a single-channel PNG (mode P, the CelebAMask colours), pixel values the class ids 0..18.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

SETTINGS = None  # written by the exporter: the trained run's architecture, preprocessing, TTA, biases and palette

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


# --------------------------------------------------------------------------- building blocks
class HSigmoid(nn.Module):
    """min(max((x + 3) / 6, 0), 1), computed in this order (the trained network's own formula)."""

    def forward(self, x):
        return ((x + 3.0) / 6.0).clamp_(0.0, 1.0)


def activation(name):
    """The activation layer of a name (None: no activation)."""
    table = {'ReLU': lambda: nn.ReLU(inplace=True), 'ReLU6': lambda: nn.ReLU6(inplace=True),
             'HSwish': nn.Hardswish, 'HSigmoid': HSigmoid, 'Sigmoid': nn.Sigmoid}
    if name is None:
        return None
    if name not in table:
        raise ValueError(f'unknown activation {name!r}')
    return table[name]()


class ConvBNAct(nn.Module):
    """Convolution, optional batch norm, optional activation. ``same=True`` pads like TensorFlow's 'SAME' (the
    missing rows and columns split between both sides, the extra one at the end), computed for each input."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=None, norm=True, act='ReLU',
                 same=False):
        super().__init__()
        self.same = same
        self.conv = nn.Conv2d(cin, cout, k, stride, 0 if same else padding, dilation, groups,
                              bias=(not norm) if bias is None else bias)
        self.bn = nn.BatchNorm2d(cout) if norm else None
        self.act = activation(act)

    def forward(self, x):
        if self.same:
            x = _same_pad(x, self.conv)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return x if self.act is None else self.act(x)


def _same_pad(x, conv):
    (h, w), (kh, kw) = x.shape[-2:], conv.weight.shape[-2:]
    (sh, sw), (dh, dw) = conv.stride, conv.dilation
    ph = max((math.ceil(h / sh) - 1) * sh + (kh - 1) * dh + 1 - h, 0)
    pw = max((math.ceil(w / sw) - 1) * sw + (kw - 1) * dw + 1 - w, 0)
    if ph > 0 or pw > 0:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return x


class SepConv(nn.Module):
    """Depthwise convolution, then pointwise (1x1) convolution, each with its own norm and activation."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dw_norm=True, dw_act='ReLU', pw_norm=True, pw_act='ReLU'):
        super().__init__()
        self.depthwise = ConvBNAct(cin, cin, k, stride, padding, groups=cin, norm=dw_norm, act=dw_act)
        self.pointwise = ConvBNAct(cin, cout, 1, norm=pw_norm, act=pw_act)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def upsample(x, size, align_corners):
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=align_corners)


# --------------------------------------------------------------------------- BiSeNetV2
class GatherExpand(nn.Module):
    """BiSeNetV2's gather-and-expansion layer (a stride-2 one adds a separable-conv shortcut)."""

    def __init__(self, cin, cout, ratio, stride):
        super().__init__()
        mid = cin * ratio
        self.conv1 = ConvBNAct(cin, cin, 3, 1, 1)
        if stride == 1:
            self.dw = nn.Sequential(ConvBNAct(cin, mid, 3, 1, 1, groups=cin))
            self.shortcut = None
        else:
            self.dw = nn.Sequential(ConvBNAct(cin, mid, 3, stride, 1, groups=cin, bias=False, act=None),
                                    ConvBNAct(mid, mid, 3, 1, 1, groups=mid))
            self.shortcut = SepConv(cin, cout, 3, stride, 1, dw_act=None, pw_act=None)
        self.conv2 = ConvBNAct(mid, cout, 1, bias=False, act=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.conv2(self.dw(self.conv1(x)))
        return self.act(y + (x if self.shortcut is None else self.shortcut(x)))


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.first = ConvBNAct(cin, cout, 3, 2, 1)
        self.down = nn.Sequential(ConvBNAct(cout, cout // 2, 1), ConvBNAct(cout // 2, cout, 3, 2, 1))
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.fuse = ConvBNAct(cout * 2, cout, 3, 1, 1)

    def forward(self, x):
        x = self.first(x)
        return self.fuse(torch.cat([self.down(x), self.pool(x)], dim=1))


class ContextEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.BatchNorm2d(c))
        self.conv_gap = ConvBNAct(c, c, 1)
        self.conv_last = ConvBNAct(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv_last(x + self.conv_gap(self.gap(x)))


class Aggregation(nn.Module):
    """BiSeNetV2's bilateral guided aggregation of the detail and the semantic branch."""

    def __init__(self, c, align_corners):
        super().__init__()
        self.align_corners = align_corners
        self.detail_dw = SepConv(c, c, 3, 1, 1, dw_act=None, pw_norm=False, pw_act=None)
        self.detail_down = nn.Sequential(ConvBNAct(c, c, 3, 2, 1, bias=False, act=None), nn.AvgPool2d(3, 2, 1))
        self.semantic_conv = ConvBNAct(c, c, 3, 1, 1, bias=False, act=None)
        self.semantic_dw = SepConv(c, c, 3, 1, 1, dw_act=None, pw_norm=False, pw_act=None)
        self.out = ConvBNAct(c, c, 3, 1, 1)

    def forward(self, xd, xs):
        d_dw, d_down = self.detail_dw(xd), self.detail_down(xd)
        s_conv = upsample(self.semantic_conv(xs), d_dw.shape[2:], self.align_corners)
        fuse1 = d_dw * torch.sigmoid(s_conv)
        fuse2 = upsample(d_down * torch.sigmoid(self.semantic_dw(xs)), fuse1.shape[2:], self.align_corners)
        return self.out(fuse1 + fuse2)


class BiSeNetV2(nn.Module):
    def __init__(self, in_channels, detail_channels, semantic_channels, expansion, bga_channels, out_indices,
                 align_corners):
        super().__init__()
        self.out_indices = list(out_indices)
        dc = [in_channels] + list(detail_channels)
        self.detail = nn.ModuleList(
            nn.Sequential(ConvBNAct(dc[i], dc[i + 1], 3, 2, 1),
                          *[ConvBNAct(dc[i + 1], dc[i + 1], 3, 1, 1) for _ in range(1 if i == 0 else 2)])
            for i in range(len(detail_channels)))
        sc, stages = list(semantic_channels), [Stem(in_channels, semantic_channels[0])]
        for i in range(1, len(sc)):
            repeats = 4 if i == len(sc) - 1 else 2
            stages.append(nn.Sequential(GatherExpand(sc[i - 1], sc[i], expansion, 2),
                                        *[GatherExpand(sc[i], sc[i], expansion, 1) for _ in range(repeats - 1)]))
        stages.append(ContextEmbedding(sc[-1]))
        self.semantic = nn.ModuleList(stages)
        self.bga = Aggregation(bga_channels, align_corners)

    def forward(self, x):
        xd = x
        for stage in self.detail:
            xd = stage(xd)
        outs, xs = [], x
        for stage in self.semantic:
            xs = stage(xs)
            outs.append(xs)
        feats = [self.bga(xd, outs[-1])] + outs[:-1]
        return [feats[i] for i in self.out_indices]


# --------------------------------------------------------------------------- Fast-SCNN
class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (when the ratio is not 1), depthwise 3x3, linear 1x1 projection."""

    def __init__(self, cin, cout, stride, ratio, act):
        super().__init__()
        hidden = int(round(cin * ratio))
        self.residual = stride == 1 and cin == cout
        layers = [ConvBNAct(cin, hidden, 1, act=act)] if ratio != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, stride, 1, groups=hidden, act=act),
                   ConvBNAct(hidden, cout, 1, act=None)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class PyramidPooling(nn.ModuleList):
    def __init__(self, scales, cin, c, act, align_corners):
        super().__init__(nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvBNAct(cin, c, 1, act=act)) for s in scales)
        self.align_corners = align_corners

    def forward(self, x):
        return [upsample(branch(x), x.shape[2:], self.align_corners) for branch in self]


class FastSCNN(nn.Module):
    def __init__(self, in_channels, downsample_channels, global_in, block_channels, block_strides, global_out,
                 higher_in, lower_in, fusion_out, out_indices, act, dw_act, align_corners, expand_ratio=6,
                 num_blocks=(3, 3, 3), pool_scales=(1, 2, 3, 6)):
        super().__init__()
        self.out_indices, self.align_corners = list(out_indices), align_corners
        d1, d2 = downsample_channels
        self.downsample = nn.Sequential(ConvBNAct(in_channels, d1, 3, 2, 1, act=act),
                                        SepConv(d1, d2, 3, 2, 1, dw_act=dw_act),
                                        SepConv(d2, global_in, 3, 2, 1, dw_act=dw_act))
        blocks, cin = [], global_in
        for cout, n, stride in zip(block_channels, num_blocks, block_strides):
            blocks.append(nn.Sequential(*[InvertedResidual(cin if j == 0 else cout, cout, stride if j == 0 else 1,
                                                           expand_ratio, act) for j in range(n)]))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.ppm = PyramidPooling(pool_scales, cin, cin // 4, act, align_corners)
        self.global_out = ConvBNAct(cin * 2, global_out, 3, 1, 1, act=act)
        self.fuse_dw = ConvBNAct(lower_in, fusion_out, 3, 1, 1, groups=fusion_out, act=act)
        self.fuse_lower = ConvBNAct(fusion_out, fusion_out, 1, act=None)
        self.fuse_higher = ConvBNAct(higher_in, fusion_out, 1, act=None)

    def forward(self, x):
        higher = self.downsample(x)
        y = self.blocks(higher)
        lower = self.global_out(torch.cat([y, *self.ppm(y)], dim=1))
        low = self.fuse_lower(self.fuse_dw(upsample(lower, higher.shape[2:], self.align_corners)))
        fused = F.relu(self.fuse_higher(higher) + low)
        feats = [higher, lower, fused]
        return [feats[i] for i in self.out_indices]


# --------------------------------------------------------------------------- MobileNetV3
class SqueezeExcite(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = ConvBNAct(c, squeeze, 1, norm=False, act='ReLU')
        self.expand = ConvBNAct(squeeze, c, 1, norm=False, act='HSigmoid')

    def forward(self, x):
        return x * self.expand(self.reduce(self.pool(x)))


class MobileBlock(nn.Module):
    """MobileNetV3's block; ``spec`` holds its sizes, strides and dilations as the trained network had them."""

    def __init__(self, spec):
        super().__init__()
        cin, mid, cout, k, act = spec['in'], spec['mid'], spec['out'], spec['kernel'], spec['act']
        self.residual = spec['residual']
        self.expand = ConvBNAct(cin, mid, 1, act=act) if spec['expand'] else None
        self.dw = ConvBNAct(mid, mid, k, spec['stride'], spec['padding'], spec['dilation'], groups=mid, act=act,
                            same=spec['same'])
        self.se = SqueezeExcite(mid, spec['squeeze']) if spec['squeeze'] else None
        self.project = ConvBNAct(mid, cout, 1, act=None)

    def forward(self, x):
        y = x if self.expand is None else self.expand(x)
        y = self.dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class MobileNetV3(nn.Module):
    def __init__(self, stem, blocks, last, out_indices):
        super().__init__()
        self.out_indices = list(out_indices)
        self.layers = nn.ModuleList(
            [ConvBNAct(3, stem['out'], 3, stem['stride'], stem['padding'], act='HSwish', same=stem['same'])]
            + [MobileBlock(b) for b in blocks]
            + [ConvBNAct(last['in'], last['out'], 1, 1, last['padding'], last['dilation'], act='HSwish')])

    def forward(self, x):
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return outs


# --------------------------------------------------------------------------- decode heads
class FCNHead(nn.Module):
    """Convolutions, optionally the input concatenated back, then the 1x1 classifier (``separable``: Fast-SCNN's
    depthwise-separable variant)."""

    def __init__(self, in_channels, channels, num_classes, num_convs, kernel_size, dilation, concat_input, in_index,
                 norm, act, separable=False, dw_act=None):
        super().__init__()
        self.in_index, self.concat_input = in_index, concat_input
        self.classifier = nn.Conv2d(channels, num_classes, 1)
        pad = kernel_size // 2

        def conv(cin):
            if separable:
                return SepConv(cin, channels, kernel_size, 1, pad, dw_norm=norm, dw_act=dw_act, pw_norm=norm,
                               pw_act=act)
            return ConvBNAct(cin, channels, kernel_size, 1, pad * dilation, dilation, norm=norm, act=act)

        self.convs = nn.Sequential(*[conv(in_channels if i == 0 else channels) for i in range(num_convs)])
        if concat_input:
            self.conv_cat = (SepConv(in_channels + channels, channels, kernel_size, 1, pad, dw_norm=norm,
                                     dw_act=dw_act, pw_norm=norm, pw_act=act) if separable else
                             ConvBNAct(in_channels + channels, channels, kernel_size, 1, pad, norm=norm, act=act))

    def forward(self, feats):
        x = feats[self.in_index]
        y = self.convs(x)
        if self.concat_input:
            y = self.conv_cat(torch.cat([x, y], dim=1))
        return self.classifier(y)


class LRASPPHead(nn.Module):
    """Lite R-ASPP: the deepest features gated by a pooled context, then refined with each shallower level."""

    def __init__(self, in_channels, channels, num_classes, branch_channels, in_index, norm, act, align_corners,
                 pool_kernel, pool_stride):
        super().__init__()
        self.in_index, self.align_corners = list(in_index), align_corners
        self.classifier = nn.Conv2d(channels, num_classes, 1)
        self.branches = nn.ModuleList(nn.Conv2d(in_channels[i], c, 1, bias=False)
                                      for i, c in enumerate(branch_channels))
        self.branch_ups = nn.ModuleList(ConvBNAct(channels + c, channels, 1, bias=False, norm=norm, act=act)
                                        for c in branch_channels)
        self.conv_up_input = nn.Conv2d(channels, channels, 1)
        self.aspp = ConvBNAct(in_channels[-1], channels, 1, bias=False, norm=norm, act=act)
        self.image_pool = nn.Sequential(nn.AvgPool2d(kernel_size=tuple(pool_kernel), stride=tuple(pool_stride)),
                                        ConvBNAct(in_channels[2], channels, 1, bias=False, norm=False, act='Sigmoid'))

    def forward(self, feats):
        inputs = [feats[i] for i in self.in_index]
        x = inputs[-1]
        x = self.aspp(x) * upsample(self.image_pool(x), x.shape[2:], self.align_corners)
        x = self.conv_up_input(x)
        for i in range(len(self.branches) - 1, -1, -1):
            x = upsample(x, inputs[i].shape[2:], self.align_corners)
            x = self.branch_ups[i](torch.cat([x, self.branches[i](inputs[i])], 1))
        return self.classifier(x)


BACKBONES = {'BiSeNetV2': BiSeNetV2, 'FastSCNN': FastSCNN, 'MobileNetV3': MobileNetV3}
HEADS = {'FCNHead': FCNHead, 'LRASPPHead': LRASPPHead}


class Segmentor(nn.Module):
    """Backbone and decode head; the logits are upsampled (bilinear) to the input's size."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = BACKBONES[arch['backbone']['type']](**arch['backbone']['args'])
        self.head = HEADS[arch['head']['type']](**arch['head']['args'])
        self.align_corners = arch['head']['align_corners']

    def forward(self, x):
        return upsample(self.head(self.backbone(x)), x.shape[2:], self.align_corners)


# --------------------------------------------------------------------------- prediction
class Predictor:
    """The trained network with the run's preprocessing, TTA and decoding biases."""

    def __init__(self, weights, settings=None, device='cpu'):
        self.s = settings if settings is not None else SETTINGS
        self.device = torch.device(device)
        state = torch.load(weights, map_location='cpu', weights_only=True)
        state = state['state_dict'] if isinstance(state, dict) and 'state_dict' in state else state
        self.net = Segmentor(self.s['arch'])
        self.net.load_state_dict(state, strict=True)
        self.net.eval().to(self.device)
        self.mean = torch.tensor(self.s['mean'], device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(self.s['std'], device=self.device).view(1, 3, 1, 1)
        self.perm = torch.as_tensor(self.s['flip_perm'], device=self.device)
        self.bias = torch.tensor(self.s['class_bias'], dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    def views(self):
        """(scale, flipped) of each forward pass of the run's TTA."""
        tta = self.s['tta']
        if tta == 'none':
            return [(1.0, False)]
        if tta == 'flip':
            return [(1.0, False), (1.0, True)]
        return [(s, f) for s in self.s['ms_scales'] for f in (False, True)]

    def _input(self, image, size):
        t = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None].float()
        if tuple(t.shape[-2:]) != size:
            t = F.interpolate(t, size=size, mode='bilinear', align_corners=False)
        return (t - self.mean) / self.std

    @torch.no_grad()
    def probabilities(self, image):
        """Softmax probabilities (1 x C x H x W at the image's size) averaged over the TTA views."""
        base_h, base_w = self.s['test_size']
        views, total = self.views(), None
        for scale, flip in views:
            size = (max(8, int(round(base_h * scale / 8)) * 8), max(8, int(round(base_w * scale / 8)) * 8))
            x = self._input(image, size)
            if flip:
                x = x.flip(-1)
            logits = self.net(x).float()
            if flip:
                logits = logits.flip(-1)[:, self.perm]
            logits = F.interpolate(logits, size=image.shape[:2], mode='bilinear', align_corners=False)
            prob = logits.softmax(dim=1)
            total = prob if total is None else total + prob
        return total / len(views)

    def labels(self, image):
        """The label map (H x W uint8): argmax over the classes of log(p + 1e-12) + bias."""
        score = torch.log(self.probabilities(image) + 1e-12) + self.bias
        return score.argmax(dim=1)[0].to('cpu').numpy().astype(np.uint8)


def read_rgb(path):
    with Image.open(path) as img:
        img.load()
        return np.array(img.convert('RGB'))


def write_png(labels, path, palette):
    img = Image.fromarray(np.ascontiguousarray(labels))
    img.putpalette(list(palette) + [0] * (768 - len(palette)))
    img.save(path, format='PNG', compress_level=1)


def pairs(src, dst):
    """(image, mask path) pairs: one file to one file, or every image of a folder to ``<stem>.png`` in a folder."""
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        images = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.startswith('.'))
        return [(p, dst / f'{p.stem}.png') for p in images]
    if not src.is_file():
        raise SystemExit(f'error: --input {src} is neither an image nor a folder')
    if dst.is_dir():
        dst = dst / f'{src.stem}.png'
    dst.parent.mkdir(parents=True, exist_ok=True)
    return [(src, dst)]


def main(argv=None):
    p = argparse.ArgumentParser(description='Predict face-parsing masks (19 CelebAMask classes, single-channel '
                                            'PNG, pixel value = class id) with the trained network.')
    p.add_argument('--input', required=True, help='an image, or a folder of images')
    p.add_argument('--output', required=True, help='the mask PNG to write, or a folder for <stem>.png masks')
    p.add_argument('--weights', default=str(Path(__file__).with_name('ckpt.pth')), help='ckpt.pth')
    p.add_argument('--device', default=None, help='cpu or cuda (default: cuda when available)')
    a = p.parse_args(argv)
    if SETTINGS is None:
        raise SystemExit('error: this run.py is the template; use the one written into solution/ by the exporter')
    torch.set_grad_enabled(False)
    device = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    predictor = Predictor(a.weights, device=device)
    jobs = pairs(a.input, a.output)
    for src, dst in jobs:
        write_png(predictor.labels(read_rgb(src)), dst, SETTINGS['palette'])
    print(f'{len(jobs)} masks written to {Path(a.output)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
