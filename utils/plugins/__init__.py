"""Floor 2, what the configs' ``custom_imports`` register with MMSeg and MMEngine (imports ``base`` and ``core``).

``dataset`` (the CelebAMask dataset class), ``transforms`` (the left/right-swapping flip, label checks), ``losses``,
``schedules``, ``heads``, ``val_metric`` (the per-image F as an MMEngine metric), ``live`` (progress bar and live
curves), ``checkpoint_hook`` (a failed save keeps the previous best) and ``record`` (what a stage keeps for the
report).
"""
