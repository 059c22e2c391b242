"""What a report needs later, written by each training stage into its work_dir as data (an MMEngine hook).

MMSeg 1.x writes per-class tables only into its text log and computes no validation loss; a notebook that
builds the hand-in days later, on another runtime, can only read files. :class:`RunRecordHook` (listed in
``configs/_base_/default_runtime.py``) writes, next to the checkpoints:

* ``run_record.json``: the machine (GPU model and count, driver, CUDA, ``nvcc -V``, ``gcc --version``,
  ``nvidia-smi``: each recorded as absent where it is), the library versions, the parameter count by the
  course formula, the recipe (model, losses with class weights and OHEM, optimiser, schedule) and one entry per
  session (a resume after a disconnect adds one): iterations, wall time and iterations per second;
* ``class_weights.csv``: the loss's class weights with the train pixel counts they come from;
* ``val_per_class.csv``: IoU / Acc / Dice per class at every validation (one row per step and class), and
  ``imgF``: the class's mean F over the val images where it is present (the 2025-26 leaderboard's view, 0-1);
* ``val_loss`` in ``vis_data/scalars.json`` beside mIoU: the decode head's own loss (its class weights, no OHEM
  sampling) averaged over all val pixels, computed from the logits the validation already produced.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from utils.base.labels import CLASSES, NUM_CLASSES

RECORD_FILE, WEIGHTS_FILE, PER_CLASS_FILE = 'run_record.json', 'class_weights.csv', 'val_per_class.csv'
VAL_LOSS_KEY = 'val_loss'  # the key in scalars.json (MMEngine's own name for a validation loss)
PACKAGES = ('torch', 'torchvision', 'numpy', 'mmsegmentation', 'mmengine', 'mmcv', 'mmcv-lite', 'opencv-python',
            'opencv-python-headless', 'Pillow', 'matplotlib', 'pandas', 'scipy')
COMMANDS = {'nvcc': ['nvcc', '-V'], 'gcc': ['gcc', '--version'], 'nvidia_smi': ['nvidia-smi']}


# --------------------------------------------------------------------------- the machine
def _command_output(cmd: list[str]) -> dict[str, str | None]:
    """``{'command', 'output', 'absent'}``: the command's text, or why there is none (not installed, failed)."""
    entry: dict[str, str | None] = {'command': ' '.join(cmd), 'output': None, 'absent': None}
    if shutil.which(cmd[0]) is None:
        entry['absent'] = f'{cmd[0]} is not installed on this machine'
        return entry
    try:
        got = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        entry['absent'] = f'{cmd[0]} failed: {exc}'
        return entry
    if got.returncode:
        entry['absent'] = f'{cmd[0]} exited with {got.returncode}: {(got.stderr or got.stdout).strip()[:200]}'
    else:
        entry['output'] = got.stdout.rstrip()
    return entry


