"""utils.plugins.record: each training stage keeps the machine, class weights, per-class val metrics and a val loss in its
work_dir, and a stage resumed into another work_dir (20k -> 30k in small) keeps its own."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from facts import SEED_PARAMS
from utils.base.labels import CLASSES
from utils.core.metrics import find_scalar_files, read_scalars
from utils.plugins.record import PER_CLASS_FILE, WEIGHTS_FILE, read_per_class, read_record

N = 4  # stage 1's iterations in the resumed_run fixture (tests/conftest.py); stage 2 goes on to 2N


@pytest.fixture(scope='module')
def stages(resumed_run):
    return resumed_run


def _val_rows(work_dir: Path) -> list[dict]:
    rows = [json.loads(line) for f in find_scalar_files(work_dir) for line in f.read_text().splitlines()]
    return [r for r in rows if 'mIoU' in r]


def test_each_stage_records_machine_recipe_and_timing(stages):
    for result, start, end in ((stages[0], 0, N), (stages[1], N, 2 * N)):
        record = read_record(result['work_dir'])
        assert record['parameters'] == SEED_PARAMS  # the course formula on the seed's model
        session = record['sessions'][-1]
        assert (session['start_iter'], session['end_iter'], session['finished']) == (start, end, True)
        assert session['wall_s'] > 0 and session['iters_per_s'] == pytest.approx(N / session['wall_s'], rel=0.01)
        machine = session['machine']
        for key in ('nvcc', 'gcc', 'nvidia_smi'):  # each either its text or why there is none
            assert (machine[key]['output'] is None) != (machine[key]['absent'] is None), machine[key]
        if not torch.cuda.is_available():
            assert machine['gpu_count'] == 0 and machine['nvidia_smi']['output'] is None
        assert session['versions']['torch'] == torch.__version__
        heads = record['recipe']['heads']
        sampler = heads['decode_head']['sampler']  # smoke mode scales min_kept with the 64 px crop
        assert sampler['type'] == 'OHEMPixelSampler' and sampler['thresh'] == 0.7 and 0 < sampler['min_kept'] < 100000
        assert (Path(result['work_dir']) / record['config_file']).is_file()  # MMEngine's resolved config
    assert read_record(stages[1]['work_dir'])['sessions'][-1]['resumed_from'].endswith(f'iter_{N}.pth')


def test_class_weights_are_kept_with_their_pixel_counts(stages, synthetic_root):
    from utils.core.config import seed_class_weights
    from utils.core.stats import class_pixel_counts

    table = pd.read_csv(stages[0]['work_dir'] / WEIGHTS_FILE).set_index('class')
    assert tuple(table.index) == CLASSES
    assert table['decode_head.loss_ce'].tolist() == pytest.approx(seed_class_weights())
    counts = class_pixel_counts(synthetic_root, 'train', progress=False)
    assert table['train_pixels'].tolist() == counts[list(CLASSES)].sum().tolist()


def test_per_class_metrics_at_every_validation_match_mmseg(stages):
    for result in stages:
        per_class = pd.read_csv(result['work_dir'] / PER_CLASS_FILE)
        vals = _val_rows(result['work_dir'])
        assert sorted(per_class['step'].unique()) == [r['step'] for r in vals]
        for row in vals:  # MMSeg's IoUMetric (rounded to 2 decimals) from the same predictions
            ours = per_class[per_class['step'] == row['step']]
            assert len(ours) == len(CLASSES)
            assert ours['IoU'].mean() == pytest.approx(row['mIoU'], abs=0.006)
            assert ours['Acc'].mean() == pytest.approx(row['mAcc'], abs=0.006)
    both = read_per_class([s['work_dir'] for s in stages])  # stage 1's survive beside stage 2's
    assert sorted(both['step'].unique()) == [N // 2, N, N + N // 2, 2 * N]


def test_val_loss_equals_an_independent_computation_on_the_same_logits(stages, captured_val):
    from utils.core.config import seed_class_weights

    weights = torch.tensor(seed_class_weights())
    logged = {r['step']: r['val_loss'] for s in stages for r in _val_rows(s['work_dir'])}
    assert len(logged) >= 3 and len(captured_val) == len(logged)
    for cap in captured_val:
        pixels = torch.cat([F.cross_entropy(lg[None], lb[None].long(), weight=weights, reduction='none',
                                            ignore_index=255).ravel() for lg, lb in zip(cap['logits'], cap['labels'])])
        assert logged[cap['step']] == pytest.approx(float(pixels.mean()), rel=1e-5)
    sc = read_scalars([s['work_dir'] for s in stages])  # the curves' reader sees it beside mIoU, both stages
    assert sc.val['val_loss'].notna().sum() == len(logged)



def test_a_loss_that_fails_on_val_logits_only_warns():
    """A decode-head loss that cannot run on val logits: a warning, no val loss, the per-class counts still kept."""
    from types import SimpleNamespace

    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from utils.plugins.record import RunRecordHook

    class Broken(torch.nn.Module):
        loss_name = 'loss_broken'

        def forward(self, *args, **kwargs):
            raise RuntimeError('needs a batch of two')

    warnings = []
    head = SimpleNamespace(loss_decode=Broken(), ignore_index=255)
    runner = SimpleNamespace(model=SimpleNamespace(decode_head=head),
                             logger=SimpleNamespace(warning=warnings.append))
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.ones(1, 4, 4, dtype=torch.long))
    sample.pred_sem_seg = PixelData(data=torch.ones(1, 4, 4, dtype=torch.long))
    sample.seg_logits = PixelData(data=torch.zeros(19, 4, 4))
    hook = RunRecordHook()
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, outputs=[sample, sample])
    assert len(warnings) == 1 and 'needs a batch of two' in warnings[0]
    assert hook._loss.tolist() == [0, 0] and hook._conf[1, 1] == 32
