"""What both report drafts (2022 and 2025-26) say the same way, from the run record: the architecture in the papers'
words, the weights, each head's loss, config values as a reader wants them, and the training machine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.handin.block import Block
from utils.handin.rundata import RunData


def short(value: Any) -> str:
    """A config value as a reader wants it: floats to 6 significant digits, inside lists too."""
    if isinstance(value, float):
        return f'{value:.6g}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(short(v) for v in value) + ']'
    return str(value)


def _duration(seconds: float | None) -> str:
    seconds = float(seconds or 0)
    return f'{seconds / 3600:.2f} h' if seconds >= 3600 else f'{seconds / 60:.1f} min' if seconds >= 60 else \
        f'{seconds:.0f} s'


#: decode head -> the architecture it makes (MMSeg's heads; the 2025 recipes' heads included)
ARCHITECTURES = {'DepthwiseSeparableASPPHead': 'DeepLabV3+', 'ASPPHead': 'DeepLabV3', 'UPerHead': 'UPerNet',
                 'SegformerHead': 'SegFormer', 'FCNHead': 'FCN', 'LRASPPHead': 'LR-ASPP', 'BiSeNetV2Head': 'BiSeNetV2',
                 'DepthwiseSeparableFCNHead': 'Fast-SCNN'}


def architecture(recipe: dict) -> tuple[str, str]:
    """``(architecture, backbone)`` in the words of the papers: ('DeepLabV3+', 'ResNet-50-v1c')."""
    head = ((recipe.get('heads') or {}).get('decode_head') or {}).get('type', '')
    backbone = recipe.get('backbone') or {}
    kind, depth = str(backbone.get('type') or '-'), backbone.get('depth')
    names = {'ResNetV1c': f'ResNet-{depth}-v1c', 'ResNet': f'ResNet-{depth}', 'ResNetV1d': f'ResNet-{depth}-v1d',
             'SwinTransformer': 'Swin Transformer', 'MixVisionTransformer': 'MiT (Mix Transformer)'}
    return ARCHITECTURES.get(head, head or '-'), names.get(kind, kind if depth is None else f'{kind}-{depth}')


def weights_words(recipe: dict, known: dict[str, str], prefix: str) -> str:
    """Where the backbone's initial weights came from, under the ImageNet-1k rule of the 2022 course: the record's
    ``pretrained`` (an OpenMMLab name, a URL or a local copy of either), named by ``known`` (the weight files the
    project knows, :data:`utils.core.pretrained.IMAGENET_1K`; ``prefix`` its OpenMMLab scheme)."""
    given = str(recipe.get('pretrained') or '')
    backbone = recipe.get('backbone') or {}
    default = f"resnet{backbone.get('depth')}_v1c" if backbone.get('type') == 'ResNetV1c' else ''
    key = next((k for k in known if k and k in given), None) or (default if not given else None)
    what = known.get(key or '', None)
    source = (f'OpenMMLab\'s model zoo ({prefix}{key})' if key and not key.endswith('.pth')
              else f'OpenMMLab\'s model zoo (download.openmmlab.com, {key})' if key else Path(given).name)
    if not given:
        if what is None:
            return 'random weights (a smoke run downloads none)'
        return (f'random weights in this smoke run (it downloads none); the real run starts from {what} weights, '
                f'pre-trained on ImageNet-1k only, from {source}')
    if what is None:
        return f'the weights in {Path(given).name} (not a file this project knows as ImageNet-1k: check the rule)'
    return f'{what} weights, pre-trained on ImageNet-1k only, from {source}'


def _loss_name(loss: dict) -> str:
    kind = {'PixelMeanCrossEntropyLoss': 'cross-entropy', 'CrossEntropyLoss': 'cross-entropy',
            'LovaszLoss': 'Lovasz-softmax', 'DiceLoss': 'Dice'}.get(loss.get('type'), loss.get('type'))
    weighted = 'class-weighted ' if loss.get('class_weight') else ('plain ' if kind == 'cross-entropy' else '')
    return f"{weighted}{kind} (loss weight {loss.get('loss_weight', 1.0):g})"


def head_loss_words(name: str, head: dict, batch: int | None) -> str:
    """What one head trains with, from the record: its losses, class weights or none, OHEM or none."""
    losses = head.get('losses') or []
    said = ' + '.join(_loss_name(x) for x in losses) or 'no loss'
    sampler = head.get('sampler')
    text = f'The {name} ({head.get("type")}) trains with {said}'
    if sampler:
        per_batch = f', {sampler["min_kept"] * batch:,} in a batch of {batch}' if batch else ''
        text += (f", on the pixels that online hard example mining ({sampler['type']}) keeps: those whose true "
                 f"class has a predicted probability below {sampler['thresh']}, and at least "
                 f"{sampler['min_kept']:,} pixels per image{per_batch} (the hardest ones)")
    else:
        text += ', on every pixel (no OHEM)'
    return text + '.'


#: lines of a tool's version text that say nothing about the machine (licence boilerplate)
_BOILERPLATE = ('Copyright', 'This is free software', 'warranty', 'NVIDIA (R) Cuda compiler driver')


def _short_output(key: str, text: str) -> str:
    """A command's output as the report shows it: nvidia-smi's GPU table (up to its first blank line: the process
    list says nothing about the machine), nvcc's and gcc's version lines without the licence text."""
    lines = text.splitlines()
    if key == 'nvidia_smi':
        cut = next((i for i, line in enumerate(lines) if i > 3 and not line.strip()), len(lines))
        return '\n'.join(lines[:cut])
    return '\n'.join(line for line in lines if line.strip() and not line.lstrip().startswith(_BOILERPLATE))


def _machine_blocks(run: RunData) -> list[Block]:
    out = [Block('heading', 'Training machine')]
    sessions = [(wd.name, s) for wd, r in zip(run.stages, run.records) for s in r.get('sessions', [])]
    if not sessions:
        return out + [Block('todo', 'Add the training machine (nvcc -V, gcc --version, nvidia-smi): this run kept '
                                    'no run_record.json.')]
    machine = sessions[-1][1].get('machine', {})
    gpus = machine.get('gpus') or []
    gpu = f"{len(gpus)} x {gpus[0]['name']} ({gpus[0]['memory_gib']} GiB)" if gpus else 'no GPU (CPU only)'
    out.append(Block('para', f"Training ran on {gpu}, driver {machine.get('driver') or '-'}, CUDA (torch) "
                             f"{machine.get('cuda_torch') or '-'}, cuDNN {machine.get('cudnn') or '-'}; CPU "
                             f"{machine.get('cpu')} ({machine.get('cpu_count')} cores), "
                             f"{machine.get('memory_gib')} GiB memory" + (', on Google Colab.' if machine.get('colab')
                                                                          else '.')))
    times = '; '.join(f"{name}: iterations {s['start_iter']:,} to {s['end_iter']:,} in {_duration(s['wall_s'])} "
                      f"({s['iters_per_s'] or 0:.2f} it/s)" for name, s in sessions)
    out.append(Block('para', f'Wall time per session: {times}.'))
    for key, label in (('nvcc', 'nvcc -V'), ('gcc', 'gcc --version'), ('nvidia_smi', 'nvidia-smi')):
        entry = machine.get(key) or {}
        shown = _short_output(key, entry.get('output') or '') or f"({entry.get('absent')})"
        out.append(Block('code', f'$ {label}\n{shown}'))
    return out
