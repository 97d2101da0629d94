"""The contract every mixer in this package follows, and the batch checks they share.

A mixer is called once per training batch, ``x_mixed, target = mixer(x, y)``, and keeps
what it did on itself so that a training loop can relabel after the forward pass::

    x, target = mixer(x, y)
    with capture_cls_attention(model, enabled=mixer.needs_attention) as cap:
        logits = model(x)
    target = mixer.relabel(logits, cap.attention)
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

Partner = Literal["permutation", "flip"]
PARTNERS: tuple[str, ...] = ("permutation", "flip")

RandomSource = np.random.Generator
"""Draws come from this generator when one is given, else from numpy's global ``np.random``
(the source timm's ``Mixup`` uses, so one ``np.random.seed`` makes a run repeatable)."""


@runtime_checkable
class Mixer(Protocol):
    """What a training loop may rely on.

    After ``mixer(x, y)``:
      * ``token_mask``: (B, N_tokens) float, 1 where the token comes from the sample itself
        (row-major over the token grid), or None for mixes without one (Mixup);
      * ``lam``: (B,) float, the share of each sample's own image by area;
      * ``target``: (B, num_classes) area target (soft labels summing to 1);
      * ``needs_attention``: whether ``relabel`` will use class-token attention for this batch.
    """

    token_mask: torch.Tensor | None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    @property
    def needs_attention(self) -> bool: ...

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor: ...


def random_source(generator: RandomSource | None):
    """The generator to draw from: the given one, else numpy's global state."""
    return np.random if generator is None else generator


def check_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, who: str) -> None:
    """Reject anything but float images (B, C, H, W) with int64 labels (B,) in range."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who}: x must be a float tensor (B, C, H, W); got {shape}")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype != torch.int64:
        desc = (tuple(y.shape), y.dtype) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{who}: y must be an int64 tensor of class indices (B,); got {desc}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{who}: x has {x.shape[0]} images but y has {y.shape[0]} labels")
    # Range check on CPU labels only: on an accelerator it would force a device sync per batch.
    if y.numel() and y.device.type == "cpu" and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{who}: labels must lie in [0, {num_classes}); got min {int(y.min())}, "
            f"max {int(y.max())}"
        )


def check_num_classes(num_classes: int, who: str) -> None:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"{who}: num_classes must be an int >= 2; got {num_classes!r}")


def check_label_smoothing(label_smoothing: float, who: str, name: str = "label_smoothing") -> None:
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"{who}: {name} must lie in [0, 1); got {label_smoothing}")


def check_probability(value: float, who: str, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{who}: {name} must lie in [0, 1]; got {value}")


def choose_partner(
    batch_size: int, partner: Partner, rng, device: torch.device | str
) -> torch.Tensor:
    """Index of each sample's partner: a random permutation (official MixPro) or the reversed
    batch (timm, TransMix). Under a shuffling loader both are equal in distribution."""
    if partner == "flip":
        return torch.arange(batch_size - 1, -1, -1, device=device)
    return torch.as_tensor(rng.permutation(batch_size), dtype=torch.long, device=device)
