"""Class-token attention of a timm ViT's last block, captured while the model keeps fused attention.

timm's ``Attention`` calls ``F.scaled_dot_product_attention`` and never materialises attention
weights, so hooks on ``attn_drop`` see nothing. Instead, a forward hook on the last block's
``qkv`` projection recomputes only the class-token row, softmax(q_cls · kᵀ · scale) over all
tokens, applying ``q_norm``/``k_norm`` and any attention mask as timm's ``Attention`` does. That
costs O(B·heads·N·d) beside the fused O(B·heads·N²·d) block and leaves every logit unchanged.

The result is averaged over heads and keeps the patch columns only (class, register and
distillation tokens dropped), not renormalised, as in the MixPro and TransMix code.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import torch
from torch import nn

_WARNED_MODEL_TYPES: set[str] = set()


class ClsAttentionCapture:
    """Holds the last captured attention: ``attention`` (B, N_patches), or None when the model has
    no class token driving its prediction (``supported`` False, ``reason`` says why)."""

    def __init__(self, supported: bool, reason: str | None = None) -> None:
        self.supported = supported
        self.reason = reason
        self.attention: torch.Tensor | None = None


_COMPILED_HINT = (
    "hooks added to a torch.compile'd model do not run inside its compiled graph; run the "
    "forward passes that need attention on the uncompiled model"
)


def _unwrap(model: nn.Module) -> nn.Module:
    """The ViT inside (Distributed)DataParallel wrappers; compiled models are refused."""
    while isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
        model = model.module
    if isinstance(getattr(model, "_orig_mod", None), nn.Module):
        raise TypeError(f"capture_cls_attention: {_COMPILED_HINT}")
    return model


def _unsupported_reason(vit: nn.Module) -> str | None:
    if getattr(vit, "cls_token", None) is None:
        return "has no class token"
    blocks = getattr(vit, "blocks", None)
    if not isinstance(blocks, nn.Sequential | nn.ModuleList) or len(blocks) == 0:
        return "has no `blocks` sequence of transformer blocks"
    pool = getattr(vit, "global_pool", "token")
    if pool != "token" or getattr(vit, "attn_pool", None) is not None:
        return f"pools with {pool!r}, so its class token does not drive the prediction"
    return None


def _last_attention(vit: nn.Module) -> nn.Module:
    # _unsupported_reason has checked that ``blocks`` is a non-empty Sequential or ModuleList.
    blocks = cast("nn.Sequential | nn.ModuleList", vit.blocks)
    attention = getattr(blocks[-1], "attn", None)
    qkv = getattr(attention, "qkv", None)
    num_heads = getattr(attention, "num_heads", None)
    if (
        not isinstance(attention, nn.Module)
        or not isinstance(qkv, nn.Linear)
        or not isinstance(num_heads, int)
    ):
        raise TypeError(
            f"capture_cls_attention: the last block of {type(vit).__name__} has no timm-style "
            f"attention (`attn.qkv` Linear and `attn.num_heads`); got "
            f"{type(attention).__name__}"
        )
    if qkv.out_features % (3 * num_heads):
        raise TypeError(
            f"capture_cls_attention: qkv width {qkv.out_features} is not 3 × num_heads "
            f"({num_heads}) × head_dim"
        )
    return attention


def cls_attention_from_qkv(
    qkv_out: torch.Tensor,
    attention: nn.Module,
    num_prefix_tokens: int,
    attn_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Class-token row of ``attention``'s softmax from its ``qkv`` output (B, N, 3·H·d), averaged
    over heads, patch columns only: (B, N − num_prefix_tokens), float32."""
    batch, tokens, _ = qkv_out.shape
    # timm's Attention: ``num_heads`` int, ``q_norm``/``k_norm`` modules (Identity or norms).
    heads = cast(int, attention.num_heads)
    q_norm = cast(nn.Module, attention.q_norm)
    k_norm = cast(nn.Module, attention.k_norm)
    head_dim = qkv_out.shape[-1] // (3 * heads)
    qkv = qkv_out.reshape(batch, tokens, 3, heads, head_dim)
    query = q_norm(qkv[:, :1, 0].transpose(1, 2))  # (B, H, 1, d)
    keys = k_norm(qkv[:, :, 1].transpose(1, 2))  # (B, H, N, d)
    scale = getattr(attention, "scale", head_dim**-0.5)
    with torch.autocast(device_type=qkv_out.device.type, enabled=False):
        scores = (query.float() * scale) @ keys.float().transpose(-2, -1)  # (B, H, 1, N)
        if attn_mask is not None:
            row = attn_mask[..., :1, :]
            if row.dtype == torch.bool:
                row = torch.zeros_like(row, dtype=scores.dtype).masked_fill(~row, float("-inf"))
            scores = scores + row.to(scores.dtype)
        weights = scores.softmax(dim=-1)
    return weights.mean(dim=1)[:, 0, num_prefix_tokens:]


