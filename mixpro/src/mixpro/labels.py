"""Soft labels of a mixed batch: smoothed two-hot targets and the attention share of a mask.

Every mixer describes a mixed sample by its own label y, its partner's label y[partner] and
λ, the share that belongs to the sample itself; the target is
λ · smooth(y) + (1 − λ) · smooth(y[partner]) with timm's smoothing (off ε/K, on 1 − ε + ε/K).
"""

from __future__ import annotations

import torch


def smooth_one_hot(y: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """One-hot rows (float32) smoothed as timm does: off ε/K, on 1 − ε + ε/K."""
    off_value = smoothing / num_classes
    on_value = 1.0 - smoothing + off_value
    target = torch.full((y.shape[0], num_classes), off_value, device=y.device)
    return target.scatter_(1, y.long().view(-1, 1), on_value)


def mix_targets(
    y: torch.Tensor,
    partner_index: torch.Tensor,
    lam: torch.Tensor,
    num_classes: int,
    smoothing: float = 0.0,
) -> torch.Tensor:
    """λ · smooth(y) + (1 − λ) · smooth(y[partner]), λ of shape (B,); keeps λ's autograd graph."""
    own = smooth_one_hot(y, num_classes, smoothing)
    lam = lam.to(own.dtype).view(-1, 1)
    return lam * own + (1.0 - lam) * own[partner_index]


def check_attention(
    cls_attention: torch.Tensor, token_mask: torch.Tensor | None, who: str
) -> torch.Tensor:
    """Validate a (B, N_tokens) attention against the batch's token mask; return the mask."""
    if token_mask is None:
        raise RuntimeError(f"{who}: no token mask; call the mixer on a batch before relabel()")
    if not isinstance(cls_attention, torch.Tensor) or cls_attention.shape != token_mask.shape:
        shape = (
            tuple(cls_attention.shape)
            if isinstance(cls_attention, torch.Tensor)
            else type(cls_attention).__name__
        )
        raise ValueError(
            f"{who}: cls_attention must have the token mask's shape {tuple(token_mask.shape)} "
            f"(batch, patch tokens; class/register tokens dropped); got {shape}"
        )
    return token_mask


def attention_share(cls_attention: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
    """λ_attn = Σ A·M / Σ A per sample: the class token's attention mass on the sample's own
    tokens, normalised over patch tokens (as MixPro and TransMix do). (B,) float32; a row with no
    attention mass at all gets 0."""
    attention = cls_attention.float()
    own = (attention * token_mask.to(attention.dtype)).sum(dim=1)
    total = attention.sum(dim=1).clamp_min(torch.finfo(torch.float32).tiny)
    return own / total