def _cpu_name() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """Installed versions of the libraries a run depends on (those present)."""
    out = {'python': platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def machine_facts() -> dict[str, Any]:
    """The training machine as the course asks for it: GPUs, driver, CUDA, nvcc, gcc, nvidia-smi, CPU, memory."""
    import torch

    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append({'name': props.name, 'memory_gib': round(props.total_memory / 2**30, 1)})
    facts: dict[str, Any] = {
        'gpus': gpus, 'gpu_count': len(gpus), 'cuda_torch': torch.version.cuda,
        'cudnn': torch.backends.cudnn.version() if torch.cuda.is_available() else None,
        'cpu': _cpu_name(), 'cpu_count': os.cpu_count(), 'platform': platform.platform(),
        'memory_gib': _memory_gib(), 'colab': 'COLAB_RELEASE_TAG' in os.environ or 'COLAB_GPU' in os.environ,
    }
    facts.update({key: _command_output(cmd) for key, cmd in COMMANDS.items()})
    smi = _command_output(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'])
    facts['driver'] = smi['output'].splitlines()[0].strip() if smi['output'] else None
    return facts


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


# --------------------------------------------------------------------------- the recipe, as data
def _plain(value: Any) -> Any:
    """``value`` made JSON-safe (config dicts and tuples become dicts and lists; anything else its repr)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _losses(head) -> list:
    mods = head.loss_decode if hasattr(head, 'loss_decode') else []
    return list(mods) if hasattr(mods, '__iter__') else [mods]


def recipe_facts(cfg, model) -> dict[str, Any]:
    """Model, heads, losses (class weights, OHEM), optimiser, schedule and data sizes of a run, JSON-safe."""
    heads = {}
    for name in ('decode_head', 'auxiliary_head'):
        head = getattr(model, name, None)
        if head is None:
            continue
        sampler = getattr(head, 'sampler', None)
        heads[name] = {
            'type': type(head).__name__,
            'losses': [{'type': type(loss).__name__, 'name': getattr(loss, 'loss_name', ''),
                        'loss_weight': float(getattr(loss, 'loss_weight', 1.0)),
                        'class_weight': _plain(getattr(loss, 'class_weight', None))} for loss in _losses(head)],
            'sampler': None if sampler is None else {'type': type(sampler).__name__,
                                                     'thresh': getattr(sampler, 'thresh', None),
                                                     'min_kept': getattr(sampler, 'min_kept', None)},
        }
    backbone = cfg.model.get('backbone', {})
    return {
        'segmentor': cfg.model.get('type'), 'backbone': _plain({k: backbone.get(k) for k in ('type', 'depth')}),
        'pretrained': _plain(cfg.model.get('pretrained') or (backbone.get('init_cfg') or {}).get('checkpoint')),
        'heads': heads, 'optimizer': _plain(cfg.optim_wrapper.get('optimizer')),
        'amp': 'Amp' in str(cfg.optim_wrapper.get('type', '')), 'param_scheduler': _plain(cfg.get('param_scheduler')),
        'batch_size': cfg.train_dataloader.get('batch_size'), 'max_iters': cfg.train_cfg.get('max_iters'),
        'val_interval': cfg.train_cfg.get('val_interval'), 'crop_size': _plain(cfg.get('crop_size')),
    }


def weights_loaded(cfg) -> list[dict[str, Any]]:
    """What weights this run loaded at its start: each setting, its source and the SHA-256 of the file (None for
    what was not a local file), so the draft and the Readme can name them."""
    from utils.core.weights import weights_plan

    return [{'setting': setting, 'source': source, 'sha256': sha} for setting, source, sha in weights_plan(cfg)]


def is_final_fit(checkpoint_or_work_dir: str | os.PathLike) -> bool:
    """True when the run that wrote this checkpoint (or work_dir) is a final fit on train + val: known from its own
    record (``final_fit``, written by training from its config), or else the config training wrote beside it;
    the folder's name (``_trainval``) is only the last resort, for runs recorded before the flag existed."""
    import re

    path = Path(checkpoint_or_work_dir)
    folder = path if path.is_dir() else path.parent
    record = read_record(folder)
    if isinstance(record.get('final_fit'), bool):
        return record['final_fit']
    for config in folder.glob('*.py'):  # read as text, never run
        try:
            if re.search(r'^final_fit\s*=\s*True\b', config.read_text(errors='replace'), re.M):
                return True
        except OSError:
            continue
    return folder.name.endswith('_trainval')


def count_trainable(model) -> int:
    """The course formula: ``sum(p.numel() for p in model.parameters() if p.requires_grad)``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


# --------------------------------------------------------------------------- the validation loss
def decode_loss(head, logits, label) -> float:
    """The decode head's own loss of one image's ``logits`` (C x H x W) against ``label`` (H x W), every loss term
    with its weight, no OHEM sampling, reduced as the loss reduces (the seed's: the mean over all pixels)."""
    total = 0.0
    for loss in _losses(head):
        value = loss(logits[None].float(), label[None].long(), weight=None, ignore_index=head.ignore_index)
        total += float(value)
    return total


def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def _all_reduce(array: np.ndarray) -> np.ndarray:
    """Sum ``array`` over the processes of a distributed run (unchanged in one process)."""
    from mmengine import dist

    if dist.get_world_size() <= 1:
        return array
    import torch

    tensor = torch.as_tensor(array, dtype=torch.float64, device='cuda' if torch.cuda.is_available() else 'cpu')
    dist.all_reduce(tensor)
    return tensor.cpu().numpy()


# --------------------------------------------------------------------------- the hook
@HOOKS.register_module()
class RunRecordHook(Hook):
    """Writes the machine, recipe, class weights, timing, per-class val metrics and the val loss (module doc)."""

    priority = 'NORMAL'  # after RuntimeInfoHook, before LoggerHook writes the val line of scalars.json

    def __init__(self, write_every_s: float = 120.0) -> None:
        self.write_every_s = float(write_every_s)
        self._session: dict[str, Any] | None = None
        self._t0 = self._last_write = 0.0
        self._conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
        self._img_f = np.zeros((2, NUM_CLASSES))  # per class: the per-image F summed over images where present, count
        self._loss = np.zeros(2)  # loss summed over images weighted by pixels, pixels
        self._loss_ok = True

    # ------------------------------------------------------------ training
    def before_train(self, runner) -> None:
        from mmengine import dist

        self._t0 = self._last_write = time.perf_counter()
        self._session = {'started': datetime.now(UTC).isoformat(timespec='seconds'), 'start_iter': int(runner.iter),
                         'end_iter': int(runner.iter), 'max_iters': int(runner.max_iters), 'wall_s': 0.0,
                         'iters_per_s': None, 'resumed_from': runner.cfg.get('load_from') if runner.cfg.get('resume')
                         else None, 'finished': False, 'machine': machine_facts(), 'versions': versions()}
        if not dist.is_main_process():
            return
        model = _unwrap(runner.model)
        record = self._read(runner)
        record.update({'format': 1, 'work_dir': str(runner.work_dir), 'config_file': self._config_file(runner),
                       'parameters': count_trainable(model), 'recipe': recipe_facts(runner.cfg, model),
                       'data_root': recipe_root(runner), 'final_fit': bool(runner.cfg.get('final_fit')),
                       'weights_loaded': weights_loaded(runner.cfg)})
        record.setdefault('sessions', []).append(self._session)
        self._write(runner, record)
        self._write_weights(runner, record['recipe'])

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if time.perf_counter() - self._last_write >= self.write_every_s:
            self._update_session(runner, finished=False)

    def after_train(self, runner) -> None:
        self._update_session(runner, finished=True)

    # ------------------------------------------------------------ validation
    def before_val_epoch(self, runner) -> None:
        self._conf[:] = 0
        self._img_f[:] = 0
        self._loss[:] = 0

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        from utils.core.metrics import confusion_matrix

        import torch

        head = getattr(_unwrap(runner.model), 'decode_head', None) if self._loss_ok else None
        for sample in outputs or []:
            gt = sample.gt_sem_seg.data.squeeze(0)
            pred = sample.pred_sem_seg.data.squeeze(0)
            # labels 0..18 and the ignore value 255 fit in 8 bits: the confusion matrix's fast path
            conf = confusion_matrix(pred.to(torch.uint8).cpu().numpy(), gt.to(torch.uint8).cpu().numpy())
            self._conf += conf
            self._add_image_f(conf)
            if head is not None and 'seg_logits' in sample:
                pixels = gt.numel()
                try:
                    loss = decode_loss(head, sample.seg_logits.data, gt.to(sample.seg_logits.data.device))
                except Exception as exc:  # noqa: BLE001 - a loss that cannot run here must not stop training
                    runner.logger.warning(f'no validation loss: the decode head\'s loss failed on val logits '
                                          f'({type(exc).__name__}: {exc}); the per-class metrics are still recorded.')
                    self._loss_ok, head = False, None
                    continue
                self._loss += (loss * pixels, pixels)

    def _add_image_f(self, conf: np.ndarray) -> None:
        """One image's per-class F (the 2025-26 leaderboard's), for each class present in its ground truth."""
        from utils.core.metrics import areas_from_confusion, fscore_from_areas

        intersect, _, pred_area, gt_area = areas_from_confusion(conf)
        f = fscore_from_areas(intersect, pred_area, gt_area)
        present = np.isfinite(f)
        self._img_f[0, present] += f[present]
        self._img_f[1, present] += 1

    def after_val_epoch(self, runner, metrics=None) -> None:
        from mmengine import dist

        conf = _all_reduce(self._conf).astype(np.int64)
        img_f = _all_reduce(self._img_f)
        loss_sum, pixels = _all_reduce(self._loss)
        if pixels > 0:
            val_loss = float(loss_sum / pixels)
            # into scalars.json beside mIoU; MMEngine's log processor logs a key holding 'loss' as the mean of its last
            # values, so the buffer holds this validation's value only
            runner.message_hub.log_scalars.pop(f'val/{VAL_LOSS_KEY}', None)
            runner.message_hub.update_scalar(f'val/{VAL_LOSS_KEY}', val_loss)
            if metrics is not None:
                metrics[VAL_LOSS_KEY] = val_loss  # the live curves see it too
        if dist.is_main_process() and conf.sum() > 0 and runner.work_dir:
            self._write_per_class(runner, conf, img_f)
        if self._session is not None:
            self._update_session(runner, finished=False)

    # ------------------------------------------------------------ files
    @staticmethod
    def _config_file(runner) -> str | None:
        name = Path(runner.cfg.filename).name if runner.cfg.filename else f'{runner.timestamp}.py'
        return name if (Path(runner.work_dir) / name).is_file() else None

    @staticmethod
    def _read(runner) -> dict:
        path = Path(runner.work_dir) / RECORD_FILE
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            data = {}  # a record cut off mid-write is started again; the checkpoints are what matter
        return data if isinstance(data, dict) else {}

    def _write(self, runner, record: dict) -> None:
        from utils.base.layout import write_json_atomic

        write_json_atomic(Path(runner.work_dir) / RECORD_FILE, record)
        self._last_write = time.perf_counter()

    def _update_session(self, runner, finished: bool) -> None:
        from mmengine import dist

        if self._session is None:
            return
        wall = time.perf_counter() - self._t0
        done = int(runner.iter) - self._session['start_iter']
        self._session.update(end_iter=int(runner.iter), wall_s=round(wall, 2), finished=finished,
                             iters_per_s=round(done / wall, 4) if wall > 0 and done > 0 else None)
        if not dist.is_main_process():
            return
        record = self._read(runner)
        sessions = record.setdefault('sessions', [])
        if sessions and sessions[-1].get('started') == self._session['started']:
            sessions[-1] = self._session
        else:
            sessions.append(self._session)
        self._write(runner, record)

    @staticmethod
    def _write_weights(runner, recipe: dict) -> None:
        import pandas as pd

        from utils.core.stats import class_pixel_counts

        table = pd.DataFrame(index=pd.Index(CLASSES, name='class'))
        for head, facts in recipe['heads'].items():
            for loss in facts['losses']:
                cw = loss.get('class_weight')
                if isinstance(cw, list) and len(cw) == NUM_CLASSES:
                    table[f'{head}.{loss["name"]}'] = cw
        try:
            counts = class_pixel_counts(recipe_root(runner), 'train', progress=False)[list(CLASSES)]
            table['train_pixels'] = counts.sum(axis=0).to_numpy()
            table['train_pixel_share'] = table['train_pixels'] / max(int(table['train_pixels'].sum()), 1)
            table['train_images'] = (counts > 0).sum(axis=0).to_numpy()
        except Exception as exc:  # noqa: BLE001 - the record is a by-product; training goes on
            runner.logger.warning(f'class pixel counts not recorded ({type(exc).__name__}: {exc})')
        table.to_csv(Path(runner.work_dir) / WEIGHTS_FILE, float_format='%.6g')

    @staticmethod
    def _write_per_class(runner, conf: np.ndarray, img_f: np.ndarray) -> None:
        from utils.core.metrics import areas_from_confusion, per_class_frame

        df = per_class_frame(*areas_from_confusion(conf))
        with np.errstate(invalid='ignore', divide='ignore'):  # a class in no val image: NaN
            df['imgF'] = np.where(img_f[1] > 0, img_f[0] / np.maximum(img_f[1], 1), np.nan)  # 0-1, where present
        df = df.reset_index()
        df.insert(0, 'step', int(runner.iter))
        path = Path(runner.work_dir) / PER_CLASS_FILE
        df.to_csv(path, mode='a', header=not path.is_file(), index=False, float_format='%.4f')


def recipe_root(runner) -> str:
    """The data root of the run's train set."""
    from utils.core.config import train_data_root

    try:  # a final fit trains on a ConcatDataset of train and val: its first part holds the train split
        return str(train_data_root(runner.cfg))
    except (KeyError, IndexError, TypeError):
        return ''


# --------------------------------------------------------------------------- reading it back
def read_record(work_dir: str | os.PathLike) -> dict[str, Any]:
    """``run_record.json`` of a work_dir ({} when the stage wrote none: trained before this hook existed). A record
    that is not valid JSON, or whose fields have the wrong types (edited by hand), is named in a warning and skipped:
    what reads it (the hand-in, the draft) builds the rest."""
    path = Path(work_dir) / RECORD_FILE
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        warnings.warn(f'{path} is unreadable ({type(exc).__name__}: {str(exc)[:80]}): it is skipped; run training '
                      'again for a new one, or fix it by hand.', stacklevel=2)
        return {}
    why = record_problem(data)
    if why:
        warnings.warn(f'{path} is damaged or edited by hand ({why}): it is skipped.', stacklevel=2)
        return {}
    return data


#: The fields of a run record that readers compute with, and their types.
_RECORD_TYPES = {'parameters': int, 'recipe': dict, 'sessions': list, 'final_fit': bool, 'weights_loaded': list}
_RECIPE_TYPES = {'heads': dict, 'backbone': dict, 'optimizer': dict, 'param_scheduler': list, 'max_iters': int,
                 'batch_size': int}


def record_problem(data: Any) -> str | None:
    """Why ``data`` is not a run record a reader can use (None: it is)."""
    if not isinstance(data, dict):
        return f'holds a {type(data).__name__}, not an object'
    for fields, where in ((_RECORD_TYPES, data), (_RECIPE_TYPES, data.get('recipe') or {})):
        for key, kind in fields.items():
            value = where.get(key)
            if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                return f'{key} = {str(value)[:40]!r} is not a {kind.__name__}'
    if not all(isinstance(s, dict) for s in data.get('sessions') or []):
        return 'a session is not an object'
    return None


def read_per_class(work_dirs) -> Any:
    """Per-class val metrics of one or more work_dirs (stage order), one row per step and class, the later
    session's row kept where a resume validated the same step again. Rows a disconnect cut off (and a resume then
    appended to) or an empty file are named in a warning and skipped; the other rows are kept."""
    import pandas as pd

    columns = ['step', 'class', 'IoU', 'Acc', 'Dice']
    frames = []
    for wd in work_dirs:
        path = Path(wd) / PER_CLASS_FILE
        if not path.is_file():
            continue
        try:
            df = pd.read_csv(path, on_bad_lines='skip', engine='python')
        except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, UnicodeDecodeError) as exc:
            warnings.warn(f'{path} is unreadable ({type(exc).__name__}): its per-class history is skipped.',
                          stacklevel=2)
            continue
        if not set(columns) <= set(df.columns):
            warnings.warn(f'{path} lacks the columns {sorted(set(columns) - set(df.columns))}: skipped.', stacklevel=2)
            continue
        n = len(df)
        for col in ('step', 'IoU', 'Acc', 'Dice'):
            df[col] = pd.to_numeric(df[col], errors='coerce')
        df = df.dropna(subset=['step', 'class'])
        df = df[df['class'].astype(str).isin(CLASSES)]
        if len(df) < n or _cut_lines(path):
            warnings.warn(f'{path}: {n - len(df) + _cut_lines(path)} damaged rows (a save cut off by a disconnect?) '
                          'were skipped; the other rows are used.', stacklevel=2)
        frames.append(df.astype({'step': 'int64'}))
    if not frames:
        return pd.DataFrame(columns=columns)
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates(['step', 'class'], keep='last').sort_values(['step']).reset_index(drop=True)


def _cut_lines(path: Path) -> int:
    """Lines of a CSV with another number of fields than its header (pandas skips them silently)."""
    try:
        lines = [ln for ln in path.read_text(errors='replace').splitlines() if ln.strip()]
    except OSError:
        return 0
    return sum(ln.count(',') != lines[0].count(',') for ln in lines[1:]) if lines else 0
