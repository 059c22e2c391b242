"""The 2025-26 leaderboard zip: the plain-PyTorch networks of run.py equal the MMSeg models, the zip's masks are the
project's prediction with the class biases, run.py reproduces them in a fresh environment from requirements.txt
alone (and a changed run.py is caught), and the 2025 check fails each crafted bad zip on the rule it breaks."""
from __future__ import annotations

import ast
import io
import pprint
import shutil
import subprocess
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from solution_models import RECIPES, build
from utils.base.labels import pil_palette
from utils.submit import SubmitError
from utils.submit.__main__ import main as submit_main
from utils.submit.check import check_leaderboard_zip, check_submission
from utils.submit.leaderboard import build_2025_submissions
from utils.submit.solution import ExportError, export_state_dict, plain_network
from utils.submit.solution.proof import TIE_SHARE, SolutionMismatchError, installed_env, prove_solution

#: Input sizes per recipe: 64 px and an odd non-square one. MMSeg's LR-ASPP pools with a 49 x 49 window at output
#: stride 8, so it cannot run below 392 px: its sizes start there.
SIZES = {'bisenetv2-slim': [(64, 64), (96, 80)], 'fast-scnn': [(64, 64), (96, 80)],
         'lraspp-mv3s': [(392, 392), (400, 456)]}
BIAS = [0.0] * 19
BIAS[1], BIAS[4], BIAS[10] = 2.0, 0.7, -1.5  # skin favoured, l_brow a little, nose penalised: decisions move


@pytest.mark.parametrize('recipe', sorted(RECIPES))
def test_plain_network_equals_the_mmseg_model(recipe):
    model, cfg = build(recipe, seed=1)
    arch, state = export_state_dict(model, cfg)
    net = plain_network(arch)
    net.load_state_dict(state, strict=True)
    for h, w in SIZES[recipe]:
        x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(h * w))
        metas = [dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w))] * 2
        with torch.no_grad():
            want, got = model.encode_decode(x, metas), net(x)
        assert got.shape == want.shape == (2, 19, h, w)
        assert float(want.std()) > 1e-3  # random weights and BN statistics: the logits vary
        assert float((want - got).abs().max()) <= 1e-4, (recipe, h, w)


def test_exporter_refuses_what_run_py_cannot_build():
    from mmengine.config import Config

    from utils.core.model import build_segmentor

    spec = RECIPES['bisenetv2-slim']()
    spec['decode_head']['norm_cfg'] = dict(type='GN', num_groups=4)
    with pytest.raises(ExportError, match='GroupNorm'):
        export_state_dict(build_segmentor(Config(dict(model=spec))))


# --------------------------------------------------------------------------- the smoke build, end to end
@pytest.fixture(scope='module')
def smoke(synthetic_root, tmp_path_factory):
    """Both 2025 zips of a random BiSeNetV2-slim with class biases, proven in an offline fresh environment."""
    root = tmp_path_factory.mktemp('lb2025')
    model, _ = build('bisenetv2-slim', seed=2)
    config = root / 'bisenetv2-slim_smoke.py'
    config.write_text('model = ' + pprint.pformat(RECIPES['bisenetv2-slim']()) + "\ntest_tta = 'flip'\n")
    ckpt = root / 'smoke.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'class_bias': BIAS}}, ckpt)
    zips = build_2025_submissions(ckpt, synthetic_root / 'val' / 'val_image', synthetic_root / 'test' / 'test_image',
                                  root / 'out', name='submission-SMOKE', config=config, env_cache=root / 'envs',
                                  env_maker=installed_env, progress=False)
    return dict(root=root, model=model, ckpt=ckpt, config=config, zips=zips, data=synthetic_root)


