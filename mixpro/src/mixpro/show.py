"""``mixpro show``: one PNG of real images under each mixer, with its mask and λ, for the README.

Rows: Mixup, CutMix (pixel box), TransMix (the same box as TransMix sees it at token level),
MaskMix with the official per-batch λ, MaskMix with per-sample λ. Each image is followed by its
mask: white = pixels/tokens of the image itself, black = the partner's. Images are CIFAR-10 test
images, or scikit-learn's digits (upsampled to 32×32 RGB) when CIFAR-10 is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mixpro.classic import ClassicMix
from mixpro.maskmix import MaskMix
from mixpro.transmix import TransMix

CIFAR10_PREVIEW_SHARD = "cifar10-test-0.tar.gz"


@dataclass
class PreviewImages:
    images: torch.Tensor  # (B, 3, H, W) float in [0, 1]
    labels: torch.Tensor  # (B,) int64
    class_names: tuple[str, ...]
    source: str  # where the images came from, for the figure and the CLI


@dataclass
class MixerRow:
    title: str
    mixed: torch.Tensor  # (B, 3, H, W)
    mask: torch.Tensor | None  # (B, h, w): pixel or token grid, 1 = own image
    lam: torch.Tensor  # (B,)
    partner_index: torch.Tensor  # (B,)
    note: list[str] | None = None  # extra caption line per image


def load_cifar10_preview(data_dir: str | None, count: int) -> PreviewImages | None:
    """The first ``count`` CIFAR-10 test images (classes interleaved, so 0, 1, 2, ...), or None
    when the shard is absent."""
    from mixpro.data import CIFAR10_CLASSES, cifar10_dir, read_shards

    shard = cifar10_dir(data_dir) / CIFAR10_PREVIEW_SHARD
    if not shard.is_file():
        return None
    images, labels = [], []
    for image, label in read_shards([shard]):
        images.append(
            torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
        )
        labels.append(label)
        if len(images) == count:
            break
    return PreviewImages(
        torch.stack(images), torch.tensor(labels), CIFAR10_CLASSES, f"CIFAR-10 test ({shard})"
    )


def load_digits_preview(count: int) -> PreviewImages:
    """scikit-learn's bundled 8×8 digits, upsampled ×4 to 32×32 RGB (no download needed)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = torch.from_numpy(digits.images[:count].astype(np.float32) / 16.0)
    images = gray.repeat_interleave(4, dim=1).repeat_interleave(4, dim=2)
    images = images.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
    labels = torch.from_numpy(digits.target[:count].astype(np.int64))
    names = tuple(str(digit) for digit in range(10))
    return PreviewImages(images, labels, names, "scikit-learn digits (CIFAR-10 not found)")


def load_preview_images(data_dir: str | None, count: int) -> PreviewImages:
    return load_cifar10_preview(data_dir, count) or load_digits_preview(count)


def mix_rows(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    patch_size: int = 4,
    mask_size: int = 8,
    seed: int = 0,
) -> list[MixerRow]:
    """Apply each mixer to the same batch with fixed seeds and keep what the figure shows."""
    rows: list[MixerRow] = []

    def run(mixer, seed_offset: int):
        np.random.seed(seed + seed_offset)
        mixed, _ = mixer(images, labels)
        return mixed

    mixup = ClassicMix(num_classes, mixup_alpha=0.8, cutmix_alpha=0.0, patch_size=patch_size)
    mixed = run(mixup, 0)
    assert mixup.lam is not None and mixup.partner_index is not None  # set by the call
    rows.append(MixerRow("Mixup (timm, α 0.8)", mixed, None, mixup.lam, mixup.partner_index))

    # A CutMix draw can give an empty or whole-image box; redraw until the box shows.
    cutmix = ClassicMix(num_classes, mixup_alpha=0.0, cutmix_alpha=1.0, patch_size=patch_size)
    box_offset = 1
    mixed = run(cutmix, box_offset)
    assert cutmix.lam is not None and cutmix.partner_index is not None  # set by every call
    while not 0.3 < float(cutmix.lam[0]) < 0.7 and box_offset < 100:
        box_offset += 1
        mixed = run(cutmix, box_offset)
    assert cutmix.pixel_mask is not None  # CutMix-only with prob 1.0: every batch has a box
    rows.append(
        MixerRow(
            "CutMix (timm, α 1.0)",
            mixed,
            cutmix.pixel_mask[:, 0],
            cutmix.lam,
            cutmix.partner_index,
        )
    )

    transmix = TransMix(num_classes, patch_size, mixup_alpha=0.0, cutmix_alpha=1.0)
    mixed = run(transmix, box_offset)  # the CutMix row's draw: same box, seen per token
    # TransMix has a patch size, so CutMix and unmixed batches both record a token mask.
    assert transmix.token_mask is not None
    assert transmix.lam is not None and transmix.partner_index is not None
    side = images.shape[-1] // patch_size
    token_share = transmix.token_mask.mean(dim=1)
    rows.append(
        MixerRow(
            "TransMix token mask\n(same box, nearest)",
            mixed,
            transmix.token_mask.view(-1, side, side),
            transmix.lam,
            transmix.partner_index,
            [f"tokens {share:.2f}" for share in token_share.tolist()],
        )
    )

    for title, per_sample in (
        (f"MaskMix {mask_size} px cells\n(one λ per batch)", False),
        (f"MaskMix {mask_size} px cells\n(per-sample λ)", True),
    ):
        maskmix = MaskMix(
            num_classes,
            patch_size,
            mask_size,
            per_sample_lam=per_sample,
            generator=np.random.default_rng(seed + 2 + per_sample),
        )
        mixed = run(maskmix, 2)
        assert maskmix.token_mask is not None  # MaskMix records all of these on every call
        assert maskmix.lam is not None and maskmix.partner_index is not None
        rows.append(
            MixerRow(
                title,
                mixed,
                maskmix.token_mask.view(-1, side, side),
                maskmix.lam,
                maskmix.partner_index,
            )
        )
    return rows


