"""MaskMix: mix two images with a patch-aligned grid mask, so every ViT token comes from one image.

Official behaviour (fistyee/MixPro ``utils.MaskMix``), reproduced by default:
  * one r ~ Beta(α, α) per batch; k = ⌈T·r⌉ of the T grid cells are kept from the sample itself,
    chosen uniformly per sample, so λ_area = k/T exactly;
  * the partner is a random permutation of the batch;
  * area target λ · smooth(y) + (1 − λ) · smooth(y_partner), smoothing as timm.
Options: ``per_sample_lam=True`` draws r per sample; ``partner="flip"`` pairs sample i with
B − 1 − i as timm does.

Deliberate fix: the official code crops a mask that overruns the image but still counts whole
cells, so λ_area is wrong (224 px with 64 px cells: mean error 0.029, worst 0.17). Here the mask
cell size must be a multiple of the patch size AND tile the image, else ``ValueError``, so the
pixel mask, the token mask and λ_area always agree.
"""

from __future__ import annotations

import numpy as np
import torch

from mixpro.labels import mix_targets
from mixpro.mixer import (
    PARTNERS,
    Partner,
    RandomSource,
    check_batch,
    check_label_smoothing,
    check_num_classes,
    choose_partner,
    random_source,
)


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def valid_mask_sizes(image_size: int | tuple[int, int], patch_size: int) -> list[int]:
    """Every cell size that is a multiple of ``patch_size`` and tiles the image."""
    height, width = _pair(image_size)
    return [
        size
        for size in range(patch_size, min(height, width) + 1, patch_size)
        if height % size == 0 and width % size == 0
    ]


def check_mask_geometry(
    image_size: int | tuple[int, int], patch_size: int, mask_size: int
) -> tuple[int, int]:
    """Return the cell grid (rows, cols), or raise ``ValueError`` saying which sizes would work."""
    height, width = _pair(image_size)
    if patch_size <= 0 or mask_size <= 0:
        raise ValueError(
            f"patch_size and mask_size must be positive; got {patch_size}, {mask_size}"
        )
    if mask_size % patch_size:
        raise ValueError(
            f"mask_size {mask_size} must be a multiple of patch_size {patch_size}, so that every "
            f"token lies inside one mask cell"
        )
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"patch_size {patch_size} does not divide the {height}x{width} image into whole tokens"
        )
    if height % mask_size or width % mask_size:
        raise ValueError(
            f"mask_size {mask_size} does not tile the {height}x{width} image (cropped edge cells "
            f"would make λ_area disagree with the visible area); valid sizes for patch "
            f"{patch_size}: {valid_mask_sizes((height, width), patch_size)}"
        )
    return height // mask_size, width // mask_size


def kept_cell_counts(ratio: np.ndarray, num_cells: int) -> np.ndarray:
    """k = ⌈T·r⌉ cells kept from the sample itself (official rule), clipped to [0, T]."""
    return np.clip(np.ceil(num_cells * np.asarray(ratio, dtype=np.float64)), 0, num_cells).astype(
        np.int64
    )


def random_cell_grid(kept: np.ndarray, grid: tuple[int, int], rng) -> torch.Tensor:
    """(B, rows, cols) float 0/1 grid with exactly ``kept[b]`` ones in row b, placed uniformly."""
    rows, cols = grid
    ranks = rng.random((len(kept), rows * cols)).argsort(axis=1).argsort(axis=1)
    cells = ranks < np.asarray(kept).reshape(-1, 1)
    return torch.from_numpy(cells.reshape(len(kept), rows, cols).astype(np.float32))


def cells_to_pixels(cells: torch.Tensor, mask_size: int) -> torch.Tensor:
    """Cell grid (B, rows, cols) -> pixel mask (B, 1, rows·s_m, cols·s_m)."""
    pixels = cells.repeat_interleave(mask_size, dim=1).repeat_interleave(mask_size, dim=2)
    return pixels.unsqueeze(1)


