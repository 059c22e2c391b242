"""Configs load by path, build the seed model with the report's parameter count, and fail clearly."""
from __future__ import annotations

import pytest
from facts import SEED_PARAMS, SEED_PARAMS_WITHOUT_AUX
from mmengine.config import Config

from utils.core.config import ConfigError, available_configs, check_num_classes, load_config, resolve_config

SEED_20K = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamask-512x512'
SMOKE = 'deeplabv3plus_r50-d8_ohem-cw_1xb4-40it_celebamask-smoke-64x64'


def _params(model, trainable_only=True):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def test_every_config_loads_by_path():
    names = available_configs()
    assert SEED_20K in names and SMOKE in names
    for name in names:
        cfg = Config.fromfile(str(resolve_config(name)))
        assert cfg.model.type and cfg.train_cfg.max_iters > 0, name


def test_seed_model_has_report_parameter_count():
    from utils.core.model import build_segmentor as build_model

    cfg = load_config(SEED_20K, work_dir='/tmp/unused')
    model = build_model(cfg)
    assert _params(model) == SEED_PARAMS
    assert _params(model) - _params(model.auxiliary_head) == SEED_PARAMS_WITHOUT_AUX


def test_seed_recipe_settings():
    cfg = Config.fromfile(str(resolve_config(SEED_20K)))
    head = cfg.model.decode_head
    assert head.sampler == dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000)
    assert head.loss_decode.class_weight[16] == 1.5 and len(head.loss_decode.class_weight) == 19
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_cfg.val_interval == 2000 and cfg.default_hooks.checkpoint.interval == 2000
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    assert not any(t['type'] == 'RandomFlip' for t in cfg.train_pipeline)  # the seed's best run used no flip


def test_smoke_layer_scales_everything(tmp_path):
    cfg = load_config(SMOKE, data_root=tmp_path, work_dir=tmp_path / 'w')
    assert cfg.train_cfg.max_iters == 40
    assert cfg.model.data_preprocessor['size'] == (64, 64)
    assert cfg.model.pretrained is None
    assert cfg.model.decode_head.sampler.min_kept == int(100000 * (64 / 512) ** 2)
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'Resize'][0]
    assert tuple(resize['scale']) == (64, 64)
    assert [s['total_iters'] for s in cfg.param_scheduler] == [40, 40]
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)


def test_max_iters_override_moves_the_cycle(tmp_path):
    cfg = load_config(SEED_20K, work_dir=tmp_path, max_iters=1000)
    assert cfg.train_cfg.max_iters == 1000
    assert [s['total_iters'] for s in cfg.param_scheduler] == [1000, 1000]


def test_unknown_config_suggests_close_names():
    with pytest.raises(ConfigError, match='Did you mean: deeplabv3plus_r50-d8_ohem-cw_1xb4-20k'):
        resolve_config('deeplabv3plus_r50-d8_ohem-cw_1xb4-20k_celebamsk')


def test_class_count_mismatch_is_explained(tmp_path):
    with pytest.raises(ConfigError, match='num_classes = 21'):
        load_config(SEED_20K, work_dir=tmp_path, cfg_options={'model.decode_head.num_classes': 21})
    cfg = Config.fromfile(str(resolve_config(SEED_20K)))
    cfg.model.decode_head.loss_decode.class_weight = [1.0] * 18
    with pytest.raises(ConfigError, match='class_weight has 18 entries'):
        check_num_classes(cfg)


def test_shortening_keeps_warmup_share(tmp_path):
    cfg = load_config('deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512', work_dir=tmp_path,
                      max_iters=2000)
    warmup, poly = cfg.param_scheduler
    assert (warmup['begin'], warmup['end']) == (0, 100)  # 1,000 of 20k -> 100 of 2k
    assert poly['end'] == 2000


