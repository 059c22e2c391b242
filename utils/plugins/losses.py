"""The seed report's cross-entropy, as MMSegmentation 0.x computed it, registered for MMSeg 1.x configs.

MMSeg 0.22 (the report's version) averaged the class-weighted per-pixel loss over *all* pixels of
the batch. MMSeg 1.x's ``CrossEntropyLoss`` divides instead by the summed class weights of the
labels, which rescales the loss by the label mix (about x1.135 on faces with the seed's weights,
i.e. a different effective LR), and it raises ``IndexError`` on the ignore label 255 whenever
class weights are set (upstream issues #3734 / #3831). :class:`PixelMeanCrossEntropyLoss` is::

    loss = mean over every pixel p of  class_weight[label_p] * pixel_weight_p * CE(logits_p, label_p)

with ``pixel_weight`` the OHEM sampler's keep mask (1 elsewhere) and pixels labelled 255 counted in the
mean with a loss of 0, exactly as 0.22 did (``avg_non_ignore=True`` divides by the non-ignored count).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmseg.registry import MODELS


@MODELS.register_module()
class PixelMeanCrossEntropyLoss(nn.Module):
    """Class-weighted softmax cross-entropy averaged over all pixels (MMSeg 0.x), never crashing on 255."""

    def __init__(self, class_weight: Sequence[float] | None = None, loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce', avg_non_ignore: bool = False, use_sigmoid: bool = False,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if use_sigmoid:
            raise ValueError('PixelMeanCrossEntropyLoss is the softmax loss of the seed; use_sigmoid must be False.')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if class_weight is not None and (isinstance(class_weight, str) or not all(
                isinstance(w, (int, float)) for w in class_weight)):
            raise TypeError('class_weight must be a list of numbers (resolve data-derived weights such as '
                            "'inv_sqrt' with utils.train.resolve_class_weights before building the model).")
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.loss_weight = float(loss_weight)
        self.avg_non_ignore = bool(avg_non_ignore)
        self.reduction = reduction
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """The key MMSeg logs this loss under (``decode.loss_ce``)."""
        return self._loss_name

    def extra_repr(self) -> str:
        return f'class_weight={self.class_weight}, avg_non_ignore={self.avg_non_ignore}'

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None,
                ignore_index: int = 255, **kwargs) -> torch.Tensor:
        """``cls_score`` N x C x H x W logits, ``label`` N x H x W, ``weight`` N x H x W pixel weights (OHEM)."""
        reduction = reduction_override or self.reduction
        cw = None
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(f'class_weight has {len(self.class_weight)} entries but the head predicts '
                                 f'{cls_score.shape[1]} classes.')
            cw = cls_score.new_tensor(self.class_weight, dtype=torch.float32)
        loss = F.cross_entropy(cls_score.float(), label.long(), weight=cw, reduction='none',
                               ignore_index=ignore_index)
        if weight is not None:
            loss = loss * weight.float()
        if reduction == 'none':
            out = loss
        elif reduction == 'sum':
            out = loss.sum()
        else:
            if avg_factor is None:
                avg_factor = (label != ignore_index).sum().clamp_min(1) if self.avg_non_ignore else label.numel()
            out = loss.sum() / avg_factor
        return self.loss_weight * out
