"""The 2025-26 leaderboard zip: ``masks/<stem>.png`` for every image at its root and, for the test phase,
``solution/{run.py, ckpt.pth, requirements.txt}``, proven before zipping to reproduce every mask in a fresh environment.

The masks are the project's own prediction (the MMSeg model through :class:`utils.core.inference.Segmenter`, in full
precision, one image per forward pass as ``run.py`` runs, on the CPU by default: CPU kernels give the same bits in the
fresh environment, while GPU kernels may change with the CUDA build that pip installs there), decoded with the
checkpoint's per-class biases:
``argmax_c(log(p_c + 1e-12) + b_c)`` with ``p`` the softmax averaged over the TTA views. The same safety as the
2022 zip: only files this tool wrote are replaced (the masks folder's manifest), the zip is checked in a
temporary file and moved into place only when it passes.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.base.report import human_bytes
from utils.submit.check import check_leaderboard_zip, publish_checked_zip
from utils.submit.common import (SubmitError, check_masks_location, check_zip_target, claim_masks_dir, default_masks_dir,
                                 is_inside, list_images, mask_name)
from utils.submit.predict import PredictResult, predict_folder

if TYPE_CHECKING:
    from utils.core.checkpoints import OpenedCheckpoint

MASKS_FOLDER, SOLUTION_FOLDER = 'masks', 'solution'


def decide(prob: Any, bias: Any) -> Any:
    """Labels (N x H x W, uint8 tensor) of TTA-averaged probabilities under per-class biases (all zeros: argmax)."""
    import torch

    score = torch.log(prob + 1e-12) + bias.view(1, -1, 1, 1).to(prob.device)
    return score.argmax(dim=1).to(torch.uint8)


class BiasedSegmenter:
    """A :class:`utils.core.inference.Segmenter` whose labels are decided with the per-class biases."""

    def __init__(self, segmenter: Any, class_bias: list[float]) -> None:
        import torch

        self.segmenter, self.cfg = segmenter, segmenter.cfg
        self.class_bias = list(class_bias)
        self.bias = torch.tensor(self.class_bias, dtype=torch.float32)

    def predict(self, images: list, tta: str = 'none') -> list:
        out = []
        for image in images:  # one image per forward pass, as run.py predicts: the same arithmetic, bit for bit
            prob = self.segmenter.predict_proba([image], tta)
            out.append(decide(prob, self.bias)[0].to('cpu').numpy())
        return out


def load_biased_segmenter(checkpoint: str | os.PathLike | OpenedCheckpoint, config: Any = None,
                          device: str | None = None) -> BiasedSegmenter:
    """The checkpoint's model in full precision (AMP would make run.py's float32 masks differ) with its biases;
    ``checkpoint``: a path, or one opened by :func:`utils.core.checkpoints.open_checkpoint` (not read again)."""
    from utils.core.checkpoints import open_checkpoint
    from utils.core.inference import Segmenter
    from utils.submit.solution.export import class_bias_of

    opened = open_checkpoint(checkpoint, config)
    bias = class_bias_of(opened.meta, str(opened.path))
    return BiasedSegmenter(Segmenter.from_checkpoint(opened, device=device, amp=False), bias)


def export_solution(biased: BiasedSegmenter, tta: str, out_dir: Path) -> Path:
    """Write ``run.py``, ``ckpt.pth`` and ``requirements.txt`` of the loaded model into ``out_dir``."""
    from utils.core.inference import MS_SCALES
    from utils.submit.solution.export import export_state_dict, settings, write_solution

    seg = biased.segmenter
    arch, state = export_state_dict(seg.model, seg.cfg)
    values = settings(arch, mean=seg.mean.flatten().tolist(), std=seg.std.flatten().tolist(),
                      test_size=seg.test_size, tta=tta, class_bias=biased.class_bias, ms_scales=MS_SCALES)
    return write_solution(out_dir, arch, state, values)


@dataclass
class LeaderboardZip:
    """A finished 2025 zip: where, its size and SHA-256, the masks, the proof (test phase) and the check."""

    zip_path: Path
    phase: str
    masks: int
    bytes: int
    sha256: str
    prediction: PredictResult
    report: Any
    proof: Any = None
    dev: Any = None  # the test phase's zip carries the dev phase's beside it (built from the same model)
    folder: str = 'masks'  # where the masks lie in the zip

    def __str__(self) -> str:
        what = 'masks/ + solution/' if self.phase == 'test' else 'masks/'
        proof = f'\n  {self.proof}' if self.proof is not None else ''
        return (f'{self.zip_path} ({self.phase} phase): {self.masks} masks, {what}, {human_bytes(self.bytes)}, '
                f'sha256 {self.sha256}; check {self.report.verdict}{proof}\n  {self.prediction}')

    def _repr_html_(self) -> str:
        """The zip (and the dev phase's beside it), the proof of run.py, and the check's table."""
        import html

        what = 'masks/ + solution/' if self.phase == 'test' else 'masks/'
        lines = [f'<b>{html.escape(self.zip_path.name)}</b> ({self.phase} phase): {self.masks} masks, {what}, '
                 f'{human_bytes(self.bytes)}, SHA-256 <code>{self.sha256[:16]}...</code>']
        if self.proof is not None:
            lines.append(html.escape(str(self.proof)))
        if self.dev is not None:
            lines.append(f'<b>{html.escape(self.dev.zip_path.name)}</b> (dev phase): {self.dev.masks} masks, '
                         f'{human_bytes(self.dev.bytes)}, check {self.dev.report.verdict}')
        return '<p>' + '<br>'.join(lines) + '</p>' + self.report._repr_html_()


def _zip_entries(zf: zipfile.ZipFile, masks_dir: Path, images: list[Path], solution_dir: Path | None) -> None:
    for img in images:
        zf.write(masks_dir / mask_name(img), f'{MASKS_FOLDER}/{mask_name(img)}')
    if solution_dir is not None:
        from utils.submit.solution.export import SOLUTION_FILES

        for name in SOLUTION_FILES:
            zf.write(solution_dir / name, f'{SOLUTION_FOLDER}/{name}')


def _warn_pins(requirements: Path) -> None:
    """Warn when a pinned version has no wheel for one of today's Pythons (the course's machine may run any)."""
    import warnings

    from utils.submit.solution.proof import pins_missing_wheels

    missing = pins_missing_wheels(requirements)
    if missing:
        reasons = '; '.join(f'Python {py}: {why}' for py, why in missing.items())
        warnings.warn(f'solution/requirements.txt pins the versions of this runtime ({requirements.read_text().split()}),'
                      f' which do not all install everywhere ({reasons}). Upgrade them here (pip install -U numpy '
                      'pillow torch), restart the runtime and build the zip again.', stacklevel=3)


def _targets(out_zip: Path, images_dir: Path, masks_dir: Any) -> Path:
    if out_zip.suffix.lower() != '.zip':
        raise SubmitError(f'--out {out_zip}: the submission must be a .zip file, e.g. submission-test.zip.')
    if is_inside(out_zip, images_dir):
        raise SubmitError(f'The zip {out_zip} would be written inside the image folder {images_dir}; write it '
                          'elsewhere.')
    masks_dir = Path(masks_dir) if masks_dir is not None else default_masks_dir(out_zip)
    list_images(images_dir)  # a missing or empty image folder is named first
    check_masks_location(masks_dir, images_dir)
    check_zip_target(out_zip, claim_masks_dir(masks_dir))  # nothing is predicted for a zip that cannot be written
    return masks_dir


def build_leaderboard_zip(checkpoint: str | os.PathLike | OpenedCheckpoint, images_dir: str | os.PathLike,
                          out_zip: str | os.PathLike, *, solution: bool = False, config: Any = None,
                          tta: str | None = None, masks_dir: str | os.PathLike | None = None, device: str | None = None,
                          env_cache: str | os.PathLike | None = None, env_maker: Any = None,
                          overwrite: bool = False, replace_other_run: bool = False, strict: bool = False,
                          progress: bool = True, segmenter: BiasedSegmenter | None = None) -> LeaderboardZip:
    """Predict every image, (``solution``) export and prove the solution, zip, check, then move the zip into place.

    ``env_maker``: how the proof's fresh environment is made (default :func:`~.solution.proof.pip_env`, which
    installs ``requirements.txt`` from the package index once; kept in ``env_cache`` by the file's SHA-256).
    ``run.py``'s masks differing from the project's prediction beyond float ties raises
    :class:`~.solution.proof.SolutionMismatchError` naming the files (no zip is written then); within them, the
    test zip carries ``run.py``'s own masks, the ones the leaderboard's run of it reproduces.
    ``checkpoint``: a path, or one opened by :func:`utils.core.checkpoints.open_checkpoint`; it is read once either way.
    """
    from utils.core.checkpoints import open_checkpoint
    from utils.submit.solution.proof import default_maker, pip_env, prove_solution

    out_zip, images_dir = Path(out_zip), Path(images_dir)
    masks_dir = _targets(out_zip, images_dir, masks_dir)
    opened = open_checkpoint(checkpoint, config)  # the model, its biases and the manifest's SHA-256: one read
    if segmenter is None:
        segmenter = load_biased_segmenter(opened, device=device or 'cpu')
    prediction = predict_folder(opened, images_dir, masks_dir, config=config, tta=tta, batch_size=1,
                                overwrite=overwrite, replace_other_run=replace_other_run, progress=progress,
                                segmenter=segmenter)
    images, phase = list_images(images_dir), 'test' if solution else 'dev'
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    proof = None
    with tempfile.TemporaryDirectory(prefix=f'.{out_zip.stem}.', dir=out_zip.parent) as tmp_dir:
        sol = None
        if solution:
            sol = export_solution(segmenter, prediction.tta, Path(tmp_dir) / SOLUTION_FOLDER)
            env_maker = env_maker or default_maker()
            if env_maker is pip_env:  # the index is in use anyway: ask it whether the pins install
                _warn_pins(sol / 'requirements.txt')
            proof = prove_solution(sol, images, masks_dir, cache=env_cache, maker=env_maker,
                                   device=str(segmenter.segmenter.device), progress=progress,
                                   keep=Path(tmp_dir) / 'run_py_masks')
            if progress:
                print(proof)
        tmp = Path(tmp_dir) / out_zip.name
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
            # the test zip carries run.py's own masks (the proof made them): what the leaderboard's run reproduces
            _zip_entries(zf, proof.masks_dir if proof is not None else masks_dir, images, sol)
        report = check_leaderboard_zip(tmp, images_dir, phase=phase, strict=strict, progress=progress)
        sha = publish_checked_zip(tmp, out_zip, masks_dir, report)
    return LeaderboardZip(out_zip, phase, len(images), out_zip.stat().st_size, sha, prediction, report, proof)


def build_2025_submissions(checkpoint: str | os.PathLike | OpenedCheckpoint, val_images: str | os.PathLike,
                           test_images: str | os.PathLike, out_dir: str | os.PathLike, *, name: str = 'submission',
                           config: Any = None, tta: str | None = None, device: str | None = None,
                           env_cache: str | os.PathLike | None = None, env_maker: Any = None,
                           replace_other_run: bool = True, progress: bool = True) -> dict[str, LeaderboardZip]:
    """Both zips of the 2025-26 leaderboard from one model: ``<name>-dev.zip`` (the val images' masks) and
    ``<name>-test.zip`` (the test images' masks with the proven solution). The model loads once, on the CPU unless
    ``device`` says otherwise (about a second per 512 px image with flip TTA for a 1.5 M-parameter BiSeNetV2);
    the checkpoint file is read once for both."""
    from utils.core.checkpoints import open_checkpoint

    out_dir = Path(out_dir)
    opened = open_checkpoint(checkpoint, config)
    seg = load_biased_segmenter(opened, device=device or 'cpu')
    common = dict(config=config, tta=tta, env_cache=env_cache, env_maker=env_maker,
                  replace_other_run=replace_other_run, progress=progress, segmenter=seg)
    return {'dev': build_leaderboard_zip(opened, val_images, out_dir / f'{name}-dev.zip', solution=False,
                                         **common),
            'test': build_leaderboard_zip(opened, test_images, out_dir / f'{name}-test.zip', solution=True,
                                          **common)}
