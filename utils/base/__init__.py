"""Floor 0, the ground every other package stands on: facts and input/output with no MMSeg in them.

``labels`` (the 19 classes, colours, left/right pairs, ``REPO_ROOT``), ``edition`` (the course's rules by edition),
``layout`` (the dataset's folders, ``KnownError`` and the atomic writes), ``places`` (Colab's disk, Drive, the trust
key), ``imageio`` (the one image reader and the one label-mask reader), ``copycheck`` (a code copy against its
manifest; standard library only, run by path from ``bootstrap.py``), ``trust`` (work_dir markers, the ledger of
checkpoint hashes, the training lock), ``report`` (messages, checks and storage errors), ``parallel``.
"""
