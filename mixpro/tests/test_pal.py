"""Progressive Attention Labeling: hand-computed λ, α's range and the detach option."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mixpro.labels import attention_share, mix_targets
from mixpro.pal import pal_lambda, progressive_factor
from timm.loss import SoftTargetCrossEntropy

from mixpro import MixPro


def test_pal_lambda_on_hand_built_case():
    # Sample 0: attention 0.1/0.2/0.3/0.4 over 4 tokens, own tokens 0 and 2 -> λ_attn = 0.4.
    # Area target [0.5, 0.5]; p = softmax([ln 3, 0]) = [0.75, 0.25]
    #   α = (0.375 + 0.125) / (sqrt(0.625) * sqrt(0.5)) = 2/√5.
    # Sample 1: attention 0.2 everywhere but on the class token (sums to 0.8), own tokens 0..2
    #   -> λ_attn = 0.75; p == area target -> α = 1 -> λ = λ_attn.
    attention = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.2, 0.2, 0.2, 0.2]])
    mask = torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    area_target = torch.tensor([[0.5, 0.5], [0.75, 0.25]])
    lam_area = torch.tensor([0.5, 0.75])
    logits = torch.tensor([[math.log(3.0), 0.0], [math.log(3.0), 0.0]])
    lam, lam_attn, factor = pal_lambda(attention, mask, logits, area_target, lam_area)
    alpha0 = 2 / math.sqrt(5)
    assert torch.allclose(lam_attn, torch.tensor([0.4, 0.75]))
    assert torch.allclose(factor, torch.tensor([alpha0, 1.0]))
    assert torch.allclose(lam, torch.tensor([alpha0 * 0.4 + (1 - alpha0) * 0.5, 0.75]))
    assert math.isclose(lam[0].item(), 0.5 - 0.1 * alpha0, rel_tol=1e-6)


def test_progressive_factor_stays_in_unit_interval():
    torch.manual_seed(0)
    logits = torch.randn(512, 10) * 10
    lam = torch.rand(512)
    y = torch.randint(0, 10, (512,))
    target = mix_targets(y, torch.randperm(512), lam, 10, 0.1)
    factor = progressive_factor(logits, target)
    assert factor.min() >= 0.0 and factor.max() <= 1.0
    # Uniform predictions: α = 1 / (√K · ‖ỹ‖), the starting value the reference derives.
    uniform = progressive_factor(torch.zeros(512, 10), target)
    assert torch.allclose(uniform, 1 / (math.sqrt(10) * target.norm(dim=1)), atol=1e-6)


def test_attention_share_normalises_over_patch_tokens():
    attention = torch.tensor([[0.05, 0.05, 0.3, 0.1]])  # sums to 0.5: class-token mass dropped
    assert torch.allclose(
        attention_share(attention, torch.tensor([[0.0, 0.0, 1.0, 1.0]])), torch.tensor([0.8])
    )


def mixed_batch(mixer: MixPro, size: int = 4, classes: int = 3):
    torch.manual_seed(0)
    x = torch.randn(size, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 1])[:size]
    return mixer(x, y), y


def test_relabel_end_to_end_matches_formula():
    mixer = MixPro(3, 4, 4, generator=np.random.default_rng(2), per_sample_lam=True)
    (_, area_target), y = mixed_batch(mixer)
    attention = torch.tensor(
        [[0.1, 0.2, 0.3, 0.3], [0.4, 0.1, 0.1, 0.3], [0.25, 0.25, 0.25, 0.2], [0.0, 0.5, 0.2, 0.2]]
    )
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5], [-1.0, 3.0, 0.0]])
    target = mixer.relabel(logits, attention)
    mask = mixer.token_mask
    lam_attn = (attention * mask).sum(1) / attention.sum(1)
    p = logits.softmax(1)
    alpha = (p * area_target).sum(1) / (p.norm(dim=1) * area_target.norm(dim=1))
    lam = alpha * lam_attn + (1 - alpha) * mixer.lam
    expected = torch.zeros(4, 3)
    for i in range(4):
        expected[i, y[i]] += lam[i]
        expected[i, y[mixer.partner_index[i]]] += 1 - lam[i]
    assert torch.allclose(target, expected, atol=1e-6)
    assert torch.allclose(target.sum(1), torch.ones(4))
    assert torch.allclose(mixer.lam_pal, lam, atol=1e-6)
    assert mixer.needs_attention


def test_relabel_smoothing_option_smooths_final_target():
    mixer = MixPro(3, 4, 4, relabel_smoothing=0.3, generator=np.random.default_rng(2))
    (_, _), y = mixed_batch(mixer)
    target = mixer.relabel(torch.zeros(4, 3), torch.full((4, 4), 0.25))
    expected = mix_targets(y, mixer.partner_index, mixer.lam_pal, 3, 0.3)
    assert torch.allclose(target, expected)
    assert target.min() >= 0.1 - 1e-6  # off value ε/K


def test_detached_factor_gives_plain_soft_target_gradient():
    mixer = MixPro(3, 4, 4, generator=np.random.default_rng(5), per_sample_lam=True)
    mixed_batch(mixer)
    logits = torch.tensor(
        [[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.5, 0.2, 0.5], [-1.0, 3.0, 0.0]], requires_grad=True
    )
    attention = torch.tensor([[0.1, 0.2, 0.3, 0.3]]).repeat(4, 1)
    target = mixer.relabel(logits, attention)
    assert not target.requires_grad
    SoftTargetCrossEntropy()(logits, target).backward()
    assert torch.allclose(logits.grad, (logits.detach().softmax(1) - target) / 4, atol=1e-7)


def test_official_non_detached_factor_backpropagates_through_alpha():
    mixer = MixPro(
        3, 4, 4, detach_factor=False, generator=np.random.default_rng(5), per_sample_lam=True
    )
    mixed_batch(mixer)
    raw = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.5, 0.2, 0.5], [-1.0, 3.0, 0.0]])
    attention = torch.tensor([[0.9, 0.03, 0.03, 0.04]]).repeat(4, 1)
    logits = raw.clone().requires_grad_(True)
    target = mixer.relabel(logits, attention)
    assert target.requires_grad
    SoftTargetCrossEntropy()(logits, target).backward()
    plain = (raw.softmax(1) - target.detach()) / 4

    # Independent re-derivation of the official loss: α depends on the logits.
    z = raw.clone().requires_grad_(True)
    area = mixer.target
    p = z.softmax(1)
    alpha = (p * area).sum(1) / (p.norm(dim=1) * area.norm(dim=1))
    lam_attn = (attention * mixer.token_mask).sum(1) / attention.sum(1)
    lam = alpha * lam_attn + (1 - alpha) * mixer.lam
    official_target = mix_targets(mixer.labels, mixer.partner_index, lam, 3)
    (-(official_target * z.log_softmax(1)).sum(1).mean()).backward()
    assert torch.allclose(logits.grad, z.grad, atol=1e-6)
    assert (logits.grad - plain).abs().max() > 1e-3


def test_relabel_without_attention_keeps_area_target():
    mixer = MixPro(3, 4, 4)
    (_, area_target), _ = mixed_batch(mixer)
    assert mixer.relabel(torch.zeros(4, 3), None) is area_target


def test_relabel_errors_are_clear():
    mixer = MixPro(3, 4, 4)
    with pytest.raises(RuntimeError, match="before relabel"):
        mixer.relabel(torch.zeros(4, 3), torch.ones(4, 4))
    mixed_batch(mixer)
    with pytest.raises(
        ValueError, match=r"cls_attention must have the token mask's shape \(4, 4\)"
    ):
        mixer.relabel(torch.zeros(4, 3), torch.ones(4, 5))
    with pytest.raises(ValueError, match=r"logits must have shape \(4, 3\)"):
        mixer.relabel(torch.zeros(4, 2), torch.ones(4, 4))
    with pytest.raises(ValueError, match="relabel_smoothing"):
        MixPro(3, 4, 4, relabel_smoothing=-0.1)
