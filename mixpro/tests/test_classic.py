"""ClassicMix (timm Mixup/CutMix behind the mixer interface) and the official switch schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mixpro.classic import box_token_mask
from mixpro.labels import smooth_one_hot
from timm.data import Mixup

from mixpro import ClassicMix, MaskMix, MixPro, MixSchedule


def batch(size: int = 6, side: int = 16):
    torch.manual_seed(0)
    return torch.randn(size, 3, side, side), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])[:size]


def test_matches_timm_mixup_draw_for_draw_without_touching_input():
    x, y = batch()
    before = x.clone()
    np.random.seed(11)
    mixed, target = ClassicMix(5, mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1)(x, y)
    assert torch.equal(x, before)
    np.random.seed(11)
    timm_mixed, timm_target = Mixup(
        mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=5
    )(x.clone(), y)
    assert torch.equal(mixed, timm_mixed)
    assert torch.equal(target, timm_target)


def test_mixup_batch_records_lambda_and_no_mask():
    x, y = batch()
    np.random.seed(0)
    mixer = ClassicMix(5, mixup_alpha=0.8, cutmix_alpha=0.0, patch_size=4)
    mixed, target = mixer(x, y)
    lam = mixer.lam[0].item()
    assert mixer.kind == "mixup" and mixer.token_mask is None and 0 < lam < 1
    assert torch.equal(mixer.lam, torch.full((6,), lam))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x.flip(0), atol=1e-6)
    smooth = smooth_one_hot(y, 5, 0.1)
    assert torch.allclose(target, lam * smooth + (1 - lam) * smooth.flip(0), atol=1e-6)
    assert mixer.partner_index.tolist() == [5, 4, 3, 2, 1, 0]


def test_cutmix_batch_records_box_masks_and_area_lambda():
    x, y = batch()
    np.random.seed(3)
    mixer = ClassicMix(5, mixup_alpha=0.0, cutmix_alpha=1.0, patch_size=4)
    mixed, target = mixer(x, y)
    assert mixer.kind == "cutmix"
    top, bottom, left, right = mixer.box
    own_area = 1 - (bottom - top) * (right - left) / 256
    assert torch.allclose(mixer.lam, torch.full((6,), own_area))
    assert torch.allclose(mixer.pixel_mask.mean(dim=(1, 2, 3)), mixer.lam)
    assert torch.equal(mixed, torch.where(mixer.pixel_mask.bool(), x, x.flip(0)))
    assert torch.equal(mixer.token_mask[0], box_token_mask(mixer.box, (16, 16), 4))
    assert torch.allclose(target.sum(1), torch.ones(6))


def test_elementwise_mode_gives_per_sample_lambda():
    x, y = batch(size=8)
    np.random.seed(1)
    mixer = ClassicMix(5, mixup_alpha=0.8, cutmix_alpha=0.0, mode="elem")
    mixed, _ = mixer(x, y)
    assert mixer.kind == "elementwise" and mixer.lam.shape == (8,)
    assert mixer.lam.unique().numel() == 8
    lam = mixer.lam.view(-1, 1, 1, 1)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x.flip(0), atol=1e-6)


def test_unmixed_batch_has_all_ones_token_mask():
    x, y = batch()
    mixer = ClassicMix(5, prob=0.0, patch_size=4)
    mixed, target = mixer(x, y)
    assert mixer.kind == "none" and torch.equal(mixed, x)
    assert torch.equal(mixer.token_mask, torch.ones(6, 16))
    assert torch.allclose(target, smooth_one_hot(y, 5, 0.1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mixup_alpha": 0.0, "cutmix_alpha": 0.0}, "enable Mixup"),
        ({"mode": "batchwise"}, "mode must be one of"),
        ({"prob": 1.5}, r"prob must lie in \[0, 1\]"),
        ({"switch_prob": -0.1}, r"switch_prob must lie in \[0, 1\]"),
        ({"mixup_alpha": -1.0}, "alphas must be >= 0"),
    ],
)
def test_invalid_configs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassicMix(5, **kwargs)


def test_odd_batch_is_rejected_before_timm_asserts():
    with pytest.raises(ValueError, match="needs an even batch; got B=5"):
        ClassicMix(5)(*batch(size=5))


def test_official_schedule_configuration():
    schedule = MixSchedule.official(10, patch_size=4, mask_size=8)
    assert isinstance(schedule.maskmix, MixPro) and schedule.maskmix_prob == 0.5
    assert schedule.maskmix.alpha == 1.0 and schedule.maskmix.partner == "permutation"
    timm_mixup = schedule.classic.mixup
    assert (timm_mixup.mixup_alpha, timm_mixup.cutmix_alpha) == (0.8, 1.0)
    assert (timm_mixup.switch_prob, timm_mixup.mix_prob, timm_mixup.mode) == (0.5, 1.0, "batch")
    assert type(MixSchedule.official(10, 4, 8, pal=False).maskmix) is MaskMix


def test_schedule_splits_batches_half_maskmix_quarter_mixup_quarter_cutmix():
    np.random.seed(0)
    schedule = MixSchedule.official(
        5, patch_size=4, mask_size=8, generator=np.random.default_rng(0)
    )
    x, y = batch(size=4)
    counts = {"maskmix": 0, "mixup": 0, "cutmix": 0}
    for _ in range(800):
        schedule(x, y)
        if schedule.used_maskmix:
            counts["maskmix"] += 1
            assert schedule.needs_attention
            assert schedule.token_mask is schedule.maskmix.token_mask
        else:
            counts[schedule.classic.kind] += 1
            assert not schedule.needs_attention
            assert schedule.relabel(torch.zeros(4, 5), None) is schedule.classic.target
    assert 360 <= counts["maskmix"] <= 440
    assert 160 <= counts["mixup"] <= 240 and 160 <= counts["cutmix"] <= 240


def test_schedule_relabels_only_maskmix_batches():
    schedule = MixSchedule.official(5, patch_size=4, mask_size=8)
    schedule.maskmix_prob = 1.0
    x, y = batch(size=4)
    _, area = schedule(x, y)
    relabeled = schedule.relabel(torch.zeros(4, 5), torch.full((4, 16), 1 / 16))
    assert not torch.equal(relabeled, area)  # PAL target is unsmoothed
    assert torch.allclose(
        relabeled, schedule.maskmix.relabel(torch.zeros(4, 5), torch.full((4, 16), 1 / 16))
    )
    with pytest.raises(RuntimeError, match="call the mixer on a batch first"):
        MixSchedule.official(5, 4, 8).relabel(torch.zeros(4, 5), None)
    with pytest.raises(ValueError, match="maskmix has 5 classes but classic has 6"):
        MixSchedule(MaskMix(5, 4, 8), ClassicMix(6))
