"""utils.notebook.session: one notebook on its own runtime: settings.json, the dataset kept on Drive and unpacked again,
Drive space, the checkpoint for 04/05, and StopRun's one-message rendering. (Whole notebooks: test_notebooks.py.)"""
from __future__ import annotations

import json
import shutil

import pytest

from utils.notebook import session, steps, workflow
from utils.data import dataset_counts


def _plan(tmp_path, **params):
    plan = workflow.make_plan({'SMOKE': True, 'WORK_ROOT': str(tmp_path / 'work'), **params})
    plan.keep_dir = tmp_path / 'drive'
    return plan


def test_stop_run_shows_one_message_without_traceback():
    err = session.StopRun('No GPU: this is a real run.\nWhat to do: Runtime > Change runtime type')
    lines = err._render_traceback_()  # what IPython shows instead of a traceback
    assert len(lines) == 2 and 'No GPU' in lines[0] and 'Traceback' not in ''.join(lines)


def test_settings_round_trip_and_a_broken_file_is_named(tmp_path):
    path = session.write_settings(tmp_path, {'RECIPE': 'seed', 'SMOKE': True, 'CHECKPOINT': 'x'}, '00_setup')
    data, notes = session.read_settings(tmp_path)
    assert notes == [] and data == {'RECIPE': 'seed', 'SMOKE': True}  # CHECKPOINT is one notebook's only
    assert json.loads(path.read_text())['written_by'] == '00_setup'
    assert not list(tmp_path.glob('.settings.json.*'))  # written atomically
    path.write_text('{not json')
    with pytest.raises(workflow.PlanError, match='(?s)settings.json cannot be read .*not valid JSON.*run 00_setup'):
        session.read_settings(tmp_path)
    assert session.read_settings(tmp_path, lenient=True)[0] == {}  # 00_setup writes it again


def test_dataset_kept_on_drive_and_unpacked_on_a_fresh_runtime(synthetic_root, tmp_path, capsys):
    """01 keeps one archive; a later notebook on a fresh disk unpacks it, checks every file, and counts agree."""
    plan = _plan(tmp_path, DATA_ROOT=str(synthetic_root), DATA_SOURCE='synthetic')
    archive = session.keep_dataset(plan, progress=False)
    info = json.loads(archive.with_name(archive.name + '.json').read_text())
    assert info['counts'] == dataset_counts(synthetic_root) and info['bytes'] == archive.stat().st_size
    assert session.keep_dataset(plan, progress=False) == archive and 'already kept' in capsys.readouterr().out
    fresh = _plan(tmp_path, DATA_ROOT=str(tmp_path / 'runtime2' / 'data'))
    counts = session.restore_dataset(fresh, plan.keep_dir, progress=False)
    assert counts == info['counts'] and 'every file checked' in capsys.readouterr().out
    assert session.restore_dataset(fresh, plan.keep_dir, progress=False) == counts  # second call: counted only
    assert 'unpacking' not in capsys.readouterr().out


def test_no_data_and_no_copy_names_notebook_01(tmp_path):
    with pytest.raises(session.StopRun, match='run 01_data_check first'):
        session.restore_dataset(_plan(tmp_path, DATA_ROOT=str(tmp_path / 'nothing')), tmp_path / 'drive')


def test_a_damaged_copy_on_drive_stops_with_the_fix(synthetic_root, tmp_path):
    plan = _plan(tmp_path, DATA_ROOT=str(synthetic_root), DATA_SOURCE='synthetic')
    archive = session.keep_dataset(plan, progress=False)
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside a stored image
    archive.write_bytes(bytes(data))
    fresh = _plan(tmp_path, DATA_ROOT=str(tmp_path / 'runtime3' / 'data'))
    with pytest.raises(session.StopRun, match='(?s)copy on Drive cannot be used: .*damaged.*run 01_data_check again'):
        session.restore_dataset(fresh, plan.keep_dir, progress=False)
    assert not (tmp_path / 'runtime3' / 'data').exists()  # nothing half-unpacked is left as the dataset