def cells_to_tokens(cells: torch.Tensor, tokens_per_cell: int) -> torch.Tensor:
    """Cell grid (B, rows, cols) -> token mask (B, rows·c · cols·c), row-major as timm's
    patch embedding flattens the token grid."""
    tokens = cells.repeat_interleave(tokens_per_cell, dim=1).repeat_interleave(
        tokens_per_cell, dim=2
    )
    return tokens.flatten(1)


class MaskMix:
    """MaskMix with area labels (MixPro without PAL).

    Args:
        num_classes: number of classes K of the soft target.
        patch_size: the ViT's patch size in pixels.
        mask_size: mask-cell side in pixels; a multiple of ``patch_size`` that tiles the image.
        alpha: Beta(α, α) parameter of the mixing ratio (official 1.0).
        label_smoothing: ε of the area target, as timm (official 0.1).
        per_sample_lam: draw the ratio per sample instead of once per batch (official: per batch).
        partner: "permutation" (official) or "flip" (timm's reversed batch).
        img_size: optional image size, to reject a bad geometry at construction.
        generator: numpy Generator for the draws; None uses the global ``np.random``.

    Calling it never modifies ``x``. After a call: ``token_mask`` (B, N), ``pixel_mask``
    (B, 1, H, W), ``lam`` (B,) own-area share, ``partner_index`` (B,), ``target`` (B, K).
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
        img_size: int | tuple[int, int] | None = None,
        generator: RandomSource | None = None,
    ) -> None:
        who = type(self).__name__
        check_num_classes(num_classes, who)
        check_label_smoothing(label_smoothing, who)
        if not alpha > 0:
            raise ValueError(f"{who}: alpha must be > 0; got {alpha}")
        if partner not in PARTNERS:
            raise ValueError(f"{who}: partner must be one of {PARTNERS}; got {partner!r}")
        if patch_size <= 0 or mask_size <= 0 or mask_size % patch_size:
            raise ValueError(
                f"{who}: mask_size {mask_size} must be a positive multiple of patch_size "
                f"{patch_size}, so that every token lies inside one mask cell"
            )
        if img_size is not None:
            check_mask_geometry(img_size, patch_size, mask_size)
        self.num_classes = num_classes
        self.patch_size = patch_size
        self.mask_size = mask_size
        self.alpha = alpha
        self.label_smoothing = label_smoothing
        self.per_sample_lam = per_sample_lam
        self.partner = partner
        self.generator = generator
        self.token_mask: torch.Tensor | None = None
        self.pixel_mask: torch.Tensor | None = None
        self.lam: torch.Tensor | None = None
        self.partner_index: torch.Tensor | None = None
        self.target: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None

    @property
    def needs_attention(self) -> bool:
        """MaskMix keeps its area labels, so it never needs attention."""
        return False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        who = type(self).__name__
        check_batch(x, y, self.num_classes, who)
        try:
            grid = check_mask_geometry((x.shape[-2], x.shape[-1]), self.patch_size, self.mask_size)
        except ValueError as error:
            raise ValueError(f"{who}: {error}") from None
        rng = random_source(self.generator)
        batch_size = x.shape[0]
        num_cells = grid[0] * grid[1]
        ratio = rng.beta(self.alpha, self.alpha, size=batch_size if self.per_sample_lam else 1)
        kept = kept_cell_counts(np.broadcast_to(ratio, (batch_size,)), num_cells)
        cells = random_cell_grid(kept, grid, rng).to(x.device)
        partner_index = choose_partner(batch_size, self.partner, rng, x.device)

        pixel_mask = cells_to_pixels(cells, self.mask_size)
        x_mixed = torch.where(pixel_mask.bool(), x, x[partner_index])
        lam = torch.from_numpy(kept / num_cells).float().to(x.device)

        self.pixel_mask = pixel_mask
        self.token_mask = cells_to_tokens(cells, self.mask_size // self.patch_size)
        self.lam = lam
        self.partner_index = partner_index
        self.labels = y
        self.target = mix_targets(y, partner_index, lam, self.num_classes, self.label_smoothing)
        return x_mixed, self.target

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor:
        """MaskMix keeps the area target (the same interface as MixPro and TransMix)."""
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}: call the mixer on a batch before relabel()")
        return self.target
