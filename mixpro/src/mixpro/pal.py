"""Progressive Attention Labeling (PAL) and MixPro = MaskMix + PAL.

After the forward pass on the mixed batch, PAL replaces MaskMix's area label by
    λ_attn = Σ A·M / Σ A            (class-token attention of the last block on own tokens)
    α      = cos(softmax(logits), ỹ_area)   per sample, in [0, 1]
    λ      = α · λ_attn + (1 − α) · λ_area
    target = λ · smooth(y) + (1 − λ) · smooth(y_partner)
Early in training p is near uniform, α is small and the area label dominates; as the model fits
the mixed targets α grows and the label relies on attention.

Reproduced from the official code (fistyee/MixPro ``main.py``): α is measured against the
smoothed area target; the final target is not smoothed (``relabel_smoothing=0.0``); attention
is taken from the same forward pass on the mixed images.
Deliberate difference: α is computed from detached logits by default (as openmixup and the
third-party reproduction do), so the label weights carry no gradient; ``detach_factor=False``
reproduces the official behaviour, where gradients also flow through α into the target.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mixpro.labels import attention_share, check_attention, mix_targets
from mixpro.maskmix import MaskMix
from mixpro.mixer import Partner, RandomSource, check_label_smoothing


def progressive_factor(logits: torch.Tensor, area_target: torch.Tensor) -> torch.Tensor:
    """α = cos(softmax(logits), area target) per sample, (B,) in [0, 1] (both are non-negative)."""
    probabilities = logits.float().softmax(dim=-1)
    return F.cosine_similarity(probabilities, area_target.float(), dim=-1).clamp(0.0, 1.0)


def pal_lambda(
    cls_attention: torch.Tensor,
    token_mask: torch.Tensor,
    logits: torch.Tensor,
    area_target: torch.Tensor,
    lam_area: torch.Tensor,
    detach_factor: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (λ, λ_attn, α), each (B,): λ = α · λ_attn + (1 − α) · λ_area."""
    lam_attn = attention_share(cls_attention, token_mask)
    factor = progressive_factor(logits.detach() if detach_factor else logits, area_target)
    lam = factor * lam_attn + (1.0 - factor) * lam_area.float()
    return lam, lam_attn, factor


class MixPro(MaskMix):
    """MaskMix images with PAL labels. Arguments as :class:`MaskMix`, plus:

    Args:
        detach_factor: compute α from detached logits (default); False reproduces the official
            code, where the loss also back-propagates through α.
        relabel_smoothing: ε of the final PAL target (official 0.0: hard two-hot labels).

    After ``relabel``: ``lam_attn``, ``factor`` (α) and ``lam_pal`` (final λ), each (B,).
    Without attention (``cls_attention=None``: a model without a class token) ``relabel``
    returns the area target, as the official code does for Swin.
    """

    def __init__(
        self,
        num_classes: int,
        patch_size: int,
        mask_size: int,
        alpha: float = 1.0,
        label_smoothing: float = 0.1,
        *,
        per_sample_lam: bool = False,
        partner: Partner = "permutation",
        detach_factor: bool = True,
        relabel_smoothing: float = 0.0,
        img_size: int | tuple[int, int] | None = None,
        generator: RandomSource | None = None,
    ) -> None:
        super().__init__(
            num_classes,
            patch_size,
            mask_size,
            alpha,
            label_smoothing,
            per_sample_lam=per_sample_lam,
            partner=partner,
            img_size=img_size,
            generator=generator,
        )
        check_label_smoothing(relabel_smoothing, type(self).__name__, "relabel_smoothing")
        self.detach_factor = detach_factor
        self.relabel_smoothing = relabel_smoothing
        self.lam_attn: torch.Tensor | None = None
        self.factor: torch.Tensor | None = None
        self.lam_pal: torch.Tensor | None = None

    @property
    def needs_attention(self) -> bool:
        """PAL relabels every MaskMix batch from the class-token attention."""
        return True

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.lam_attn = self.factor = self.lam_pal = None
        return super().__call__(x, y)

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor:
        """PAL target for the last batch from its logits (B, K) and class-token attention (B, N)."""
        who = type(self).__name__
        if (
            self.target is None
            or self.labels is None
            or self.lam is None
            or self.partner_index is None
        ):
            raise RuntimeError(f"{who}: call the mixer on a batch before relabel()")
        if cls_attention is None:
            return self.target
        token_mask = check_attention(cls_attention, self.token_mask, who)
        if not isinstance(logits, torch.Tensor) or logits.shape != self.target.shape:
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise ValueError(
                f"{who}: logits must have shape {tuple(self.target.shape)} (batch, classes); "
                f"got {shape}"
            )
        lam, self.lam_attn, self.factor = pal_lambda(
            cls_attention, token_mask, logits, self.target, self.lam, self.detach_factor
        )
        self.lam_pal = lam
        return mix_targets(
            self.labels, self.partner_index, lam, self.num_classes, self.relabel_smoothing
        )
