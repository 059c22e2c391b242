"""utils.core.bias: the per-class decoding biases, on crafted probabilities where the right biases are known."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_image_fscore import oracle

from utils.core.bias import mean_image_f, tune_class_bias
from utils.core.class_bias import decide, read_class_bias


def _rare_class_case(n: int = 6, size: int = 24):
    """Background everywhere, skin in the middle, and a small 'earring' (15) that the model sees only at 0.35
    probability against 0.45 for skin: plain argmax never predicts it, a bias of about +0.3 finds it."""
    rng = np.random.default_rng(0)
    gt = np.zeros((n, size, size), np.uint8)
    gt[:, 4:20, 4:20] = 1
    prob = np.full((n, 19, size, size), 0.01 / 17, np.float32)
    prob[:, 0], prob[:, 1] = 0.9, 0.09
    prob[:, 0, 4:20, 4:20], prob[:, 1, 4:20, 4:20] = 0.09, 0.9
    for i in range(n):
        y, x = rng.integers(6, 16, size=2)
        gt[i, y:y + 3, x:x + 3] = 15
        prob[i, 15, y:y + 3, x:x + 3], prob[i, 1, y:y + 3, x:x + 3] = 0.35, 0.45
    prob /= prob.sum(1, keepdims=True)
    return np.log(prob + 1e-12), gt


def test_plain_argmax_misses_the_rare_class_and_the_biases_find_it():
    logp, gt = _rare_class_case()
    bias, before, after = tune_class_bias(logp, gt)
    plain = logp.argmax(1)
    assert before == pytest.approx(np.mean([oracle(g, p) for g, p in zip(gt, plain)]), abs=1e-12)
    assert bias[15] > 0 and after > before + 0.2
    decided = decide(torch.from_numpy(np.exp(logp)), bias).numpy()
    assert after == pytest.approx(np.mean([oracle(g, p) for g, p in zip(gt, decided)]), abs=1e-6)


def test_zero_biases_are_plain_argmax():
    prob = torch.rand(2, 19, 8, 8).softmax(1)
    assert torch.equal(decide(prob, None), prob.argmax(1))
    assert torch.equal(decide(prob, [0.0] * 19), prob.argmax(1))


def test_mean_image_f_is_the_leaderboard_mean_per_image():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 5, (4, 16, 16)).astype(np.uint8)
    gt[:, :2] = 255
    pred = np.where(rng.random(gt.shape) < 0.6, gt % 255, rng.integers(0, 7, gt.shape)).astype(np.uint8)
    score, per_class = mean_image_f(pred, gt)
    assert score == pytest.approx(np.mean([oracle(g, p) for g, p in zip(gt, pred)]), abs=1e-12)
    assert per_class.shape == (4, 19) and np.isnan(per_class[:, 6]).all()


def test_biases_come_from_the_checkpoint_or_its_own_json(tmp_path):
    import json

    from utils.core.class_bias import BiasError

    ck = tmp_path / 'best_imgF_iter_10.pth'
    assert read_class_bias(ck, {}) is None
    (tmp_path / 'class_bias.json').write_text(json.dumps({'checkpoint': 'iter_20.pth', 'class_bias': [1.0] * 19}))
    assert read_class_bias(ck, {}) is None  # tuned for another checkpoint of the folder
    (tmp_path / 'class_bias.json').write_text(json.dumps({'checkpoint': ck.name, 'class_bias': [0.5] * 19}))
    assert read_class_bias(ck, {}) == [0.5] * 19
    assert read_class_bias(ck, {'class_bias': [0.25] * 19}) == [0.25] * 19  # the checkpoint's own wins
    with pytest.raises(BiasError, match='19 numbers'):
        read_class_bias(ck, {'class_bias': [0.25] * 3})


def test_the_tune_command_names_its_inputs(capsys):
    from utils.core import bias

    with pytest.raises(SystemExit) as done:
        bias.main(['--help'])
    assert done.value.code == 0 and '--split-file' in capsys.readouterr().out


def test_kept_biases_go_into_the_runs_own_checkpoint_read_once_and_beside_anothers(tmp_path):
    """save_class_bias: a checkpoint whose bytes training recorded gets the biases in its meta (optimizer state kept,
    still trusted after), read once; another's file is left byte for byte and gets them beside it only."""
    import json

    from test_open_checkpoint import count_reads

    from utils.base.trust import mark_work_dir, record_file
    from utils.core.bias import save_class_bias
    from utils.core.checkpoints import is_trusted_checkpoint, load_recorded

    state = {'state_dict': {'w': torch.ones(2)}, 'optimizer': {'m': torch.zeros(2)}, 'meta': {'iter': 10}}
    own = tmp_path / 'run' / 'best_imgF_iter_10.pth'
    mark_work_dir(own.parent)
    torch.save(state, own)
    record_file(own)
    with count_reads(own) as reads:
        save_class_bias(own, [0.5] * 19, {'holdout_images': 3})
    kept = load_recorded(own)  # refused unless the new bytes are recorded too
    assert len(reads) == 1 and kept['meta']['class_bias'] == [0.5] * 19 and torch.equal(kept['optimizer']['m'],
                                                                                        torch.zeros(2))
    foreign = tmp_path / 'download' / 'model.pth'
    foreign.parent.mkdir()
    torch.save(state, foreign)
    before = foreign.read_bytes()
    out = save_class_bias(foreign, [0.25] * 19, {'holdout_images': 3})
    assert foreign.read_bytes() == before and not is_trusted_checkpoint(foreign)
    assert json.loads(out.read_text())['class_bias'] == [0.25] * 19 and out.parent == foreign.parent
    assert read_class_bias(foreign, {}) == [0.25] * 19
