"""celebamask-parsing helpers: data, training, evaluation and submission for CelebAMask-HQ face parsing.

Importing this package installs the mmcv-lite compatibility shim (see ``utils.compat``)
so that MMSegmentation imports cleanly wherever ``utils`` is imported first.
"""
from . import compat as _compat

_compat.install()
