"""Floor 1, the library the steps are made of (imports ``utils.base`` only).

``config`` (resolve and load configs, smoke scaling, recipes), ``model`` (build the segmentor, count parameters),
``checkpoints`` (safe loading: full unpickling only of bytes training recorded; ``open_checkpoint``), ``inference``
(the ``Segmenter``: prediction with TTA and class biases), ``metrics`` (mIoU and the leaderboard's per-image F),
``stats`` (class counts and weights), ``weights`` and ``pretrained`` (every way weights enter a run), ``rules``
(the 2025-26 guard), ``bias`` and ``class_bias`` (per-class decoding biases), ``trends`` (what the curves say),
``env``, ``viz``, ``synthetic``, ``compat`` (the mmcv-lite shim).
"""
