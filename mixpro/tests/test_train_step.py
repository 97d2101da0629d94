"""The README's training step, with every mixer, on a tiny timm ViT on CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from timm.loss import SoftTargetCrossEntropy
from timm.models import VisionTransformer

from mixpro import ClassicMix, MaskMix, MixPro, MixSchedule, TransMix, capture_cls_attention

CLASSES = 4
# One numpy seed per mixer, re-used every step so each step sees the same mix: with these the
# schedule picks MixPro and TransMix draws a non-empty CutMix box.
SEEDS = {"mixup-cutmix": 1, "maskmix": 1, "mixpro": 1, "transmix": 0, "schedule": 1}


def make_mixer(name: str):
    if name == "mixup-cutmix":
        return ClassicMix(CLASSES, patch_size=4)
    if name == "maskmix":
        return MaskMix(CLASSES, patch_size=4, mask_size=8)
    if name == "mixpro":
        return MixPro(CLASSES, patch_size=4, mask_size=8)
    if name == "transmix":
        return TransMix(CLASSES, patch_size=4, mixup_alpha=0.0, cutmix_alpha=1.0)
    return MixSchedule.official(CLASSES, patch_size=4, mask_size=8)


@pytest.mark.parametrize("name", ["mixup-cutmix", "maskmix", "mixpro", "transmix", "schedule"])
def test_training_step_reduces_loss_on_fixed_batch(name):
    torch.manual_seed(0)
    model = VisionTransformer(
        img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2, num_classes=CLASSES
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    criterion = SoftTargetCrossEntropy()
    mixer = make_mixer(name)
    x = torch.randn(8, 3, 16, 16)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])

    losses, captured = [], []
    for _ in range(8):
        np.random.seed(SEEDS[name])
        # The five lines of the README:
        mixed, target = mixer(x, y)
        with capture_cls_attention(model, enabled=mixer.needs_attention) as cap:
            logits = model(mixed)
        target = mixer.relabel(logits, cap.attention)
        loss = criterion(logits, target)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        captured.append(cap.attention is not None)

    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.05, losses
    if name in ("mixpro", "transmix", "schedule"):
        assert all(captured)
        assert not torch.equal(target, mixer.target)  # relabeled, not the area target
    if name in ("mixup-cutmix", "maskmix"):
        assert not any(captured)
