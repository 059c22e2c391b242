"""Zip the masks in one folder, check the zip before it is moved into place, and offer it for download."""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.submit.check import SubmissionCheckError, SubmissionReport, check_submission, publish_checked_zip  # noqa: F401 (re-exported)
from utils.base.report import human_bytes
from utils.base.trust import sha256_file
from utils.submit.common import (SubmitError, check_masks_location, check_zip_target, claim_masks_dir, default_masks_dir,
                                 is_inside, list_images, mask_name)
from utils.submit.predict import PredictResult, predict_folder


@dataclass
class SubmissionResult:
    """A finished submission: the zip (size, SHA-256), its masks folder, the prediction and the check."""

    zip_path: Path
    masks_dir: Path
    folder: str
    masks: int
    bytes: int
    sha256: str
    prediction: PredictResult
    report: SubmissionReport

    def __str__(self) -> str:
        return (f'{self.zip_path}: {self.masks} masks in {self.folder}/, {human_bytes(self.bytes)}, '
                f'sha256 {self.sha256}; check {self.report.verdict}'
                f'{f" with {len(self.report.warnings)} warnings" if self.report.warnings else ""}\n'
                f'  {self.prediction}')

    def _repr_html_(self) -> str:
        return (f'<p><b>{self.zip_path}</b>: {self.masks} masks in <code>{self.folder}/</code>, '
                f'{human_bytes(self.bytes)}, SHA-256 <code>{self.sha256}</code><br>{self.prediction}</p>'
                + self.report._repr_html_())


def zip_masks(masks_dir: str | os.PathLike, images: Sequence[str | os.PathLike], out_zip: str | os.PathLike,
              folder: str) -> Path:
    """Zip ``<stem>.png`` of each image from ``masks_dir`` into ``out_zip`` under ``folder/`` (no other files)."""
    out_zip, masks_dir = Path(out_zip), Path(masks_dir)
    with zipfile.ZipFile(out_zip, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for img in images:
            zf.write(masks_dir / mask_name(img), f'{folder}/{mask_name(img)}')
    return out_zip


def make_submission(checkpoint: str | os.PathLike, images_dir: str | os.PathLike,
                    out_zip: str | os.PathLike = 'submission.zip', *, config: str | os.PathLike | None = None,
                    tta: str | None = None, batch_size: int = 8, masks_dir: str | os.PathLike | None = None,
                    folder: str | None = None, overwrite: bool = False, replace_other_run: bool = False,
                    reference: Any = None, strict: bool = False,
                    device: str | None = None, amp: bool | None = None, progress: bool = True,
                    segmenter: Any = None) -> SubmissionResult:
    """Predict every test image, zip the masks in one folder, check the zip, then move it to ``out_zip``.

    ``folder``: the folder inside the zip (default: the zip's stem). The zip only appears at
    ``out_zip`` once it has passed :func:`check_submission`; otherwise :class:`SubmissionCheckError`.
    A file already at ``out_zip`` is replaced only when it is, byte for byte, the zip this tool wrote
    there last time (recorded in the masks folder's manifest); anything else is refused before any work.
    ``overwrite`` and ``replace_other_run``: as in :func:`utils.submit.predict_folder`.
    """
    out_zip, images_dir = Path(out_zip), Path(images_dir)
    if out_zip.suffix.lower() != '.zip':
        raise SubmitError(f'--out {out_zip}: the submission must be a .zip file, e.g. submission.zip.')
    if is_inside(out_zip, images_dir):
        raise SubmitError(f'The zip {out_zip} would be written inside the image folder {images_dir}; write it '
                          'elsewhere, e.g. --out submission.zip.')
    masks_dir = Path(masks_dir) if masks_dir is not None else default_masks_dir(out_zip)
    folder = folder or out_zip.stem
    if not folder or '/' in folder or '\\' in folder or folder.startswith('.'):
        raise SubmitError(f'folder {folder!r}: give one plain folder name for the masks inside the zip.')
    list_images(images_dir)  # a missing or empty image folder is named first
    check_masks_location(masks_dir, images_dir)
    check_zip_target(out_zip, claim_masks_dir(masks_dir))  # nothing is predicted for a zip that cannot be written
    prediction = predict_folder(checkpoint, images_dir, masks_dir, config=config, tta=tta, batch_size=batch_size,
                                overwrite=overwrite, replace_other_run=replace_other_run, device=device, amp=amp,
                                progress=progress, segmenter=segmenter)
    images = list_images(images_dir)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f'.{out_zip.stem}.', suffix='.zip.tmp', dir=out_zip.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        zip_masks(masks_dir, images, tmp, folder)
        report = check_submission(tmp, images_dir, reference=reference, strict=strict, progress=progress)
        sha = publish_checked_zip(tmp, out_zip, masks_dir, report)
    finally:
        tmp.unlink(missing_ok=True)
    return SubmissionResult(out_zip, masks_dir, folder, len(images), out_zip.stat().st_size, sha, prediction, report)


def offer_download(zip_path: Any) -> Path:
    """Print the zip's size and SHA-256; in Colab start the browser download, elsewhere say where the file is."""
    from utils.core.env import in_colab

    path = Path(getattr(zip_path, 'zip_path', zip_path))
    if not path.is_file():
        raise SubmitError(f'Not found: {path}. Build it with make_submission() first.')
    smoke = 'SMOKE' in path.name  # utils.notebook.workflow names a smoke run's zip so: it is never a submission
    print(f'{path}: {human_bytes(path.stat().st_size)}, sha256 {sha256_file(path)}')
    what = 'this SMOKE zip (a check of the steps, not a submission: do not upload it)' if smoke else 'the submission'
    if in_colab():
        from google.colab import files  # type: ignore[import-not-found]

        files.download(str(path))
        print(f'download of {what} started in the browser' + ('.' if smoke else '; upload it to the leaderboard.'))
    else:
        print(f'Not in Colab, so nothing to download: {what} is at {path.resolve()}.')
    return path
