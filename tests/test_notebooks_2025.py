"""Run All of the seven notebooks under the 2025-26 rules (EDITION = '2025', the default recipe), each on a fresh
stand-in runtime, from the three course-style zips to the hand-in: what `python -m scripts.run_notebooks --smoke
--edition 2025` runs."""
from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from scripts.run_notebooks import NOTEBOOKS, drive_dir, first_parameters, run_notebook
from utils.core.config import RECIPES
from utils.base.edition import PARAM_CAP, RULES


def _outputs(nb) -> list[tuple[str, str]]:
    found = []
    for cell in json.loads(nb.read_text())['cells']:
        for out in cell.get('outputs', []):
            if out['output_type'] == 'stream':
                found.append((out['name'], ''.join(out['text'])))
            elif out['output_type'] == 'error':
                found.append(('error', out['ename']))
            for mime, value in out.get('data', {}).items():
                found.append((mime, ''.join(value) if isinstance(value, list) else str(value)))
    return found


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('colab2025')
    params = first_parameters(out, smoke=True, edition='2025')
    texts = {}
    for name in NOTEBOOKS:
        outputs = _outputs(run_notebook(name, out, params[name], timeout=900))
        assert not [o for o in outputs if o[0] == 'error'], name
        texts[name] = '\n'.join(text for mime, text in outputs if mime != 'image/png')
    return out, texts


def test_the_plan_and_the_model_follow_the_2025_rules(run):
    _, texts = run
    recipe = RULES['2025'].default_recipe
    assert '1,000 / 100 / 100 faces' in texts['00_setup'] and 'per-image F-measure' in texts['00_setup']
    count = int(next(line for line in texts['00_setup'].splitlines() if 'parameters for `' in line)
                .split('**')[1].replace(',', ''))
    assert count < PARAM_CAP and 'within the cap' in texts['00_setup']
    assert 'val without masks' in texts['01_data_check'] and RECIPES[recipe][0] in texts['02_train_20k']


def test_stage_1_validates_on_a_holdout_and_stage_2_is_the_final_fit(run):
    out, texts = run
    work = drive_dir(out) / 'celebamask-parsing' / 'work_dirs' / 'smoke' / RECIPES[RULES['2025'].default_recipe][0]
    split = json.loads((work / 'split.json').read_text())
    assert split['holdout'] and not set(split['holdout']) & set(split['train'])
    final = json.loads((work.with_name(work.name + '_trainval') / 'split.json').read_text())
    assert set(split['train']) | set(split['holdout']) == set(final['train']) and final.get('final_fit')
    assert 'holdout after stage 1: imgF' in texts['02_train_20k'] and 'mean per-image F' in texts['02_train_20k']
    assert 'The final fit trains 60 iterations' in texts['03_resume_30k']
    bias = json.loads((work / 'class_bias.json').read_text())
    assert len(bias['class_bias']) == 19 and bias['holdout_images'] == len(split['holdout'])


def test_04_shows_the_holdout_per_image_f(run):
    _, texts = run
    text = texts['04_evaluate']
    assert 'Mean per-image F plain' in text and 'with TTA and the biases' in text
    assert 'metric on the 3 holdout images' in text and 'the per-image F runs from' in text
    assert 'against the report' not in text  # the 2022 report's table is not this edition's


def test_05_writes_both_zips_and_the_test_zip_is_masks_and_a_proven_solution(run):
    out, texts = run
    downloads = sorted(p.name for p in (out / 'downloads').glob('*.zip'))
    assert downloads == ['submission-SMOKE-not-for-upload-dev.zip', 'submission-SMOKE-not-for-upload-test.zip']
    assert re.search(r'run\.py (reproduced|made) all 8 masks (pixel for pixel )?in a fresh environment', texts['05_submit'])
    with zipfile.ZipFile(out / 'downloads' / downloads[1]) as zf:
        names = zf.namelist()
        assert {n.split('/')[0] for n in names} == {'masks', 'solution'}
        assert {n for n in names if n.startswith('solution/')} >= {'solution/run.py', 'solution/ckpt.pth',
                                                                    'solution/requirements.txt'}
        test_stems = {p.stem for p in (out / 'runtimes' / '05_submit' / 'content' / 'data' / 'celebamask-2025' /
                                       'test' / 'test_image').glob('*.jpg')}
        assert {n[len('masks/'):-4] for n in names if n.startswith('masks/')} == test_stems
        mask = Image.open(zf.open(next(n for n in names if n.startswith('masks/'))))
        assert mask.mode == 'P' and mask.size == (64, 64) and np.asarray(mask).max() <= 18
    with zipfile.ZipFile(out / 'downloads' / downloads[0]) as zf:
        assert {n.split('/')[0] for n in zf.namelist()} == {'masks'}


def test_06_builds_the_2025_hand_in(run):
    out, texts = run
    assert 'under the 2025 rules' in texts['06_handin'] and 'Arial 10' in texts['06_handin']
    zips = list((drive_dir(out) / 'celebamask-parsing' / 'work_dirs' / 'smoke').glob('*SMOKE-not-for-hand-in.zip'))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as zf:
        names = zf.namelist()
    assert any(n.startswith('masks/') for n in names) and 'Readme.txt' in names
    assert 'matches the manifest of the test masks' in texts['06_handin']  # the final fit that predicted them