def test_a_folder_in_the_way_is_never_unpacked_over(synthetic_root, tmp_path):
    plan = _plan(tmp_path, DATA_ROOT=str(synthetic_root), DATA_SOURCE='synthetic')
    session.keep_dataset(plan, progress=False)
    in_the_way = tmp_path / 'runtime4' / 'data'
    in_the_way.mkdir(parents=True)
    (in_the_way / 'notes.txt').write_text('mine')
    with pytest.raises(session.StopRun, match='holds no complete dataset'):
        session.restore_dataset(_plan(tmp_path, DATA_ROOT=str(in_the_way)), plan.keep_dir, progress=False)
    assert (in_the_way / 'notes.txt').read_text() == 'mine'


def test_stage_need_follows_the_measured_checkpoint_sizes():
    """R50: 4 resumable checkpoints at the peak (349 MB each, measured) plus the best (175 MB)."""
    need = session.stage_need_bytes('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512')
    assert 4 * 349e6 + 174e6 < need < 4 * 352e6 + 178e6
    r101 = session.stage_need_bytes('deeplabv3plus_r101-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512')
    assert r101 > 1.4 * need


def test_drive_space_is_checked_before_training(tmp_path, monkeypatch):
    plan = _plan(tmp_path)
    monkeypatch.setattr(session, 'stage_need_bytes', lambda config: 10.2e9)
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: shutil._ntuple_diskusage(20e9, 18.9e9, 1.1e9))
    # decimal GB, as Drive counts them (and as 00's table and the notebooks' text say)
    with pytest.raises(session.StopRun, match='1.1 GB free; this stage needs about 10.2 GB'):
        session.check_drive_space(plan, '02_train_20k')


def test_checkpoint_of_another_recipe_is_said(tmp_path, capsys):
    improved = workflow.make_plan({'SMOKE': True, 'RECIPE': 'improved', 'WORK_ROOT': str(tmp_path)})
    seed_best = tmp_path / workflow.make_plan({'SMOKE': True}).config_20k / 'best_mIoU_iter_60.pth'
    seed_best.parent.mkdir(parents=True)
    seed_best.write_bytes(b'x')
    chosen = workflow.make_plan({'SMOKE': True, 'RECIPE': 'improved', 'CHECKPOINT': str(seed_best)})
    assert session.checkpoint(chosen) == seed_best
    assert "comes from a 'seed' work_dir, while this run's recipe is 'improved'" in capsys.readouterr().out
    with pytest.raises(session.StopRun, match="No checkpoint of the 'improved' run"):
        session.checkpoint(improved)


