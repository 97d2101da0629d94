"""MaskMix: exact grid geometry, token masks, quantised λ and area targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mixpro.labels import smooth_one_hot
from mixpro.maskmix import check_mask_geometry, kept_cell_counts

from mixpro import MaskMix, valid_mask_sizes


class FixedRatio:
    """A numpy Generator whose Beta draws are fixed, so λ can be checked by hand."""

    def __init__(self, ratio: float | list[float], seed: int = 0) -> None:
        self.ratio = np.asarray(ratio, dtype=np.float64)
        self.rng = np.random.default_rng(seed)

    def beta(self, a: float, b: float, size: int) -> np.ndarray:
        return np.broadcast_to(self.ratio, (size,)).copy()

    def random(self, size=None):
        return self.rng.random(size)

    def permutation(self, n: int) -> np.ndarray:
        return self.rng.permutation(n)


def batch(size: int = 6, height: int = 16, width: int | None = None, classes: int = 5):
    torch.manual_seed(0)
    x = torch.randn(size, 3, height, width or height)
    y = torch.arange(size) % classes
    return x, y


@pytest.mark.parametrize(
    ("height", "width", "patch", "cell"),
    [
        (16, 16, 4, 8),
        (16, 16, 4, 4),
        (32, 32, 4, 16),
        (24, 24, 2, 6),
        (32, 16, 4, 8),
        (28, 28, 7, 14),
    ],
)
def test_token_mask_is_pixel_mask_pooled_per_patch(height, width, patch, cell):
    x, y = batch(height=height, width=width)
    mixer = MaskMix(5, patch, cell, generator=np.random.default_rng(1), per_sample_lam=True)
    mixed, _ = mixer(x, y)
    pooled = F.avg_pool2d(mixer.pixel_mask, patch).flatten(1)
    assert mixer.token_mask.shape == (6, (height // patch) * (width // patch))
    assert torch.equal(mixer.token_mask, pooled)
    # Each token is whole: pooling a 0/1 mask gives only 0 or 1.
    assert set(pooled.unique().tolist()) <= {0.0, 1.0}
    # Mixed pixels come from the sample itself where the mask is 1, from the partner elsewhere.
    expected = torch.where(mixer.pixel_mask.bool(), x, x[mixer.partner_index])
    assert torch.equal(mixed, expected)


def test_lambda_is_kept_fraction_and_quantised_to_cells():
    x, y = batch(height=32)
    mixer = MaskMix(5, 4, 8, generator=FixedRatio(0.3))  # 4x4 = 16 cells, k = ceil(4.8) = 5
    mixer(x, y)
    assert torch.equal(mixer.lam, torch.full((6,), 5 / 16))
    assert torch.equal(mixer.token_mask.mean(dim=1), mixer.lam)
    assert torch.equal(mixer.pixel_mask.mean(dim=(1, 2, 3)), mixer.lam)


def test_ratio_above_last_cell_gives_unmixed_batch():
    x, y = batch(height=32)
    mixer = MaskMix(5, 4, 8, generator=FixedRatio(15.5 / 16))
    mixed, target = mixer(x, y)
    assert torch.equal(mixer.lam, torch.ones(6))
    assert torch.equal(mixed, x)
    assert torch.allclose(target, smooth_one_hot(y, 5, 0.1))


def test_kept_cell_counts_follow_ceil_rule():
    counts = kept_cell_counts(np.array([0.0, 0.01, 0.25, 0.2501, 0.99, 1.0]), 4)
    assert counts.tolist() == [0, 1, 1, 2, 4, 4]


def test_per_batch_lambda_shared_and_per_sample_lambda_varies():
    x, y = batch(size=16, height=32)
    shared = MaskMix(5, 4, 8, generator=np.random.default_rng(3))
    shared(x, y)
    assert shared.lam.unique().numel() == 1
    own = MaskMix(5, 4, 8, per_sample_lam=True, generator=np.random.default_rng(3))
    own(x, y)
    assert own.lam.unique().numel() > 1
    assert torch.equal(own.token_mask.mean(dim=1), own.lam)


def test_cell_placement_is_uniform_per_sample():
    x, y = batch(size=2, height=16)
    mixer = MaskMix(5, 4, 8, generator=FixedRatio(0.25, seed=7))  # 1 of 4 cells kept
    counts = torch.zeros(4)
    for _ in range(400):
        mixer(x, y)
        cells = mixer.pixel_mask[:, 0, ::8, ::8].reshape(2, 4)
        assert torch.equal(cells.sum(dim=1), torch.ones(2))
        counts += cells.sum(dim=0)
    assert counts.sum() == 800
    assert counts.min() > 160  # each cell ~200 times; a fixed placement would give 0 or 800


def test_area_target_matches_formula_and_sums_to_one():
    x, y = batch(size=8, height=16, classes=5)
    mixer = MaskMix(
        5, 4, 4, label_smoothing=0.1, per_sample_lam=True, generator=np.random.default_rng(0)
    )
    _, target = mixer(x, y)
    partner = mixer.partner_index
    off, on = 0.1 / 5, 1 - 0.1 + 0.1 / 5
    expected = torch.full((8, 5), off)
    for i in range(8):
        expected[i, y[i]] += mixer.lam[i] * (on - off)
        expected[i, y[partner[i]]] += (1 - mixer.lam[i]) * (on - off)
    assert torch.allclose(target, expected, atol=1e-6)
    assert torch.allclose(target.sum(dim=1), torch.ones(8), atol=1e-6)
    assert mixer.relabel(torch.zeros(8, 5), None) is target
    assert not mixer.needs_attention


def test_partner_conventions():
    x, y = batch(size=6)
    flip = MaskMix(5, 4, 8, partner="flip")
    flip(x, y)
    assert flip.partner_index.tolist() == [5, 4, 3, 2, 1, 0]
    permuted = MaskMix(5, 4, 8, generator=np.random.default_rng(0))
    permuted(x, y)
    assert sorted(permuted.partner_index.tolist()) == list(range(6))


def test_input_is_not_modified():
    x, y = batch()
    before = x.clone()
    MaskMix(5, 4, 8)(x, y)
    assert torch.equal(x, before)


def test_valid_mask_sizes_for_imagenet():
    assert valid_mask_sizes(224, 16) == [16, 32, 112, 224]
    assert valid_mask_sizes(224, 14) == [14, 28, 56, 112, 224]
    assert check_mask_geometry((224, 224), 14, 56) == (4, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 16, "mask_size": 24}, "multiple of patch_size"),
        (
            {"patch_size": 16, "mask_size": 64, "img_size": 224},
            r"does not tile the 224x224 image.*\[16, 32, 112, 224\]",
        ),
        ({"patch_size": 4, "mask_size": 8, "alpha": 0.0}, "alpha must be > 0"),
        (
            {"patch_size": 4, "mask_size": 8, "label_smoothing": 1.0},
            r"label_smoothing must lie in \[0, 1\)",
        ),
        ({"patch_size": 4, "mask_size": 8, "partner": "roll"}, "partner must be one of"),
        ({"patch_size": 0, "mask_size": 8}, "positive multiple"),
    ],
)
def test_invalid_configs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskMix(5, **kwargs)


def test_invalid_batches_raise_clear_errors():
    mixer = MaskMix(5, 4, 8)
    x, y = batch(height=16)
    with pytest.raises(ValueError, match=r"does not tile the 20x20 image"):
        mixer(torch.randn(6, 3, 20, 20), y)
    with pytest.raises(ValueError, match="int64 tensor"):
        mixer(x, y.int())
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        mixer(x, y + 5)
    with pytest.raises(ValueError, match=r"float tensor \(B, C, H, W\)"):
        mixer(x[0], y)
    with pytest.raises(ValueError, match="6 images but y has 5 labels"):
        mixer(x, y[:5])
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        MaskMix(1, 4, 8)
