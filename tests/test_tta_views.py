"""TTA for every recipe: the views each mode really runs through the model (a spy on the backbone), not only shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.core.config import RECIPES, TTA_MODES, load_config


@pytest.fixture(scope='module', params=sorted(RECIPES))
def spied(request):
    """A randomly initialised model of the recipe at smoke size, its backbone recording every input it is given."""
    from utils.core.inference import Segmenter
    from utils.core.model import build_segmentor

    cfg = load_config(RECIPES[request.param][0], work_dir='/tmp/unused', smoke=dict(size=64, max_iters=2))
    torch.manual_seed(0)
    model = build_segmentor(cfg)
    seen = []
    forward = model.backbone.forward

    def spy(x, *args, **kwargs):
        seen.append(x.detach().clone())
        return forward(x, *args, **kwargs)

    model.backbone.forward = spy
    return request.param, Segmenter(model, cfg, device='cpu'), seen


@pytest.mark.parametrize('tta', TTA_MODES)
def test_each_mode_runs_the_views_it_promises(spied, tta):
    from utils.core.inference import MS_SCALES, tta_views

    recipe, seg, seen = spied
    seen.clear()
    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    prob = seg.predict_proba([img], tta)
    assert prob.shape == (1, 19, 64, 64)
    torch.testing.assert_close(prob.sum(1), torch.ones(1, 64, 64))
    assert len(seen) == tta_views(tta), recipe
    sizes = [tuple(x.shape[-2:]) for x in seen]
    if tta == 'none':
        assert sizes == [(64, 64)]
    elif tta == 'flip':
        assert sizes == [(64, 64)] * 2
        torch.testing.assert_close(seen[1], seen[0].flip(-1))  # the second view is the mirror image
    else:
        expected = [(round(64 * s / 8) * 8,) * 2 for s in MS_SCALES]
        assert sorted(set(sizes)) == sorted(expected) and all(sizes.count(s) == 2 for s in expected)
        for a, b in zip(seen[::2], seen[1::2]):
            torch.testing.assert_close(b, a.flip(-1))  # each scale: the view and its mirror
