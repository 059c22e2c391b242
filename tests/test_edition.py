"""EDITION picks the course's rules: the plan, its stages and its table follow them; settings are bounded."""
from __future__ import annotations

import pytest

from utils.base import edition
from utils.notebook import session, workflow


def test_the_2025_plan_follows_the_small_model_rules(tmp_path):
    plan = workflow.make_plan({'EDITION': '2025', 'WORK_ROOT': str(tmp_path)}, notebook='03_resume_30k')
    assert plan.edition == '2025' and plan.recipe == edition.RULES['2025'].default_recipe
    one, two = plan.stage(1), plan.stage(2)
    # stage 1 validates on the holdout; stage 2 is the final fit of the same config on all pairs, into its own folder
    assert not one.final_fit and two.final_fit and one.config == two.config
    assert two.work_dir.name == one.work_dir.name + '_trainval' and one.work_dir.parent == two.work_dir.parent
    # its length comes from stage 1's best checkpoint (found at run time), its smoke schedule from its own count
    assert two.iters is None and plan.stage(1).smoke == dict(size=64, max_iters=60)
    table = plan.frame().data
    assert 'per-image F' in table.loc['metric', 'value'] and '1,000 / 100 / 100' in table.loc['course edition', 'value']
    count = int(table.loc['parameters', 'value'].split()[0].replace(',', ''))
    assert count < edition.PARAM_CAP and 'of the cap: fewer than 1,821,085' in table.loc['parameters', 'value']
    assert table.loc['parameters', 'from'] == 'sum(p.numel() for p in model.parameters())'
    assert table.loc['pre-trained weights', 'value'].startswith('none: trained from scratch')
    assert 'final fit on train + val' not in table.index


def test_the_2022_plan_is_as_before(tmp_path):
    plan = workflow.make_plan({'WORK_ROOT': str(tmp_path)}, notebook='03_resume_30k')
    assert plan.edition == '2022' and plan.recipe == 'seed'
    two = plan.stage(2)
    assert two.config.endswith('30k_celebamask-512x512') and two.resume == (plan.work_dir_30k, plan.work_dir_20k)
    # stage 2's smoke schedule is its own 90 iterations, not stage 1's 60
    assert two.smoke == dict(size=64, max_iters=90) and plan.stage(1).smoke == dict(size=64, max_iters=60)
    table = plan.frame().data
    assert table.loc['parameters', 'value'] == '43,589,878' and 'mIoU' in table.loc['metric', 'value']
    assert workflow.make_plan({'RECIPE': 'improved'}).stage(2) is None


def test_a_recipe_of_the_other_edition_is_named_with_both_ways_out():
    with pytest.raises(workflow.PlanError, match=r"(?s)RECIPE = 'seed' .*2022 rules.*EDITION = '2025'.*'bisenetv2-slim'.*"
                                                 r"EDITION = '2022' in 00_setup"):
        workflow.make_plan({'EDITION': '2025', 'RECIPE': 'seed'})
    with pytest.raises(workflow.PlanError, match=r"(?s)'fast-scnn'.* 2025 rules.*set EDITION = '2025' in 00_setup"):
        workflow.make_plan({}, settings={'RECIPE': 'fast-scnn'})
    with pytest.raises(workflow.PlanError, match="EDITION = '2026' .* one of '2022', '2025'"):
        workflow.make_plan({'EDITION': '2026'})
    plan = workflow.make_plan({'EDITION': '2025', 'FINAL_FIT': True})
    assert not plan.final_fit and any('03_resume_30k is the final fit' in n for n in plan.notes)


def test_iterations_are_bounded_and_stage_two_ends_after_stage_one():
    with pytest.raises(workflow.PlanError, match=f'ITERS_20K = {10 ** 30} .* from 1 to 1,000,000'):
        workflow.make_plan({'ITERS_20K': 10 ** 30})
    with pytest.raises(workflow.PlanError, match='ITERS_30K = 15,000 .* not above ITERS_20K = 20,000: stage 2 would '
                                                 'train nothing'):
        workflow.make_plan({'ITERS_20K': 20000, 'ITERS_30K': 15000})
    with pytest.raises(workflow.PlanError, match=r'settings.json \(x\)'):
        workflow.check_settings({'ITERS_20K': 500, 'ITERS_30K': 400}, 'x')
    kept, notes = workflow.check_settings({'ITERS_20K': 500, 'ITERS_30K': 400}, 'x', lenient=True)
    assert kept == {'ITERS_20K': 500} and 'dropped' in notes[0]
    # under 2025 ITERS_30K is the final fit's own length: shorter than stage 1 is fine
    assert workflow.make_plan({'EDITION': '2025', 'ITERS_20K': 500, 'ITERS_30K': 400}).stage(2).iters == 400


def test_a_settings_file_of_a_newer_format_is_named_as_such():
    with pytest.raises(workflow.PlanError, match='format 2, written by a newer version of this project'):
        workflow.check_settings({'format': 2, 'RECIPE': 'seed'}, 'settings.json')
    kept, notes = workflow.check_settings({'format': 2, 'RECIPE': 'seed'}, 'settings.json', lenient=True)
    assert kept == {} and 'newer version' in notes[0]
    assert workflow.check_settings({'format': 1, 'RECIPE': 'seed'}, 'x') == ({'RECIPE': 'seed'}, [])


def test_matric_and_leaderboard_name_are_checked_before_anything_is_built():
    with pytest.raises(workflow.PlanError, match='MATRIC'):
        workflow.make_plan({'MATRIC': 'G' * 301})
    with pytest.raises(workflow.PlanError, match='LEADERBOARD_NAME'):
        workflow.make_plan({'LEADERBOARD_NAME': 'me\nMatriculation number: X'})
    assert workflow.make_plan({'MATRIC': 'G1234567A', 'LEADERBOARD_NAME': 'ada l.'}).matric == 'G1234567A'


def test_a_work_root_off_drive_stops_training_in_colab(tmp_path, monkeypatch):
    drive = tmp_path / 'drive'
    (drive / 'MyDrive').mkdir(parents=True)
    monkeypatch.setattr(session.env, 'DRIVE_ROOT', drive / 'MyDrive')
    local = workflow.make_plan({'WORK_ROOT': str(tmp_path / 'runs')}, notebook='02_train_20k')
    with pytest.raises(session.StopRun, match=r"WORK_ROOT = .*runs.* on this runtime's own disk.*lost at the first "
                                              r'disconnect'):
        session.check_work_root(local, '02_train_20k', drive=True)
    session.check_work_root(local, '04_evaluate', drive=True)  # said in bold there, not stopped
    local.allow_local_work = True
    session.check_work_root(local, '02_train_20k', drive=True)
    on_drive = workflow.make_plan({'WORK_ROOT': str(drive / 'MyDrive' / 'x')}, notebook='02_train_20k')
    session.check_work_root(on_drive, '02_train_20k', drive=True)
    assert session.on_drive(drive / 'MyDrive' / 'x') and not session.on_drive(tmp_path / 'runs')
