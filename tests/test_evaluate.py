"""utils.evaluate on the smoke checkpoint (equal to MMSeg's IoUMetric), bad inputs, and the flip/ms TTA proofs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from facts import SEED_PARAMS

from utils.evaluate import (EvalResult, EvaluationError, PER_IMAGE_FILE, SUMMARY_FILE, evaluate, load_result,
                            main, read_mask, split_files)
from utils.base.labels import CLASSES, NUM_CLASSES, flip_permutation

SMOKE_CONFIG = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def segmenter(smoke_run):
    """The smoke checkpoint loaded once for this module."""
    from utils.core.inference import Segmenter

    return Segmenter.from_checkpoint(smoke_run['checkpoint'], device='cpu')


@pytest.fixture(scope='module')
def evaluated(smoke_run, synthetic_root, segmenter, tmp_path_factory) -> EvalResult:
    """The smoke checkpoint evaluated once on the 12 synthetic val images (no TTA, as MMSeg's validation)."""
    out = tmp_path_factory.mktemp('eval') / 'iter_20_val_none'
    return evaluate(smoke_run['checkpoint'], synthetic_root, split='val', tta='none', out_dir=out,
                    batch_size=4, progress=False, segmenter=segmenter)


def test_evaluate_writes_tables_per_image_arrays_and_masks(evaluated, synthetic_root):
    out = evaluated.out_dir
    for name in (SUMMARY_FILE, PER_IMAGE_FILE, 'per_class.csv', 'confusion.csv'):
        assert (out / name).is_file(), name
    summary = json.loads((out / SUMMARY_FILE).read_text())
    for key in ('aAcc', 'mIoU', 'mAcc', 'mDice', 'checkpoint', 'config', 'split', 'tta', 'num_images', 'params',
                'flops', 'flops_note', 'classes'):
        assert key in summary, key
    n = len(split_files(synthetic_root, 'val'))
    assert summary['num_images'] == n == len(evaluated.names)
    assert summary['params'] == SEED_PARAMS
    assert (isinstance(summary['flops'], int) and summary['flops'] > 0) or 'failed' in summary['flops_note']
    with np.load(out / PER_IMAGE_FILE) as z:
        for key in ('intersect', 'union', 'pred_area', 'gt_area'):
            assert z[key].shape == (n, NUM_CLASSES) and z[key].dtype == np.int64
    preds = sorted((out / 'pred').glob('*.png'))
    assert len(preds) == n
    pred = read_mask(preds[0])
    gt = read_mask(synthetic_root / 'val' / 'val_mask' / preds[0].name)
    assert pred.shape == gt.shape and pred.max() < NUM_CLASSES


def test_evaluation_equals_mmseg_ioumetric_on_the_same_predictions(evaluated, synthetic_root):
    import torch
    from mmseg.evaluation import IoUMetric

    metric = IoUMetric(iou_metrics=['mIoU', 'mDice', 'mFscore'])
    metric.dataset_meta = dict(classes=CLASSES)
    for name in evaluated.names:
        pred = read_mask(evaluated.pred_path(name)).astype(np.int64)
        gt = read_mask(synthetic_root / 'val' / 'val_mask' / f'{name}.png').astype(np.int64)
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                                 gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))])
    totals = [sum(r[i] for r in metric.results) for i in range(4)]
    theirs = metric.total_area_to_metrics(*totals, metrics=['mIoU', 'mDice', 'mFscore'])
    ours = evaluated.per_class
    for key in ('IoU', 'Acc', 'Dice', 'Precision', 'Recall'):
        a, b = ours[key].to_numpy() / 100, np.asarray(theirs[key], dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=key)
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=1e-6, err_msg=key)
    summary = metric.compute_metrics(list(metric.results))
    for key in ('aAcc', 'mIoU', 'mAcc', 'mDice'):
        assert np.float32(round(evaluated.summary[key], 2)) == np.float32(summary[key]), key


def test_evaluation_reproduces_the_training_validation(evaluated, smoke_run):
    # MMEngine validated the same checkpoint on the same split during training (rounded to 2 decimals)
    for key in ('aAcc', 'mIoU', 'mAcc', 'mDice'):
        assert evaluated.summary[key] == pytest.approx(smoke_run['metrics'][key], abs=0.006), key


def test_per_image_arrays_add_up_and_reload(evaluated):
    totals = [a.sum(axis=0) for a in evaluated.areas()]
    np.testing.assert_array_equal(totals[0], np.diag(evaluated.confusion))
    np.testing.assert_array_equal(totals[3], evaluated.confusion.sum(axis=1))
    np.testing.assert_array_equal(totals[2], evaluated.confusion.sum(axis=0))
    per_image = evaluated.per_image('IoU')
    assert per_image.shape == (len(evaluated.names), NUM_CLASSES)
    i = 0
    inter, union = evaluated.intersect[i], evaluated.union[i]
    expected = np.where(union > 0, 100 * inter / np.maximum(union, 1), np.nan)
    np.testing.assert_allclose(per_image.iloc[i].to_numpy(), expected, equal_nan=True)
    again = load_result(evaluated.out_dir)
    assert again.names == evaluated.names
    np.testing.assert_array_equal(again.confusion, evaluated.confusion)
    np.testing.assert_allclose(again.per_class['IoU'], evaluated.per_class['IoU'], equal_nan=True)
    assert again.summary['mIoU'] == pytest.approx(evaluated.summary['mIoU'])