def _names(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return sorted(zf.namelist())


def test_zips_hold_masks_and_only_the_test_zip_the_solution(smoke):
    data = smoke['data']
    dev, test = smoke['zips']['dev'], smoke['zips']['test']
    val_stems = sorted(p.stem for p in (data / 'val' / 'val_image').iterdir())
    test_stems = sorted(p.stem for p in (data / 'test' / 'test_image').iterdir())
    assert _names(dev.zip_path) == sorted(f'masks/{s}.png' for s in val_stems)
    assert _names(test.zip_path) == sorted([f'masks/{s}.png' for s in test_stems]
                                           + ['solution/ckpt.pth', 'solution/requirements.txt', 'solution/run.py'])
    assert dev.report.ok and test.report.ok and dev.proof is None
    assert test.proof.masks == len(test_stems)
    with zipfile.ZipFile(test.zip_path) as zf:
        ckpt = torch.load(io.BytesIO(zf.read('solution/ckpt.pth')), weights_only=True)
        run_py = zf.read('solution/run.py').decode()
        reqs = zf.read('solution/requirements.txt').decode().split()
    assert set(ckpt) == {'state_dict'} and all(isinstance(v, torch.Tensor) for v in ckpt['state_dict'].values())
    imported = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split('.')[0]
                for n in ast.walk(ast.parse(run_py)) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    assert imported == {'__future__', 'argparse', 'math', 'sys', 'pathlib', 'numpy', 'torch', 'PIL'}
    assert [r.split('==')[0] for r in reqs] == ['torch', 'numpy', 'Pillow'] and all('==' in r for r in reqs)


def _oracle_labels(model, image_path, bias):
    """The contract's decision written out here: flip TTA with the L/R swap on softmax, then log + bias, argmax."""
    img = np.array(Image.open(image_path).convert('RGB'))
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    x = (x - torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)) / torch.tensor([58.395, 57.12, 57.375]).view(
        1, 3, 1, 1)
    metas = [dict(img_shape=x.shape[-2:], ori_shape=x.shape[-2:], pad_shape=tuple(x.shape[-2:]))]
    with torch.no_grad():
        plain = model.encode_decode(x, metas).softmax(1)
        flipped = model.encode_decode(x.flip(-1), metas).flip(-1)
        order = list(range(19))
        for a, b in ((4, 5), (6, 7), (8, 9)):
            order[a], order[b] = b, a
        flipped = flipped[:, order].softmax(1)
    prob = (plain + flipped) / 2
    return (torch.log(prob + 1e-12) + torch.tensor(bias).view(1, -1, 1, 1)).argmax(1)[0].numpy(), prob.argmax(1)[0]


def test_masks_are_the_project_prediction_with_the_biases(smoke):
    images = sorted((smoke['data'] / 'test' / 'test_image').iterdir())
    moved = ties = total = 0
    with zipfile.ZipFile(smoke['zips']['test'].zip_path) as zf:
        for p in images:
            with Image.open(io.BytesIO(zf.read(f'masks/{p.stem}.png'))) as im:
                assert im.mode == 'P' and im.size == Image.open(p).size
                got = np.asarray(im)
            want, unbiased = _oracle_labels(smoke['model'], p, BIAS)
            ties += int((got != want).sum())  # the zip carries run.py's masks: float ties may go the other way
            total += want.size
            moved += int((unbiased.numpy() != want).sum())
    assert ties <= TIE_SHARE * total, ties
    assert moved > TIE_SHARE * total  # the biases changed decisions, far more than ties, so dropping them is visible


def _solution_from_zip(zip_path, dest):
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        for n in ('run.py', 'ckpt.pth', 'requirements.txt'):
            (dest / n).write_bytes(zf.read(f'solution/{n}'))
    return dest


def test_a_changed_run_py_is_caught_with_the_files_named(smoke, tmp_path):
    test = smoke['zips']['test']
    sol = _solution_from_zip(test.zip_path, tmp_path / 'solution')
    images = sorted((smoke['data'] / 'test' / 'test_image').iterdir())
    masks = test.prediction.masks_dir
    again = prove_solution(sol, images, masks, cache=smoke['root'] / 'envs', maker=installed_env)
    assert again.python == test.proof.python and again.masks == len(images)  # the kept environment serves again
    text = (sol / 'run.py').read_text()
    assert text.count('+ self.bias') == 1
    (sol / 'run.py').write_text(text.replace('+ self.bias', '+ 0 * self.bias'))  # biases dropped
    with pytest.raises(SolutionMismatchError) as err:
        prove_solution(sol, images, masks, cache=smoke['root'] / 'envs', maker=installed_env)
    assert 'pixels differ' in str(err.value) and any(f'{p.stem}.png' in str(err.value) for p in images)


