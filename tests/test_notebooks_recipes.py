"""Run All of the seven notebooks in smoke mode with RECIPE set to each transformer recipe, each notebook on a fresh
stand-in runtime (scripts/run_notebooks.py); 1 training iteration keeps it cheap (ITERS_20K, kept in settings.json)."""
from __future__ import annotations

import json
import time
import zipfile

import pytest
from facts import RECIPE_PARAMS

from scripts.run_notebooks import NOTEBOOKS, drive_dir, first_parameters, run_notebook
from utils.core.config import RECIPES

PARAMS = {recipe: f'{n:,}' for recipe, n in RECIPE_PARAMS.items()}


def _text(nb) -> str:
    found = []
    for cell in json.loads(nb.read_text())['cells']:
        for out in cell.get('outputs', []):
            if out['output_type'] == 'stream':
                found.append(''.join(out['text']))
            for mime, value in out.get('data', {}).items():
                if mime != 'image/png':
                    found.append(''.join(value) if isinstance(value, list) else str(value))
    return '\n'.join(found)


@pytest.mark.parametrize('recipe', sorted(PARAMS))
def test_all_six_notebooks_run_with_the_recipe(recipe, tmp_path):
    params = first_parameters(tmp_path, smoke=True, recipe=recipe)
    params['00_setup']['ITERS_20K'] = 1  # one iteration: a Swin-B checkpoint with AdamW state is 1.4 GB
    params['00_setup']['TTA'] = 'none'  # one evaluation in 04 (the TTA views are tested in tests/test_tta_views.py)
    texts, times = {}, {}
    for name in NOTEBOOKS:
        start = time.time()
        texts[name] = _text(run_notebook(name, tmp_path, params[name], timeout=900))
        times[name] = round(time.time() - start)
    print(f'\n{recipe}: {times}')
    work = drive_dir(tmp_path) / 'celebamask-parsing' / 'work_dirs' / 'smoke'
    config = RECIPES[recipe][0]
    assert PARAMS[recipe] in texts['00_setup'] and 'ImageNet-1k weights only' in texts['00_setup']
    assert (work / config / 'iter_1.pth').is_file() and list((work / config).glob('best_mIoU_iter_*.pth'))
    assert 'has no stage 2' in texts['03_resume_30k']
    evals = list((work / config / 'eval').glob('*_val_*/summary.json'))
    assert [json.loads(p.read_text())['tta'] for p in evals] == ['none']
    with zipfile.ZipFile(work / 'submission-SMOKE-not-for-upload.zip') as zf:
        assert sum(n.endswith('.png') for n in zf.namelist()) > 0