def test_flops_are_cached_in_the_summary(evaluated, smoke_run, synthetic_root, segmenter, monkeypatch, tmp_path):
    out = tmp_path / 'again'
    shutil.copytree(evaluated.out_dir, out)
    import utils.evaluate as ev

    def boom(*a, **k):
        raise AssertionError('FLOPs recounted although cached')

    monkeypatch.setattr(ev, 'count_flops', boom)
    res = evaluate(smoke_run['checkpoint'], synthetic_root, tta='none', out_dir=out, save_masks=False,
                   progress=False, segmenter=segmenter)
    assert res.summary['flops'] == evaluated.summary['flops']
    assert res.summary['mIoU'] == pytest.approx(evaluated.summary['mIoU'])


def test_flop_counter_failure_is_reported_not_raised():
    import torch

    from utils.evaluate import count_flops

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            raise RuntimeError('cannot trace')

    flops, note = count_flops(Broken(), (8, 8))
    assert flops is None and 'cannot trace' in note


# --------------------------------------------------------------------------- bad input
@pytest.fixture(scope='module')
def five_class_checkpoint(smoke_run, tmp_path_factory) -> Path:
    """A 5-class model built from the smoke config (untrained), saved with its config in meta."""
    import torch
    from mmengine.config import Config

    from utils.core.model import build_segmentor as build_model

    cfg = Config.fromfile(str(next(Path(smoke_run['work_dir']).glob('*.py'))))  # the config training wrote
    cfg.model.decode_head.num_classes = 5
    cfg.model.auxiliary_head.num_classes = 5
    for head in (cfg.model.decode_head, cfg.model.auxiliary_head):
        head.loss_decode['class_weight'] = None
    model = build_model(cfg)
    path = tmp_path_factory.mktemp('bad') / 'five_classes.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'experiment_name': f'{SMOKE_CONFIG}_20260101_000000'}}, path)
    return path


def test_checkpoint_for_another_class_count(five_class_checkpoint, synthetic_root, tmp_path):
    """Its config is found by the run name in its meta (configs/<name>.py); the weights do not fit it."""
    with pytest.raises(EvaluationError, match=r'five_classes\.pth predicts 5 classes.*19'):
        evaluate(five_class_checkpoint, synthetic_root, tta='none', out_dir=tmp_path / 'o', progress=False)


def test_config_checkpoint_mismatch_cli_exits_with_error(five_class_checkpoint, synthetic_root, tmp_path, capsys):
    smoke_cfg = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'
    rc = main([str(five_class_checkpoint), '--config', smoke_cfg, '--data-root', str(synthetic_root),
               '--tta', 'none', '--out', str(tmp_path / 'o'), '--no-flops'])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith('error: ') and 'Traceback' not in err
    assert 'five_classes.pth' in err and '5 classes' in err


def test_checkpoint_from_another_dataset(tmp_path, synthetic_root):
    import torch

    path = tmp_path / 'ade.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {'cfg': 'model = dict()',
                'dataset_meta': {'classes': ('wall', 'floor', 'ceiling')}}}, path)
    with pytest.raises(EvaluationError, match=r'ade\.pth was trained on another dataset'):
        evaluate(path, synthetic_root, out_dir=tmp_path / 'o', progress=False)


def test_empty_split_and_split_without_masks(tmp_path, smoke_run):
    root = tmp_path / 'data'
    (root / 'val' / 'val_image').mkdir(parents=True)
    (root / 'val' / 'val_mask').mkdir(parents=True)
    (root / 'test' / 'test_image').mkdir(parents=True)
    with pytest.raises(EvaluationError, match=r'No images in .*val_image.*empty'):
        evaluate(smoke_run['checkpoint'], root, split='val', progress=False)
    with pytest.raises(EvaluationError, match=r'test_mask does not exist.*no ground-truth masks'):
        evaluate(smoke_run['checkpoint'], root, split='test', progress=False)
    with pytest.raises(EvaluationError, match='Data root not found'):
        split_files(tmp_path / 'nowhere')


