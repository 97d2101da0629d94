"""Mixup / CutMix through timm's ``Mixup``, and the official MixPro switch schedule.

``ClassicMix`` is timm's ``Mixup`` (same keywords, same draws from ``np.random``, same reversed-
batch partner and smoothed targets) behind this package's mixer interface: it does not modify
its input, and it records the CutMix box of batch mode so that TransMix can relabel it.

``MixSchedule`` is the official MixPro training mix: each batch goes to MaskMix/MixPro with
probability ``maskmix_prob`` (0.5), else to timm Mixup/CutMix (α 0.8 / 1.0, switch 0.5), i.e.
50% MaskMix, 25% Mixup, 25% CutMix. Mixup/CutMix batches keep timm's area labels.
"""

from __future__ import annotations

from typing import Literal

import torch
from timm.data.mixup import Mixup, cutmix_bbox_and_lam

from mixpro.maskmix import MaskMix
from mixpro.mixer import (
    RandomSource,
    check_batch,
    check_label_smoothing,
    check_num_classes,
    check_probability,
    random_source,
)
from mixpro.pal import MixPro

Box = tuple[int, int, int, int]
MixKind = Literal["mixup", "cutmix", "none", "elementwise"]
MODES = ("batch", "pair", "elem")


def box_token_mask(
    box: Box, image_size: tuple[int, int], patch_size: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(N,) token mask of a CutMix box, 1 = token kept from the sample itself.

    TransMix's rule (``Mixup_transmix.transmix_label``): the H × W box mask is resized to the
    token grid with nearest-neighbour sampling, which reads the top-left pixel of each patch;
    a token counts as pasted when that pixel lies in the box. Approximate when the box edges cut
    through tokens, which CutMix boxes usually do.
    """
    height, width = image_size
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"patch_size {patch_size} does not divide the {height}x{width} image into whole tokens"
        )
    top, bottom, left, right = box
    rows = torch.arange(0, height, patch_size, device=device)
    cols = torch.arange(0, width, patch_size, device=device)
    in_rows = (rows >= top) & (rows < bottom)
    in_cols = (cols >= left) & (cols < right)
    pasted = in_rows.view(-1, 1) & in_cols.view(1, -1)
    return (~pasted).float().flatten()


class _BoxRecordingMixup(Mixup):
    """timm's ``Mixup`` that remembers the λ it drew and, in batch mode, the mix and CutMix box.

    ``_mix_batch`` is timm's own (timm 1.0 ``timm/data/mixup.py``) with the record added, as
    TransMix's ``Mixup_transmix`` does; the per-element modes are timm's, their λ kept.
    """

    last_kind: MixKind = "none"
    last_box: Box | None = None
    last_lam: float | torch.Tensor = 1.0

    def _mix_elem(self, x: torch.Tensor) -> torch.Tensor:
        lam: torch.Tensor = super()._mix_elem(x)
        self.last_lam = lam
        return lam

    def _mix_pair(self, x: torch.Tensor) -> torch.Tensor:
        lam: torch.Tensor = super()._mix_pair(x)
        self.last_lam = lam
        return lam

    def _mix_batch(self, x: torch.Tensor) -> float:
        self.last_kind, self.last_box, self.last_lam = "none", None, 1.0
        lam, use_cutmix = self._params_per_batch()
        if lam == 1.0:
            return 1.0
        if use_cutmix:
            (yl, yh, xl, xh), lam = cutmix_bbox_and_lam(
                x.shape, lam, ratio_minmax=self.cutmix_minmax, correct_lam=self.correct_lam
            )
            x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]
            self.last_kind, self.last_box = "cutmix", (int(yl), int(yh), int(xl), int(xh))
        else:
            x_flipped = x.flip(0).mul_(1.0 - lam)
            x.mul_(lam).add_(x_flipped)
            self.last_kind = "mixup"
        self.last_lam = float(lam)
        return lam


class ClassicMix:
    """Mixup and/or CutMix with timm's ``Mixup``; keywords as timm's (defaults: DeiT's 0.8 / 1.0).

    Args:
        patch_size: the ViT's patch size; when given, CutMix batches (batch mode) get a
            ``token_mask`` by TransMix's rule (:func:`box_token_mask`) and unmixed batches an
            all-ones mask.

    After a call: ``kind`` ("mixup", "cutmix", "none"; "elementwise" in pair/elem modes),
    ``box`` and ``pixel_mask`` (CutMix, batch mode), ``token_mask``, ``lam`` (B,),
    ``partner_index`` (B,, the reversed batch), ``target`` (B, K).
    """

    def __init__(
        self,
        num_classes: int,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        *,
        cutmix_minmax: tuple[float, float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        patch_size: int | None = None,
    ) -> None:
        who = type(self).__name__
        check_num_classes(num_classes, who)
        check_label_smoothing(label_smoothing, who)
        check_probability(prob, who, "prob")
        check_probability(switch_prob, who, "switch_prob")
        if mixup_alpha < 0 or cutmix_alpha < 0:
            raise ValueError(f"{who}: alphas must be >= 0; got {mixup_alpha}, {cutmix_alpha}")
        if mixup_alpha == 0 and cutmix_alpha == 0 and cutmix_minmax is None:
            raise ValueError(f"{who}: enable Mixup (mixup_alpha > 0) or CutMix (cutmix_alpha > 0)")
        if mode not in MODES:
            raise ValueError(f"{who}: mode must be one of {MODES}; got {mode!r}")
        if patch_size is not None and patch_size <= 0:
            raise ValueError(f"{who}: patch_size must be positive; got {patch_size}")
        if cutmix_minmax is not None and len(cutmix_minmax) != 2:
            raise ValueError(f"{who}: cutmix_minmax must be (min, max); got {cutmix_minmax}")
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.patch_size = patch_size
        self.mixup = _BoxRecordingMixup(
            mixup_alpha=mixup_alpha,
            cutmix_alpha=cutmix_alpha,
            cutmix_minmax=cutmix_minmax,
            prob=prob,
            switch_prob=switch_prob,
            mode=mode,
            correct_lam=correct_lam,
            label_smoothing=label_smoothing,
            num_classes=num_classes,
        )
        self.kind: MixKind | None = None
        self.box: Box | None = None
        self.pixel_mask: torch.Tensor | None = None
        self.token_mask: torch.Tensor | None = None
        self.lam: torch.Tensor | None = None
        self.partner_index: torch.Tensor | None = None
        self.target: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None

    @property
    def mode(self) -> str:
        return self.mixup.mode

    @property
    def needs_attention(self) -> bool:
        """Mixup and CutMix keep timm's area labels."""
        return False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        who = type(self).__name__
        check_batch(x, y, self.num_classes, who)
        batch_size, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        if batch_size % 2:
            raise ValueError(
                f"{who}: timm's Mixup pairs sample i with B-1-i and needs an even batch; got "
                f"B={batch_size} (use drop_last=True in the DataLoader)"
            )
        if self.patch_size and (height % self.patch_size or width % self.patch_size):
            raise ValueError(
                f"{who}: patch_size {self.patch_size} does not divide the {height}x{width} image"
            )
        x_mixed, target = self.mixup(x.clone(), y)
        lam = torch.as_tensor(self.mixup.last_lam, dtype=torch.float32, device=x.device)
        lam = lam.flatten().expand(batch_size).clone()

        self.kind = self.mixup.last_kind if self.mode == "batch" else "elementwise"
        self.box = self.mixup.last_box if self.kind == "cutmix" else None
        self.pixel_mask = self.token_mask = None
        if self.box is not None:
            top, bottom, left, right = self.box
            pixel_mask = torch.ones(1, 1, height, width, device=x.device)
            pixel_mask[..., top:bottom, left:right] = 0.0
            self.pixel_mask = pixel_mask.expand(batch_size, -1, -1, -1)
            if self.patch_size:
                mask = box_token_mask(self.box, (height, width), self.patch_size, x.device)
                self.token_mask = mask.expand(batch_size, -1)
        elif self.kind == "none" and self.patch_size:
            num_tokens = (height // self.patch_size) * (width // self.patch_size)
            self.token_mask = torch.ones(batch_size, num_tokens, device=x.device)
        self.lam = lam
        self.partner_index = torch.arange(batch_size - 1, -1, -1, device=x.device)
        self.labels = y
        self.target = target
        return x_mixed, target

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor:
        """Mixup/CutMix keep the area target (the same interface as MixPro and TransMix)."""
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}: call the mixer on a batch before relabel()")
        return self.target


class MixSchedule:
    """Official MixPro batch schedule: ``maskmix`` with probability ``maskmix_prob``, else
    ``classic`` (timm Mixup/CutMix). Attributes and ``relabel`` follow the branch of the last
    batch; ``used_maskmix`` says which it was."""

    def __init__(
        self,
        maskmix: MaskMix,
        classic: ClassicMix,
        maskmix_prob: float = 0.5,
        *,
        generator: RandomSource | None = None,
    ) -> None:
        check_probability(maskmix_prob, type(self).__name__, "maskmix_prob")
        if maskmix.num_classes != classic.num_classes:
            raise ValueError(
                f"MixSchedule: maskmix has {maskmix.num_classes} classes but classic has "
                f"{classic.num_classes}"
            )
        self.maskmix = maskmix
        self.classic = classic
        self.maskmix_prob = maskmix_prob
        self.generator = generator
        self.active: MaskMix | ClassicMix | None = None

    @classmethod
    def official(
        cls,
        num_classes: int,
        patch_size: int,
        mask_size: int,
        *,
        pal: bool = True,
        label_smoothing: float = 0.1,
        generator: RandomSource | None = None,
        **maskmix_options,
    ) -> MixSchedule:
        """The shipped recipe: MaskMix (α 1.0) with p 0.5, else Mixup 0.8 / CutMix 1.0 with
        switch 0.5, all smoothed by ``label_smoothing``; ``pal`` makes the MaskMix branch MixPro."""
        maskmix_type = MixPro if pal else MaskMix
        maskmix = maskmix_type(
            num_classes,
            patch_size,
            mask_size,
            alpha=1.0,
            label_smoothing=label_smoothing,
            generator=generator,
            **maskmix_options,
        )
        classic = ClassicMix(
            num_classes,
            mixup_alpha=0.8,
            cutmix_alpha=1.0,
            prob=1.0,
            switch_prob=0.5,
            mode="batch",
            label_smoothing=label_smoothing,
            patch_size=patch_size,
        )
        return cls(maskmix, classic, maskmix_prob=0.5, generator=generator)

    @property
    def num_classes(self) -> int:
        return self.maskmix.num_classes

    @property
    def used_maskmix(self) -> bool:
        return self.active is self.maskmix

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        draw = random_source(self.generator).random()
        self.active = self.maskmix if draw < self.maskmix_prob else self.classic
        return self.active(x, y)

    def _last(self) -> MaskMix | ClassicMix:
        if self.active is None:
            raise RuntimeError("MixSchedule: call the mixer on a batch first")
        return self.active

    @property
    def needs_attention(self) -> bool:
        return self.active is not None and self.active.needs_attention

    @property
    def token_mask(self) -> torch.Tensor | None:
        return None if self.active is None else self.active.token_mask

    @property
    def lam(self) -> torch.Tensor | None:
        return None if self.active is None else self.active.lam

    @property
    def partner_index(self) -> torch.Tensor | None:
        return None if self.active is None else self.active.partner_index

    @property
    def target(self) -> torch.Tensor | None:
        return None if self.active is None else self.active.target

    def relabel(self, logits: torch.Tensor, cls_attention: torch.Tensor | None) -> torch.Tensor:
        """PAL target on MixPro batches; the area target on every other batch."""
        return self._last().relabel(logits, cls_attention)