def test_a_float_tie_passes_and_the_zip_carries_run_pys_own_masks(smoke, tmp_path):
    """The project's prediction and run.py sum in other orders, so a pixel whose two best classes tie can go either
    way: one such pixel passes the proof, the kept masks are run.py's own, and the result says how many differ;
    more than TIE_SHARE of the pixels is a wrong export."""
    test = smoke['zips']['test']
    sol = _solution_from_zip(test.zip_path, tmp_path / 'solution')
    images = sorted((smoke['data'] / 'test' / 'test_image').iterdir())
    ours = tmp_path / 'ours'
    shutil.copytree(test.prediction.masks_dir, ours)
    first = ours / f'{images[0].stem}.png'
    with Image.open(first) as im:
        arr, palette = np.array(im), im.getpalette()
    original = arr.copy()
    arr[0, 0] = (int(arr[0, 0]) + 1) % 19  # one pixel's decision the other way
    tied = Image.fromarray(arr, mode='P')
    tied.putpalette(palette)
    tied.save(first)
    proof = prove_solution(sol, images, ours, cache=smoke['root'] / 'envs', maker=installed_env, keep=tmp_path / 'kept')
    assert proof.differ == {first.name: 1} and proof.pixels == sum(Image.open(p).size[0] * Image.open(p).size[1]
                                                                    for p in images)
    assert 'differ from the project' in str(proof) and '1 of' in str(proof)
    with Image.open(tmp_path / 'kept' / first.name) as im:
        assert np.array_equal(np.asarray(im), original)  # run.py's own mask, not the one with the flipped pixel
    arr[:8, :8] = (original[:8, :8] + 1) % 19  # 64 pixels: far beyond a tie
    wrong = Image.fromarray(arr, mode='P')
    wrong.putpalette(palette)
    wrong.save(first)
    with pytest.raises(SolutionMismatchError, match='pixels differ'):
        prove_solution(sol, images, ours, cache=smoke['root'] / 'envs', maker=installed_env)


def test_the_fresh_environment_has_only_what_requirements_name(smoke):
    python = smoke['zips']['test'].proof.python
    for module, ok in (('torch', True), ('numpy', True), ('PIL', True), ('mmseg', False), ('mmengine', False),
                       ('mmcv', False), ('utils', False)):
        done = subprocess.run([str(python), '-I', '-c', f'import {module}'], capture_output=True, cwd='/')
        assert (done.returncode == 0) == ok, module