def test_explicit_overrides_win_over_smoke_scaling_and_max_iters(tmp_path):
    """--cfg-options are applied after every derived setting, as in MMSeg: smoke scaling and --max-iters no longer
    overwrite the intervals or the schedule a user set explicitly (the smoke run used to validate and save only
    at its last iteration whatever was asked)."""
    opts = {'default_hooks.checkpoint.interval': 3, 'train_cfg.val_interval': 3, 'param_scheduler.0.total_iters': 7}
    for kw in (dict(smoke=True), dict(smoke=True, max_iters=12), dict(max_iters=500)):
        cfg = load_config(SEED_20K, work_dir=tmp_path, cfg_options=opts, **kw)
        assert cfg.default_hooks.checkpoint.interval == 3 and cfg.train_cfg.val_interval == 3, kw
        assert cfg.param_scheduler[0].total_iters == 7 and cfg.param_scheduler[1].total_iters != 7, kw
    plain = load_config(SEED_20K, work_dir=tmp_path, smoke=True)
    assert plain.train_cfg.val_interval == plain.train_cfg.max_iters // 2  # without overrides: the smoke scaling
    assert load_config(SEED_20K, work_dir=tmp_path, smoke=True, cfg_options={'smoke.max_iters': 10}).train_cfg.max_iters == 10


def test_tta_is_decided_in_one_place():
    """config.resolve_tta: the given mode, else the config's test_tta, else DEFAULT_TTA; an unknown mode names the
    choices. No other module reads test_tta or restates the modes."""
    import re
    from pathlib import Path

    from utils.core.config import DEFAULT_TTA, TTA_MODES, resolve_tta

    assert resolve_tta('ms') == 'ms' and resolve_tta(None) == DEFAULT_TTA
    assert resolve_tta(None, Config(dict(test_tta='none'))) == 'none'
    with pytest.raises(ConfigError, match="Unknown TTA 'hflip': choose one of none, flip, ms"):
        resolve_tta('hflip')
    utils = Path(__file__).resolve().parent.parent / 'utils'
    readers = {p.name for p in utils.rglob('*.py') if re.search(r"get\('test_tta'", p.read_text())}
    restated = {p.name for p in utils.rglob('*.py') if "('none', 'flip', 'ms')" in p.read_text()
                or "['none', 'flip', 'ms']" in p.read_text()}
    assert readers == {'config.py'} and restated == {'config.py'} and TTA_MODES == ('none', 'flip', 'ms')


def test_every_scheduler_follows_a_new_length():
    """set_max_iters rescales any scheduler with total_iters or end (a type added later included), keeping a
    warm-up's share, so smoke runs and --max-iters never keep a full-length schedule by accident."""
    from utils.core.config import set_max_iters

    cfg = Config(dict(train_cfg=dict(max_iters=20000, val_interval=2000), param_scheduler=[
        dict(type='SomeFutureScheduler', total_iters=20000, by_epoch=False),
        dict(type='AnotherOne', total_iters=1000, by_epoch=False),
        dict(type='LinearLR', begin=0, end=1500, by_epoch=False),
        dict(type='PolyLR', begin=1500, end=20000, by_epoch=False)]))
    set_max_iters(cfg, 400)
    s = cfg.param_scheduler
    assert (s[0].total_iters, s[1].total_iters, s[2].end, s[3].begin, s[3].end) == (400, 20, 30, 30, 400)
    assert cfg.train_cfg.max_iters == 400


def test_a_smoke_run_is_said_once_by_load_config(tmp_path):
    """cfg.smoke_run comes from the smoke option or a smoke config, never from the schedule's length: a short real
    run (--max-iters 50) is not a smoke run, so training never writes synthetic data for it."""
    assert load_config(SEED_20K, work_dir=tmp_path, smoke=True).smoke_run is True
    assert load_config(SMOKE, work_dir=tmp_path).smoke_run is True  # a smoke config says so itself
    assert load_config(SEED_20K, work_dir=tmp_path, max_iters=50).smoke_run is False
