"""A 2025-26 run written as its files (record, resolved config, curves, per-class history, evaluations of 04, the
leaderboard zip of 05, test images), crafted so that every number the hand-in states is known beforehand."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from utils.base.labels import CLASSES

CONFIG = 'bisenetv2-slim_crafted_1xb8-100it_celebamask-512x512'
OTHER = 'fast-scnn_crafted_1xb8-100it_celebamask-512x512'
PARAMS = 1_234_567
#: (config, checkpoint, tta, biases, imgF, mIoU): every evaluation the work root holds
EVALS = ((CONFIG, 'best_imgF_iter_100', 'none', False, 0.7812, 61.25),
         (CONFIG, 'best_imgF_iter_100', 'flip', False, 0.7901, 62.5),
         (CONFIG, 'best_imgF_iter_100', 'flip', True, 0.7955, 63.0),
         (OTHER, 'best_imgF_iter_100', 'none', False, 0.7433, 57.75))
CONFIG_TEXT = """edition = '2025'
smoke_run = {smoke}
data_root = '{data}'
work_dir = '{work_dir}'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlipSwap', prob=0.5, pairs=[(4, 5), (6, 7), (8, 9)]),
    dict(type='RandomRotate', degree=20, prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
val_evaluator = dict(type='ImageFScoreMetric')
"""


def _record(work_dir: Path, data: Path, params: int) -> dict:
    machine = {'gpus': [{'name': 'Tesla T4', 'memory_gib': 15.0}], 'driver': '550.54', 'cuda_torch': '12.4',
               'cudnn': 90100, 'cpu': 'Intel Xeon', 'cpu_count': 2, 'memory_gib': 12.7, 'colab': True,
               'nvcc': {'output': 'Cuda compilation tools, release 12.4', 'absent': None},
               'gcc': {'output': 'gcc (Ubuntu 11.4.0) 11.4.0', 'absent': None},
               'nvidia_smi': {'output': 'NVIDIA-SMI 550.54\n| GPU  Name |\n|  0  Tesla T4 |\n\n| Processes |\n| none |',
                              'absent': None}}
    head = {'type': 'BiSeNetV2Head', 'sampler': None,
            'losses': [{'type': 'CrossEntropyLoss', 'name': 'loss_ce', 'loss_weight': 1.0, 'class_weight': None},
                       {'type': 'DiceLoss', 'name': 'loss_dice', 'loss_weight': 0.5, 'class_weight': None}]}
    aux = {'type': 'FCNHead', 'sampler': None, 'losses': [{'type': 'CrossEntropyLoss', 'name': 'loss_ce',
                                                           'loss_weight': 0.4, 'class_weight': None}]}
    recipe = {'segmentor': 'EncoderDecoder', 'backbone': {'type': 'BiSeNetV2', 'depth': None}, 'pretrained': None,
              'heads': {'decode_head': head, 'auxiliary_head': aux},
              'optimizer': {'type': 'AdamW', 'lr': 0.002, 'weight_decay': 0.01}, 'amp': True,
              'param_scheduler': [{'type': 'PolyLR', 'eta_min': 0.0001, 'power': 0.9, 'by_epoch': False}],
              'batch_size': 8, 'max_iters': 100, 'val_interval': 50, 'crop_size': [512, 512]}
    session = {'start_iter': 0, 'end_iter': 100, 'max_iters': 100, 'wall_s': 600.0, 'iters_per_s': 0.17,
               'resumed_from': None, 'finished': True, 'machine': machine,
               'versions': {'python': '3.12.0', 'torch': '2.5.0', 'mmsegmentation': '1.2.2', 'mmengine': '0.10.7',
                            'numpy': '2.1.0'}}
    return {'format': 1, 'work_dir': str(work_dir), 'config_file': f'{work_dir.name}.py', 'parameters': params,
            'recipe': recipe, 'data_root': str(data), 'sessions': [session]}


def _curves(work_dir: Path) -> None:
    logs = work_dir / '20261207_000000' / 'vis_data'
    logs.mkdir(parents=True)
    lines = [{'loss': 2.0 - 0.015 * s, 'lr': 0.002 * (1 - s / 100) ** 0.9, 'step': s} for s in range(10, 101, 10)]
    lines += [{'imgF': 0.70, 'mIoU': 55.0, 'aAcc': 80.0, 'mAcc': 60.0, 'val_loss': 1.1, 'step': 50},
              {'imgF': 0.7812, 'mIoU': 61.25, 'aAcc': 85.0, 'mAcc': 66.0, 'val_loss': 0.9, 'step': 100}]
    (logs / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))
    rows = ['step,class,IoU,Acc,Dice,Precision,Recall,gt_pixels,pred_pixels']
    rows += [f'{s},{c},{50 + k},{60 + k},{55 + k},,,{100},{100}' for s in (50, 100) for k, c in enumerate(CLASSES)]
    (work_dir / 'val_per_class.csv').write_text('\n'.join(rows) + '\n')


def _evaluation(work_dir: Path, ckpt: str, tta: str, biases: bool, fscore: float, miou: float, params: int) -> None:
    folder = work_dir / 'eval' / f'{ckpt}_val_{tta}{"-bias" if biases else ""}'
    folder.mkdir(parents=True)
    summary = {'checkpoint': str(work_dir / f'{ckpt}.pth'), 'split': 'val', 'tta': tta, 'params': params,
               'imgF': fscore, 'mIoU': miou, 'aAcc': 85.0, 'mAcc': 66.0, 'mDice': 70.0, 'num_images': 100,
               'class_bias': [0.25 if biases and k % 3 == 0 else 0.0 for k in range(len(CLASSES))],
               'data_root': str(work_dir.parent.parent / 'data')}
    (folder / 'summary.json').write_text(json.dumps(summary))
    rows = ['class,IoU,Acc,Dice,Precision,Recall,gt_pixels,pred_pixels,images']
    rows += [f'{c},{miou},{miou},{miou},,,100,100,100' for c in CLASSES]
    (folder / 'per_class.csv').write_text('\n'.join(rows) + '\n')


def make_run_2025(root: Path, n_test: int = 100, smoke: bool = False) -> dict:
    """The crafted run under ``root``: returns its paths (stages, checkpoint, submission, test images)."""
    data, work_root = root / 'data', root / 'work_dirs'
    images = data / 'test' / 'test_image'
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    stems = [f'{k:032x}' for k in rng.integers(1, 2**62, n_test)]
    for stem in stems:
        Image.new('RGB', (8, 8), (200, 150, 120)).save(images / f'{stem}.jpg')
    for config, params in ((CONFIG, PARAMS), (OTHER, 1_100_000)):
        wd = work_root / config
        wd.mkdir(parents=True)
        (wd / 'run_record.json').write_text(json.dumps(_record(wd, data, params)))
        (wd / f'{config}.py').write_text(CONFIG_TEXT.format(smoke=smoke, data=data, work_dir=wd))
        (wd / 'best_imgF_iter_100.pth').write_bytes(b'crafted weights' * 100)
        (wd / 'split.json').write_text(json.dumps({'edition': '2025', 'seed': 0, 'train': ['a'], 'holdout': ['b']}))
        _curves(wd)
    for config, ckpt, tta, biases, fscore, miou in EVALS:
        _evaluation(work_root / config, ckpt, tta, biases, fscore, miou, PARAMS if config == CONFIG else 1_100_000)
    submission = work_root / 'submission-bisenetv2-slim-test.zip'
    with zipfile.ZipFile(submission, 'w') as zf:
        for stem in stems:
            mask = Image.fromarray(np.full((8, 8), 1, np.uint8), mode='P')
            from io import BytesIO

            buf = BytesIO()
            mask.save(buf, format='PNG')
            zf.writestr(f'masks/{stem}.png', buf.getvalue())
        zf.writestr('solution/run.py', 'print("run")\n')
        zf.writestr('solution/requirements.txt', 'torch\n')
    return {'stages': [work_root / CONFIG], 'checkpoint': work_root / CONFIG / 'best_imgF_iter_100.pth',
            'submission': submission, 'test_images': images, 'stems': stems, 'work_root': work_root, 'data': data}