def test_cli_missing_checkpoint_no_traceback(tmp_path, synthetic_root, capsys):
    rc = main([str(tmp_path / 'nope.pth'), '--data-root', str(synthetic_root), '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith('error: ') and 'nope.pth' in err and 'Traceback' not in err


def test_cli_help_runs():
    proc = subprocess.run([sys.executable, '-m', 'utils.evaluate', '--help'], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and '--tta' in proc.stdout and '--data-root' in proc.stdout


def test_results_folder_from_another_dataset(evaluated, tmp_path):
    other = tmp_path / 'other'
    shutil.copytree(evaluated.out_dir, other)
    summary = json.loads((other / SUMMARY_FILE).read_text())
    summary['classes'] = ['wall', 'floor']
    (other / SUMMARY_FILE).write_text(json.dumps(summary))
    with pytest.raises(EvaluationError, match=r'summary\.json was made for other classes'):
        load_result(other)

    wrong = tmp_path / 'wrong'
    shutil.copytree(evaluated.out_dir, wrong)
    with np.load(wrong / PER_IMAGE_FILE) as z:
        data = {k: z[k] for k in z.files}
    for key in ('intersect', 'union', 'pred_area', 'gt_area'):
        data[key] = data[key][:, :5]
    np.savez(wrong / PER_IMAGE_FILE, **data)
    with pytest.raises(EvaluationError, match=r'per_image\.npz: intersect has shape \(\d+, 5\)'):
        load_result(wrong)
    with pytest.raises(EvaluationError, match='not a results folder'):
        load_result(tmp_path / 'empty')


# --------------------------------------------------------------------------- TTA
class _SideAwareStub:
    """Factory for a Segmenter whose 'model' labels bright blobs l_eye on the left half and r_eye on the right."""

    @staticmethod
    def make(size: int = 32):
        import torch
        from mmengine.config import Config

        from utils.core.inference import Segmenter

        class Stub(Segmenter):
            def _logits(self, x):  # x: N x 3 x H x W, normalised with mean 0 / std 1 = raw pixel values
                n, _, h, w = x.shape
                bright = (x.mean(dim=1) > 200).float()  # eye-coloured pixels
                left = (torch.arange(w) < w / 2).float().view(1, 1, w).expand(n, h, w)
                logits = torch.zeros(n, NUM_CLASSES, h, w)
                logits[:, 1] = 2.0 * (1 - bright)  # skin elsewhere
                logits[:, 4] = 3.0 * bright * left  # left-eye evidence: moderately confident
                logits[:, 5] = 5.0 * bright * (1 - left)  # right-eye evidence: very confident
                return logits

        cfg = Config(dict(model=dict(data_preprocessor=dict(mean=[0, 0, 0], std=[1, 1, 1], size=(size, size)))))
        return Stub(torch.nn.Identity(), cfg, device='cpu')


def _eyes_image(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    img = np.full((size, size, 3), 120, np.uint8)
    expected = np.ones((size, size), np.uint8)
    img[10:14, 5:11] = 255
    expected[10:14, 5:11] = 4  # the stub calls image-left blobs class 4 (any side rule would do)
    img[10:14, 20:27] = 255  # not mirror-symmetric on purpose
    expected[10:14, 20:27] = 5
    return img, expected


def test_flip_tta_keeps_left_and_right_apart():
    import torch

    seg = _SideAwareStub.make()
    img, expected = _eyes_image()
    np.testing.assert_array_equal(seg.predict([img], 'none')[0], expected)
    np.testing.assert_array_equal(seg.predict([img], 'flip')[0], expected)
    prob = seg.predict_proba([img], 'flip')[0]
    assert float(prob[4, 11, 7]) > 0.5 and float(prob[5, 11, 23]) > 0.5

    # the naive flip average (MMSeg's: no channel swap) mixes the sides: the left eye becomes r_eye
    seg.perm = torch.arange(NUM_CLASSES)
    naive = seg.predict([img], 'flip')[0]
    assert (naive[10:14, 5:11] == 5).all()
    assert not np.array_equal(naive, expected)


def test_flip_tta_of_the_real_model_is_the_swapped_average(smoke_run, synthetic_root):
    import torch

    from utils.core.inference import Segmenter, read_image

    seg = Segmenter.from_checkpoint(smoke_run['checkpoint'], device='cpu')
    with torch.no_grad():  # a model that strongly prefers l_eye over r_eye, so that mixing them would show
        seg.model.decode_head.conv_seg.bias[4] += 8.0
    img = read_image(synthetic_root / 'val' / 'val_image' / '0.jpg')
    perm = torch.as_tensor(flip_permutation())
    p = seg.predict_proba([img], 'none')
    p_flipped = seg.predict_proba([np.ascontiguousarray(img[:, ::-1])], 'none')
    expected = (p + p_flipped.flip(-1)[:, perm]) / 2
    tta = seg.predict_proba([img], 'flip')
    torch.testing.assert_close(tta, expected, atol=1e-5, rtol=1e-4)
    naive = (p + p_flipped.flip(-1)) / 2
    assert (tta - naive).abs().max() > 0.05  # so the swap is what the comparison checks

    labels = seg.predict([img], 'flip')[0]  # flip-equivariance: predicting the mirror image mirrors the labels
    mirrored = seg.predict([np.ascontiguousarray(img[:, ::-1])], 'flip')[0]
    np.testing.assert_array_equal(mirrored, flip_permutation()[labels[:, ::-1]])


def test_multiscale_tta_shape(segmenter):
    seg = segmenter
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)
    labels = seg.predict([img], 'ms')[0]
    assert labels.shape == (40, 56) and labels.dtype == np.uint8 and labels.max() < NUM_CLASSES
    prob = seg.predict_proba([img], 'ms')
    assert tuple(prob.shape) == (1, NUM_CLASSES, 40, 56)
    assert np.allclose(prob.sum(dim=1).numpy(), 1.0, atol=1e-5)
