"""Decode heads of the 2025-26 recipes that MMSeg's own need adapting for: registered with MMSeg (custom_imports)."""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads import LRASPPHead
from mmseg.registry import MODELS


class ClampedAvgPool2d(nn.Module):
    """``AvgPool2d(kernel_size, stride)`` whose window shrinks to the feature map when the map is smaller."""

    def __init__(self, kernel_size: int, stride: tuple[int, int]) -> None:
        super().__init__()
        self.kernel_size, self.stride = int(kernel_size), tuple(stride)

    def forward(self, x):
        kernel = (min(self.kernel_size, x.shape[-2]), min(self.kernel_size, x.shape[-1]))
        return F.avg_pool2d(x, kernel, self.stride)


@MODELS.register_module()
class AnySizeLRASPPHead(LRASPPHead):
    """MMSeg's Lite R-ASPP head with its image pooling (a 49 x 49 window, stride 16 x 20, tuned for Cityscapes'
    1024 x 2048 crops) clamped to the feature map: identical at 512 x 512 (a 64 x 64 map at output stride 8), and
    it also runs on the 64 px smoke inputs (an 8 x 8 map), where MMSeg's fixed window fails. No parameters change."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        pool = self.image_pool[0]
        self.image_pool[0] = ClampedAvgPool2d(pool.kernel_size, pool.stride)