# --------------------------------------------------------------------------- the 2025 check on crafted bad zips
def _png(arr, mode='P'):
    img = Image.fromarray(arr) if mode != 'RGB' else Image.fromarray(np.stack([arr] * 3, -1))
    if mode == 'P':
        img.putpalette([0] * 768)
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def _rewrite(src, dst, drop=(), add=None):
    """A copy of the zip ``src`` without the entries in ``drop`` and with ``add`` ({name: bytes}) written in."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for n in zin.namelist():
            if n not in drop and n not in (add or {}):
                zout.writestr(n, zin.read(n))
        for n, b in (add or {}).items():
            zout.writestr(n, b)
    return dst


def _failed(report):
    return {c.name: c.files for c in report.results if c.status == 'FAIL'}


def _bad_zips(stem, mask):
    ones = np.ones_like(mask)
    unsafe = io.BytesIO()
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'run': shutil.rmtree}, unsafe)
    return {
        'a README at the root': ('root layout', dict(add={'README.txt': b'hi'})),
        'masks nested one folder deeper': ('root layout + all masks present', dict(drop={f'masks/{stem}.png'},
                                                               add={f'masks/sub/{stem}.png': _png(mask)})),
        'a missing mask': ('all masks present', dict(drop={f'masks/{stem}.png'})),
        'a misnamed mask': ('no extra files + all masks present', dict(drop={f'masks/{stem}.png'}, add={f'masks/{stem}.jpg.png':
                                                                                   _png(mask)})),
        'an RGB mask': ('single channel', dict(add={f'masks/{stem}.png': _png(mask, 'RGB')})),
        'a mask of another size': ('sizes', dict(add={f'masks/{stem}.png': _png(mask[:32, :32])})),
        'a class id of 19': ('values 0..18', dict(add={f'masks/{stem}.png': _png(ones * 19)})),
        'no requirements.txt': ('solution files', dict(drop={'solution/requirements.txt'})),
        'a run.py that does not start': ('solution runs', dict(add={'solution/run.py': b'import nothing_here\n'})),
        'a ckpt.pth that needs code to load': ('solution runs', dict(add={'solution/ckpt.pth': unsafe.getvalue()})),
        'unpinned requirements': ('solution runs', dict(add={'solution/requirements.txt': b'torch\nnumpy\n'})),
    }


def test_check_fails_each_bad_zip_on_its_rule(smoke, tmp_path):
    good = smoke['zips']['test'].zip_path
    images = smoke['data'] / 'test' / 'test_image'
    stem = sorted(p.stem for p in images.iterdir())[0]
    with zipfile.ZipFile(good) as zf:
        mask = np.asarray(Image.open(io.BytesIO(zf.read(f'masks/{stem}.png'))))
    assert not _failed(check_leaderboard_zip(good, images, phase='test', progress=False))
    for i, (what, (rule, change)) in enumerate(_bad_zips(stem, mask).items()):
        report = check_leaderboard_zip(_rewrite(good, tmp_path / f'bad{i}.zip', **change), images, phase='test',
                                       progress=False)
        assert set(_failed(report)) == set(rule.split(' + ')), (what, _failed(report))
    dev = check_submission(good, images, edition='2025', phase='dev', progress=False)  # code in a dev-phase zip
    assert {k: sorted(v) for k, v in _failed(dev).items()} == {
        'root layout': ['solution/ckpt.pth', 'solution/requirements.txt', 'solution/run.py']}


def test_the_command_line_builds_and_checks_a_dev_zip_and_never_replaces_a_file(smoke, tmp_path, capsys):
    images = smoke['data'] / 'val' / 'val_image'
    out = tmp_path / 'dev.zip'
    base = [str(smoke['ckpt']), '--images', str(images), '--config', str(smoke['config']), '--edition', '2025',
            '--quiet']
    assert submit_main(base + ['--out', str(out)]) == 0
    assert _names(out) == _names(smoke['zips']['dev'].zip_path)
    assert submit_main(['check', str(out), '--images', str(images), '--edition', '2025', '--phase', 'dev',
                        '--quiet']) == 0
    mine = tmp_path / 'mine.zip'
    mine.write_bytes(b'a file of the user')
    assert submit_main(base + ['--out', str(mine), '--masks-dir', str(tmp_path / 'm2')]) == 2
    assert mine.read_bytes() == b'a file of the user' and 'never replaced' in capsys.readouterr().err
    with pytest.raises(SubmitError, match='--edition 2025'):
        submit_main(base[:-3] + ['--quiet', '--out', str(tmp_path / 'x.zip'), '--solution', '--debug'])


def test_run_py_predicts_one_image_as_the_course_runs_it(smoke, tmp_path):
    """``python3 run.py --input IMG.jpg --output MASK.png --weights ckpt.pth``, in the fresh environment."""
    test = smoke['zips']['test']
    sol = _solution_from_zip(test.zip_path, tmp_path / 'solution')
    image = sorted((smoke['data'] / 'test' / 'test_image').iterdir())[-1]
    out = tmp_path / 'out' / 'MASK.png'
    done = subprocess.run([str(test.proof.python), '-I', 'run.py', '--input', str(image), '--output', str(out),
                           '--weights', 'ckpt.pth'], cwd=sol, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(test.zip_path) as zf, Image.open(out) as got:
        want = np.asarray(Image.open(io.BytesIO(zf.read(f'masks/{image.stem}.png'))))
        assert got.mode == 'P' and got.getpalette()[:57] == pil_palette()[:57]  # the course colours
        assert np.array_equal(np.asarray(got), want)


def _wheel(folder, name, version, tag):
    """A minimal valid wheel (metadata only) for pip to resolve."""
    info = f'{name}-{version}.dist-info'
    path = folder / f'{name}-{version}-{tag}-{tag}-manylinux_2_17_x86_64.whl'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(f'{info}/METADATA', f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
        zf.writestr(f'{info}/WHEEL', f'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n'
                                     f'Tag: {tag}-{tag}-manylinux_2_17_x86_64\n')
        zf.writestr(f'{info}/RECORD', '')
    return path


def test_pins_without_a_wheel_for_a_python_are_named(tmp_path):
    from utils.submit.solution.proof import pins_missing_wheels

    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    for tag in ('cp311', 'cp312'):  # a release built before Python 3.13
        _wheel(wheels, 'facepins', '1.0', tag)
    _wheel(wheels, 'facepins', '2.0', 'cp313')
    req = tmp_path / 'requirements.txt'
    req.write_text('facepins==1.0\n')
    missing = pins_missing_wheels(req, index=('--no-index', '--find-links', str(wheels)))
    assert set(missing) == {'3.13'} and 'facepins==1.0' in missing['3.13']
