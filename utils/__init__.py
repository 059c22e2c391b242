"""celebamask-parsing helpers: data, training, evaluation and submission for CelebAMask-HQ face parsing.

Importing this package installs the mmcv-lite compatibility shim (see ``utils.core.compat``)
so that MMSegmentation imports cleanly wherever ``utils`` is imported first.
"""
from utils.core import compat as _compat

_compat.install()