def render_grid(
    preview: PreviewImages, rows: list[MixerRow], out_path: Path, patch_size: int
) -> Path:
    """Draw the rows (image, mask per sample) to ``out_path`` as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = preview.images.shape[0]
    height, width = preview.images.shape[-2:]
    figure, axes = plt.subplots(
        len(rows), 2 * count, figsize=(2 * count * 1.05, len(rows) * 1.55), squeeze=False
    )
    names = preview.class_names
    for row_index, row in enumerate(rows):
        for sample in range(count):
            image_axis = axes[row_index, 2 * sample]
            mask_axis = axes[row_index, 2 * sample + 1]
            picture = row.mixed[sample].clamp(0, 1).permute(1, 2, 0).numpy()
            image_axis.imshow(picture, interpolation="nearest")
            own = names[int(preview.labels[sample])]
            partner = names[int(preview.labels[row.partner_index[sample]])]
            caption = f"λ {row.lam[sample]:.2f}\n{own} + {partner}"
            if row.note:
                caption += f"\n{row.note[sample]}"
            image_axis.set_title(caption, fontsize=6.5, pad=2)
            if row.mask is None:
                mask_axis.text(0.5, 0.5, "no mask", ha="center", va="center", fontsize=7)
                mask_axis.set_facecolor("#dddddd")
            else:
                mask_axis.imshow(
                    row.mask[sample].numpy(),
                    cmap="gray",
                    vmin=0,
                    vmax=1,
                    interpolation="nearest",
                    extent=(0, width, height, 0),
                )
                for line in range(patch_size, width, patch_size):
                    mask_axis.axvline(line, color="#4a90d9", linewidth=0.3)
                for line in range(patch_size, height, patch_size):
                    mask_axis.axhline(line, color="#4a90d9", linewidth=0.3)
                mask_axis.set_title("mask", fontsize=6.5, pad=2)
            mask_axis.set_box_aspect(1)
            for axis in (image_axis, mask_axis):
                axis.set_xticks([])
                axis.set_yticks([])
        axes[row_index, 0].set_ylabel(row.title, fontsize=7.5, rotation=0, ha="right", va="center")
    figure.suptitle(
        f"Mixers on {preview.source.split(' (')[0]}: each image is followed by its mask "
        f"(white = own image, black = partner; blue lines = {patch_size} px patch tokens)",
        fontsize=8,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path, dpi=150)
    plt.close(figure)
    return out_path


def render_mixers(
    out_path: str | Path,
    data_dir: str | None = None,
    count: int = 6,
    patch_size: int = 4,
    mask_size: int = 8,
    seed: int = 0,
    preview: PreviewImages | None = None,
) -> tuple[Path, PreviewImages]:
    """Load images (unless ``preview`` is given), mix them with every mixer and write the PNG."""
    if count < 2 or count % 2:
        raise ValueError(
            f"count must be an even number >= 2 (timm pairs i with B-1-i); got {count}"
        )
    preview = preview or load_preview_images(data_dir, count)
    rows = mix_rows(
        preview.images,
        preview.labels,
        num_classes=len(preview.class_names),
        patch_size=patch_size,
        mask_size=mask_size,
        seed=seed,
    )
    return render_grid(preview, rows, Path(out_path), patch_size), preview
