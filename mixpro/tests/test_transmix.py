"""TransMix: the official token-mask rule, a hand-computed relabel, and Mixup batches left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mixpro.classic import box_token_mask
from mixpro.labels import smooth_one_hot

from mixpro import TransMix


def test_box_token_mask_uses_top_left_pixel_like_official_nearest_resize():
    # 16x16 image, patch 4: token corners at 0, 4, 8, 12. Box rows/cols [2, 9) covers the
    # corners 4 and 8, so tokens (1,1), (1,2), (2,1), (2,2) count as pasted.
    mask = box_token_mask((2, 9, 2, 9), (16, 16), 4)
    expected = torch.ones(4, 4)
    expected[1:3, 1:3] = 0
    assert torch.equal(mask, expected.flatten())
    # Same as TransMix's code: nearest resize of the H x W box mask to the token grid.
    for box in [(0, 16, 3, 11), (5, 6, 0, 16), (1, 15, 7, 13), (0, 0, 0, 0)]:
        pixels = torch.zeros(16, 16)
        pixels[box[0] : box[1], box[2] : box[3]] = 1
        official = F.interpolate(pixels[None, None], size=4).int().view(-1)
        assert torch.equal(box_token_mask(box, (16, 16), 4), 1.0 - official.float())


def cutmix_batch(seed: int = 0, classes: int = 4):
    np.random.seed(seed)
    torch.manual_seed(seed)
    x = torch.randn(6, 3, 16, 16)
    y = torch.tensor([0, 1, 2, 3, 1, 0])
    mixer = TransMix(classes, patch_size=4, mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1)
    mixed, target = mixer(x, y)
    return mixer, x, y, mixed, target


def test_cutmix_batch_pastes_reversed_batch_inside_box():
    mixer, x, _, mixed, _ = cutmix_batch()
    assert mixer.kind == "cutmix" and mixer.needs_attention
    top, bottom, left, right = mixer.box
    expected = x.clone()
    expected[:, :, top:bottom, left:right] = x.flip(0)[:, :, top:bottom, left:right]
    assert torch.equal(mixed, expected)
    assert torch.equal(mixer.token_mask, box_token_mask(mixer.box, (16, 16), 4).expand(6, -1))
    area = (bottom - top) * (right - left) / 256
    assert 0 < area < 1
    assert torch.allclose(mixer.lam, torch.full((6,), 1 - area))


def test_relabel_on_hand_built_case():
    mixer, _, y, _, _ = cutmix_batch()
    # Force a known box so the numbers can be written down: rows/cols [2, 9) on 16x16.
    mixer.box = (2, 9, 2, 9)
    mixer.token_mask = box_token_mask(mixer.box, (16, 16), 4).expand(6, -1)
    # Attention 0.1 on each of the 4 pasted tokens, 0.05 on the 12 own ones: total 1.0,
    # λ_attn = 0.6; λ_area = 1 - 49/256 = 207/256; λ = (207/256 + 0.6) / 2.
    attention = torch.where(mixer.token_mask[0] == 0, 0.1, 0.05).expand(6, -1)
    target = mixer.relabel(torch.zeros(6, 4), attention)
    lam = (207 / 256 + 0.6) / 2
    smooth = smooth_one_hot(y, 4, 0.1)
    assert torch.allclose(target, lam * smooth + (1 - lam) * smooth.flip(0), atol=1e-6)
    assert torch.allclose(mixer.lam_attn, torch.full((6,), 0.6))
    assert torch.allclose(target.sum(1), torch.ones(6))


def test_mixup_batches_are_not_relabeled():
    np.random.seed(0)
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    mixer = TransMix(4, patch_size=4, mixup_alpha=0.8, cutmix_alpha=0.0)
    mixed, target = mixer(x, y)
    assert mixer.kind == "mixup" and not mixer.needs_attention
    assert mixer.token_mask is None
    lam = mixer.lam[0]
    assert torch.allclose(mixed, lam * x + (1 - lam) * x.flip(0), atol=1e-6)
    assert mixer.relabel(torch.zeros(4, 4), torch.full((4, 4), 0.25)) is target


def test_relabel_without_attention_keeps_area_target():
    mixer, _, _, _, target = cutmix_batch()
    assert mixer.relabel(torch.zeros(6, 4), None) is target


def test_invalid_configs_and_batches():
    with pytest.raises(ValueError, match="patch_size must be a positive int"):
        TransMix(4, patch_size=0)
    with pytest.raises(ValueError, match="enable Mixup"):
        TransMix(4, patch_size=4, mixup_alpha=0.0, cutmix_alpha=0.0)
    mixer = TransMix(4, patch_size=4)
    with pytest.raises(ValueError, match="needs an even batch; got B=3"):
        mixer(torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="patch_size 4 does not divide the 10x10 image"):
        mixer(torch.randn(2, 3, 10, 10), torch.tensor([0, 1]))
    mixer, *_ = cutmix_batch()
    with pytest.raises(
        ValueError, match=r"cls_attention must have the token mask's shape \(6, 16\)"
    ):
        mixer.relabel(torch.zeros(6, 4), torch.ones(6, 17))
