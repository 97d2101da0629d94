"""TransMix (Chen et al., CVPR 2022) as a baseline: timm Mixup/CutMix, CutMix batches relabeled by
class-token attention.

Reproduced from the official code (Beckschen/TransMix ``transmix.py``): batch mode only; the
partner is the reversed batch; on CutMix batches
    λ_area = 1 − box area / (H·W)           (the sample's own share)
    λ_attn = Σ A·M / Σ A                    (M: TransMix's nearest-neighbour token mask of the box)
    λ      = (λ_area + λ_attn) / 2          (the code's and paper §4.1's mean, issue #7)
    target = λ · smooth(y) + (1 − λ) · smooth(y_partner)
Mixup batches are not relabeled: ``relabel`` returns timm's area target.
"""

from __future__ import annotations

import torch

from mixpro.classic import ClassicMix
from mixpro.labels import attention_share, check_attention, mix_targets


class TransMix(ClassicMix):
    """timm Mixup/CutMix (batch mode) with TransMix relabeling of CutMix batches.

    Args: as :class:`ClassicMix` (``patch_size`` required, ``mode`` fixed to "batch").
    After ``relabel`` on a CutMix batch: ``lam_attn`` and ``lam_transmix``, each (B,).
    """

    def __init__(
        self,
        num_classes: int,
        patch_size: int,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        *,
        cutmix_minmax: tuple[float, float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
    ) -> None:
        if not isinstance(patch_size, int) or patch_size <= 0:
            raise ValueError(f"TransMix: patch_size must be a positive int; got {patch_size!r}")
        super().__init__(
            num_classes,
            mixup_alpha,
            cutmix_alpha,
            cutmix_minmax=cutmix_minmax,
            prob=prob,
            switch_prob=switch_prob,
            mode="batch",
            correct_lam=correct_lam,
            label_smoothing=label_smoothing,
            patch_size=patch_size,
        )
        self.lam_attn: torch.Tensor | None = None
        self.lam_transmix: torch.Tensor | None = None

    @property
    def needs_attention(self) -> bool:
        """True after a CutMix batch: only those are relabeled."""
        return self.kind == "cutmix"

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.lam_attn = self.lam_transmix = None
        return super().__call__(x, y)

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor:
        """TransMix target on a CutMix batch; the area target on Mixup/unmixed batches or when
        there is no attention (a model without a class token)."""
        if self.target is None or self.labels is None or self.partner_index is None:
            raise RuntimeError("TransMix: call the mixer on a batch before relabel()")
        if self.kind != "cutmix" or cls_attention is None:
            return self.target
        # ClassicMix.__call__ records the box and its pixel mask on every CutMix batch.
        assert self.box is not None and self.pixel_mask is not None
        token_mask = check_attention(cls_attention, self.token_mask, "TransMix")
        top, bottom, left, right = self.box
        height, width = self.pixel_mask.shape[-2:]
        lam_area = 1.0 - (bottom - top) * (right - left) / (height * width)
        self.lam_attn = attention_share(cls_attention, token_mask)
        lam = (lam_area + self.lam_attn) / 2.0
        self.lam_transmix = lam
        return mix_targets(
            self.labels, self.partner_index, lam, self.num_classes, self.label_smoothing
        )