@contextmanager
def capture_cls_attention(
    model: nn.Module, *, enabled: bool = True, detach: bool = True
) -> Iterator[ClsAttentionCapture]:
    """Capture the class-token attention of ``model``'s last block during the forward passes run
    inside the ``with``::

        with capture_cls_attention(model) as cap:
            logits = model(x)
        cap.attention  # (B, N_patches), mean over heads

    Args:
        enabled: False captures nothing (``cap.attention`` stays None), so a training loop can
            pass ``enabled=mixer.needs_attention`` and keep one code path.
        detach: compute the labels' attention without autograd (default); False keeps the graph.

    A model without a class token (Swin, average-pooled ViTs) yields ``attention=None`` and a
    one-time warning; mixers then keep their area labels. A model with a class token but
    non-timm attention, or a ``torch.compile``'d one, raises ``TypeError``; a with-block in
    which the last block never ran raises ``RuntimeError``, so a silently missed capture cannot
    turn MixPro into MaskMix.
    """
    vit = _unwrap(model)
    reason = _unsupported_reason(vit)
    if reason is not None:
        model_type = type(vit).__name__
        if enabled and model_type not in _WARNED_MODEL_TYPES:
            _WARNED_MODEL_TYPES.add(model_type)
            warnings.warn(
                f"capture_cls_attention: {model_type} {reason}; MixPro and TransMix fall back "
                f"to area labels for this model",
                stacklevel=3,
            )
        yield ClsAttentionCapture(supported=False, reason=reason)
        return
    capture = ClsAttentionCapture(supported=True)
    if not enabled:
        yield capture
        return

    attention = _last_attention(vit)
    num_prefix_tokens = int(getattr(vit, "num_prefix_tokens", 1))
    call_mask: dict[str, torch.Tensor | None] = {"attn_mask": None}

    def remember_mask(module: nn.Module, args: tuple, kwargs: dict) -> None:
        mask = kwargs.get("attn_mask", args[1] if len(args) > 1 else None)
        if kwargs.get("is_causal", False):
            raise ValueError("capture_cls_attention: causal attention is not supported")
        call_mask["attn_mask"] = mask

    def capture_row(module: nn.Module, args: tuple, qkv_out: torch.Tensor) -> None:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not detach):
            capture.attention = cls_attention_from_qkv(
                qkv_out, attention, num_prefix_tokens, call_mask["attn_mask"]
            )

    handles = [
        attention.register_forward_pre_hook(remember_mask, with_kwargs=True),
        cast(nn.Linear, attention.qkv).register_forward_hook(capture_row),
    ]
    try:
        yield capture
    finally:
        for handle in handles:
            handle.remove()
    if capture.attention is None:
        raise RuntimeError(
            f"capture_cls_attention: the last block of {type(vit).__name__} did not run inside "
            f"the with-block; run the model's forward pass there ({_COMPILED_HINT})"
        )