def test_verify_dataset_stops_with_the_report_when_a_file_is_bad(synthetic_root, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    assert session.verify_dataset(_plan(tmp_path), root).ok
    victim = sorted((root / 'val' / 'val_mask').glob('*.png'))[0]
    victim.write_bytes(victim.read_bytes()[:30])
    with pytest.raises(session.StopRun, match='failed its check') as info:
        session.verify_dataset(_plan(tmp_path), root)
    assert victim.name in str(info.value)


def test_stage_results_of_a_recipe_without_a_second_stage_show_nothing(tmp_path):
    assert steps.stage_results(_plan(tmp_path, RECIPE='improved'), 2) is None


def test_run_evaluation_shows_tta_results_when_there_are_some():
    assert steps.RunEvaluation('plain', 'flip').shown == 'flip'
    assert steps.RunEvaluation('plain', None).shown == 'plain'


def test_without_drive_01_stops_and_nothing_asks_for_drive_twice(tmp_path, monkeypatch):
    """Drive declined in Colab: 01 stops with one message (it keeps the dataset copy there for 02-05) unless
    ALLOW_LOCAL_WORK; utils.notebook.session never asks for Drive itself (the set-up cell already did: a second prompt)."""
    import sys
    import types

    from utils.core import env

    asked = []
    colab = types.ModuleType('google.colab')
    colab.drive = types.SimpleNamespace(mount=lambda *a, **k: asked.append(a))
    monkeypatch.setitem(sys.modules, 'google.colab', colab)
    monkeypatch.setattr(env, 'DRIVE_ROOT', tmp_path / 'content' / 'drive' / 'MyDrive')  # not mounted
    params = {'SMOKE': True, 'WORK_ROOT': str(tmp_path / 'work')}
    with pytest.raises(session.StopRun, match='(?s)Google Drive is not mounted .*keeps the dataset copy.*'
                                              'ALLOW_LOCAL_WORK = True to only check the data'):
        session.start('01_data_check', params)
    plan = session.start('01_data_check', {**params, 'ALLOW_LOCAL_WORK': True})
    assert any('nothing of this notebook survives' in note for note in plan.notes) and asked == []


def test_00_on_a_cpu_runtime_with_nothing_set_says_what_the_readme_says(tmp_path, monkeypatch, capsys):
    """README step 3: setting up needs no GPU and says so. 00 in Colab on a CPU with nothing set no longer opens
    with the bold SMOKE RUN banner, shows the real run's plan and keeps no SMOKE in settings.json (the real run
    starts with 01)."""
    import sys
    import types

    from utils.core import env

    monkeypatch.setitem(sys.modules, 'google.colab', types.ModuleType('google.colab'))
    monkeypatch.setattr(env, 'DRIVE_ROOT', tmp_path / 'no-drive')
    plan = session.start('00_setup', {'WORK_ROOT': str(tmp_path / 'work')})
    out = capsys.readouterr().out
    assert out.startswith('No GPU on this runtime: fine for 00_setup and 01_data_check.') and 'SMOKE RUN' not in out
    assert not plan.smoke and 'SMOKE' not in json.loads((tmp_path / 'work' / 'settings.json').read_text())


def test_recipes_side_by_side_compares_every_evaluated_recipe_with_the_report(tmp_path):
    """04's last table: one column per recipe evaluated in the work root (its final stage, the final fit marked),
    mIoU without and with TTA and the gain, then per-class IoU, next to the report's best run."""
    import pandas as pd

    from utils.core.config import FINAL_FIT_SUFFIX, RECIPES
    from utils.base.labels import CLASSES

    plan = _plan(tmp_path)
    assert steps.recipes_side_by_side(plan) is None

    def evaluation(config: str, tta: str, miou: float) -> None:
        out = plan.work_root / config / 'eval' / f'best_mIoU_iter_60_val_{tta}'
        out.mkdir(parents=True)
        (out / 'summary.json').write_text(json.dumps({'mIoU': miou, 'tta': tta}))
        pd.DataFrame({'IoU': [miou] * 19}, index=pd.Index(CLASSES, name='class')).to_csv(out / 'per_class.csv')

    evaluation(RECIPES['seed'][0], 'none', 70.0)  # stage 1 only counts when stage 2 has no evaluation
    evaluation(RECIPES['seed'][1], 'none', 75.0)
    evaluation(RECIPES['seed'][1], 'flip', 76.5)
    evaluation(RECIPES['swin-b'][0], 'none', 79.0)
    evaluation(RECIPES['swin-b'][0] + FINAL_FIT_SUFFIX, 'none', 95.0)
    table = steps.recipes_side_by_side(plan).data
    assert list(table.columns) == ['report (best run)', 'seed', 'swin-b', 'swin-b (final fit: val not honest)']
    assert table.loc['mIoU', 'seed'] == 75.0 and table.loc['TTA gain', 'seed'] == 1.5
    assert table.loc['mIoU', 'report (best run)'] == 74.72 and table.loc['skin', 'swin-b'] == 79.0
    from utils.notebook import narrate

    assert 'The best recipe on val is `swin-b`: mIoU **79.00**, +4.28' in narrate.recipes(table)
