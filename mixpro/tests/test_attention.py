"""capture_cls_attention: exact against unfused attention, logits untouched, fused path kept."""

from __future__ import annotations

import warnings

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.layers import RmsNorm
from timm.models import VisionTransformer
from timm.models.deit import VisionTransformerDistilled

from mixpro import attention as attention_module
from mixpro import capture_cls_attention


def tiny_vit(cls=VisionTransformer, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    options = dict(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4, num_classes=5)
    options.update(kwargs)
    model = cls(**options).eval()
    # Random weights large enough that attention is far from uniform.
    with torch.no_grad():
        for block in model.blocks:
            block.attn.qkv.weight.mul_(8.0)
    return model


def reference_cls_attention(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Weights from timm's own unfused path: hook attn_drop's input on the last block."""
    last = model.blocks[-1].attn
    captured = {}
    handle = last.attn_drop.register_forward_hook(
        lambda m, args, out: captured.update(attn=args[0])
    )
    last.fused_attn = False
    try:
        with torch.no_grad():
            model(x)
    finally:
        last.fused_attn = True
        handle.remove()
    return captured["attn"].mean(dim=1)[:, 0, model.num_prefix_tokens :]


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (VisionTransformer, {}),
        (VisionTransformer, {"qk_norm": True}),
        (VisionTransformer, {"qk_norm": True, "norm_layer": RmsNorm}),
        (VisionTransformer, {"reg_tokens": 2, "no_embed_class": True}),
        (VisionTransformerDistilled, {}),
    ],
)
def test_hook_matches_unfused_attention_and_keeps_logits(cls, kwargs):
    model = tiny_vit(cls, **kwargs)
    if kwargs.get("qk_norm"):
        with torch.no_grad():  # non-trivial norm weights so that q_norm/k_norm matter
            model.blocks[-1].attn.q_norm.weight.uniform_(0.5, 2.0)
            model.blocks[-1].attn.k_norm.weight.uniform_(0.5, 2.0)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        plain = model(x)
        with capture_cls_attention(model) as cap:
            hooked = model(x)
    assert model.blocks[-1].attn.fused_attn  # the model still runs scaled_dot_product_attention
    assert torch.equal(hooked, plain)
    reference = reference_cls_attention(model, x)
    assert cap.attention.shape == (3, 16)
    assert torch.allclose(cap.attention, reference, atol=1e-5)
    # Far from uniform, so the comparison has teeth.
    assert (reference.max(dim=1).values > 2 * reference.min(dim=1).values).all()
    # The hook is gone after the with-block.
    assert not model.blocks[-1].attn.qkv._forward_hooks
    assert not model.blocks[-1].attn._forward_pre_hooks


def test_attention_drops_class_token_mass_without_renormalising():
    model = tiny_vit()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad(), capture_cls_attention(model) as cap:
        model(x)
    totals = cap.attention.sum(dim=1)
    assert (totals < 1).all() and (totals > 0).all()


def test_attention_is_detached_by_default_and_can_keep_the_graph():
    model = tiny_vit().train()
    x = torch.randn(2, 3, 16, 16)
    with capture_cls_attention(model) as cap:
        logits = model(x)
    assert logits.requires_grad and not cap.attention.requires_grad
    with capture_cls_attention(model, detach=False) as cap:
        model(x)
    assert cap.attention.requires_grad
    cap.attention[:, 0].sum().backward()
    assert model.blocks[-1].attn.qkv.weight.grad.abs().sum() > 0


def test_disabled_capture_leaves_attention_none():
    model = tiny_vit()
    with torch.no_grad(), capture_cls_attention(model, enabled=False) as cap:
        model(torch.randn(2, 3, 16, 16))
    assert cap.supported and cap.attention is None


def test_attention_mask_is_applied_to_the_class_row():
    model = tiny_vit()
    x = torch.randn(2, 3, 16, 16)
    mask = torch.ones(17, 17, dtype=torch.bool)
    mask[:, 5:9] = False  # hide four patch tokens from every query
    with torch.no_grad(), capture_cls_attention(model) as cap:
        model.forward_features(x, attn_mask=mask)
    assert torch.equal(cap.attention[:, 4:8], torch.zeros(2, 4))
    # Same as timm's unfused path under the same mask.
    last = model.blocks[-1].attn
    seen = {}
    handle = last.attn_drop.register_forward_hook(lambda m, a, o: seen.update(attn=a[0]))
    last.fused_attn = False
    with torch.no_grad():
        model.forward_features(x, attn_mask=mask)
    last.fused_attn = True
    handle.remove()
    assert torch.allclose(cap.attention, seen["attn"].mean(1)[:, 0, 1:], atol=1e-5)


def test_hook_keeps_scaled_dot_product_attention(monkeypatch):
    calls = []
    original = F.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", counting)
    model = tiny_vit(depth=3)
    with torch.no_grad(), capture_cls_attention(model) as cap:
        model(torch.randn(2, 3, 16, 16))
    assert len(calls) == 3 and cap.attention is not None


def test_model_without_class_token_falls_back_with_one_warning():
    attention_module._WARNED_MODEL_TYPES.discard("VisionTransformer")
    model = tiny_vit(class_token=False, global_pool="avg")
    x = torch.randn(2, 3, 16, 16)
    warns = pytest.warns(UserWarning, match="has no class token; MixPro and TransMix fall back")
    with warns, torch.no_grad(), capture_cls_attention(model) as cap:
        model(x)
    assert not cap.supported and cap.attention is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad(), capture_cls_attention(model) as cap:
            model(x)
    assert cap.attention is None
    attention_module._WARNED_MODEL_TYPES.discard("VisionTransformer")


def test_average_pooled_vit_with_class_token_falls_back():
    attention_module._WARNED_MODEL_TYPES.discard("VisionTransformer")
    model = tiny_vit(global_pool="avg")
    with pytest.warns(UserWarning, match="pools with 'avg'"), capture_cls_attention(model) as cap:
        pass
    assert cap.attention is None
    attention_module._WARNED_MODEL_TYPES.discard("VisionTransformer")


def test_cnn_falls_back():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    warns = pytest.warns(UserWarning, match="Sequential has no class token")
    with warns, capture_cls_attention(model) as cap:
        model(torch.randn(1, 3, 8, 8))
    assert cap.attention is None


def test_registered_timm_vit_with_random_weights():
    torch.manual_seed(0)
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=4, num_classes=10
    ).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        plain = model(x)
        with capture_cls_attention(model) as cap:
            hooked = model(x)
    assert torch.equal(hooked, plain)
    assert cap.attention.shape == (2, 64)
    assert torch.allclose(cap.attention, reference_cls_attention(model, x), atol=1e-5)


def test_compiled_model_and_missed_forward_raise_clear_errors():
    model = tiny_vit()
    compiled = torch.compile(model, backend="eager")
    with pytest.raises(TypeError, match="torch.compile"), capture_cls_attention(compiled):
        pass
    missed = pytest.raises(RuntimeError, match="did not run inside the with-block")
    with missed, capture_cls_attention(model):
        pass


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_fused_kernels_and_autocast(dtype):
    torch.manual_seed(0)
    model = timm.create_model("vit_small_patch16_224", pretrained=False, num_classes=100)
    model = model.cuda().train()
    x = torch.randn(16, 3, 224, 224, device="cuda")
    autocast = torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32)
    torch.manual_seed(1)
    with autocast:
        plain = model(x)
    torch.manual_seed(1)  # same drop-path draws
    with autocast, capture_cls_attention(model) as cap:
        hooked = model(x)
    assert torch.equal(hooked, plain)
    assert cap.attention.dtype == torch.float32 and cap.attention.shape == (16, 196)
    model.eval()
    with torch.no_grad(), autocast, capture_cls_attention(model) as cap:
        model(x)
    with autocast:
        reference = reference_cls_attention(model, x).float()
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2 * reference.abs().max().item()
    assert torch.allclose(cap.attention, reference, atol=tolerance)
