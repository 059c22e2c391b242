"""Predict the test images and build a validated leaderboard zip; check, score, preview and download it.

One module per job: ``predict`` (masks folder, manifest), ``package`` (zip, check, download), ``check``,
``score``, ``preview`` (pictures), ``__main__`` (the command); ``common`` holds what they share.

    python -m utils.submit CHECKPOINT --images DIR --out submission.zip [--tta none|flip|ms] [--batch-size 8]
    python -m utils.submit check submission.zip --images DIR [--reference VAL_MASK_DIR] [--strict]
    python -m utils.submit score submission.zip --masks TEST_MASK_DIR      # data with masks (synthetic)
    python -m utils.submit CHECKPOINT --images DIR --out ZIP --edition 2025 [--solution]   # the 2025-26 rules

Under the 2025-26 rules (``leaderboard``; ``build_2025_submissions`` writes the dev-phase and the test-phase zip)
the zip holds ``masks/<stem>.png`` at its root and, for the test phase, ``solution/`` with a standalone ``run.py``
(``solution``: the network in plain PyTorch, its weights, the pinned requirements), which is run in a fresh
environment made from ``requirements.txt`` alone and must reproduce every mask before the zip is made (at most
0.01% of the pixels may differ, as float ties between the two implementations; the zip carries run.py's own masks).

``predict`` (the default action) writes one 8-bit palette PNG per test image (``100.jpg`` ->
``100.png``, same size, labels 0..18, CelebAMask colours) into ``<zip stem>_masks/``, then zips them
inside one folder and checks the zip before it is moved into place. It is resumable: each PNG is
written under a temporary name and renamed when complete, finished masks are kept on the next run
(``--overwrite`` predicts all again), and ``manifest.json`` in the masks folder records the
checkpoint (SHA-256) and TTA so that masks of two models are never mixed, and each image's size and
hash so that a mask is kept only for the very image it was predicted from. Unreadable images are
listed after all the others are predicted, and the run fails: a missing mask costs a submission.

It writes only into files it made: the manifest lists every PNG written and every zip moved into
place (path and SHA-256). A masks folder with other files (ground truth, a dataset's ``*_mask``) and a
file at ``--out`` that is not, byte for byte, the zip written there last time are refused whatever
the flags, ``--overwrite`` included, and the error names a free alternative.

What the checker fails and what it only warns about:

* FAIL (the scorer would reject the zip or mis-score it): not a zip / empty zip / corrupt entry;
  masks not in exactly one folder (files at the top level, nested folders, two folders); junk such
  as ``__MACOSX`` or ``.DS_Store``; a missing mask; an extra or wrongly named file; a file that is not
  a PNG; more than one channel (RGB: the scorer's ``np.array(Image.open(f))`` would be H x W x 3);
  a size other than the image's; values outside 0..18.
* WARN (a valid submission that would score badly; ``strict=True``/``--strict`` makes these fail):
  masks of a single class (e.g. all background), face classes that no mask predicts, a left/right
  pair where one side has almost vanished, and, given the val ground truth as ``reference``, classes
  whose pixel share fell below a tenth of the reference share. A smoke model trained for a few
  iterations predicts all background: its zip is still a well-formed submission, hence warnings.

Scoring uses the leaderboard's (and MMSeg's) formula: intersection and union per class summed over
the whole set, IoU = I / U, mIoU = mean over the classes with a non-empty union.
"""
from utils.submit.check import SubmissionReport, check_leaderboard_zip, check_submission, class_counts
from utils.submit.common import MANIFEST, SubmitError, default_masks_dir, list_images, mask_name, write_mask
from utils.submit.package import SubmissionCheckError, SubmissionResult, make_submission, offer_download, zip_masks
from utils.submit.leaderboard import LeaderboardZip, build_2025_submissions, build_leaderboard_zip
from utils.submit.predict import PredictResult, UnreadableImagesError, predict_folder
from utils.submit.preview import class_histogram, preview_grid
from utils.submit.score import ScoreResult, score_arrays, score_submission

__all__ = ['SubmissionReport', 'check_submission', 'class_counts', 'MANIFEST', 'SubmitError', 'default_masks_dir',
           'list_images', 'mask_name', 'write_mask', 'SubmissionCheckError', 'SubmissionResult', 'make_submission',
           'offer_download', 'zip_masks', 'PredictResult', 'UnreadableImagesError', 'predict_folder',
           'class_histogram', 'preview_grid', 'ScoreResult', 'score_arrays', 'score_submission',
           'check_leaderboard_zip', 'LeaderboardZip', 'build_2025_submissions', 'build_leaderboard_zip']
