"""Small-image Vision Transformers (32×32 input, 4×4 patches) registered with timm.

DeiT-T/S at 224 px with 16-px patches see a 14×14 token grid; on CIFAR-sized images the same
grid shape needs 4-px patches, which gives an 8×8 grid (64 patch tokens + 1 class token). The
models keep timm's ``VisionTransformer`` unchanged (class token, ``global_pool='token'``), so
class-token attention capture, ``timm.create_model`` and every timm utility work as usual.

Import this module (``import mixpro.models``) before calling ``timm.create_model`` with one of
the names below; the training loop does that for you.
"""

from __future__ import annotations

from typing import Any

from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

#: Architecture of every registered name: (embed_dim, depth, num_heads, mlp_ratio).
ARCHITECTURES: dict[str, tuple[int, int, int, float]] = {
    "vit_cifar_d32_l2": (32, 2, 2, 2.0),
    "vit_cifar_d64_l4": (64, 4, 2, 2.0),
    "vit_cifar_d96_l6": (96, 6, 3, 2.0),
    "vit_cifar_d128_l6": (128, 6, 4, 2.0),
    "vit_cifar_d192_l6": (192, 6, 3, 2.0),
    "vit_cifar_d192_l12": (192, 12, 3, 2.0),
}

IMG_SIZE = 32
PATCH_SIZE = 4

#: CIFAR-10 train statistics of the shared JPEG shards (README of the data folder), [0, 1] scale.
CIFAR10_MEAN = (0.4913, 0.4821, 0.4465)
CIFAR10_STD = (0.2452, 0.2428, 0.2606)

default_cfgs = generate_default_cfgs(
    {
        name: {
            "num_classes": 10,
            "input_size": (3, IMG_SIZE, IMG_SIZE),
            "pool_size": None,
            "crop_pct": 1.0,
            "interpolation": "bicubic",
            "mean": CIFAR10_MEAN,
            "std": CIFAR10_STD,
            "first_conv": "patch_embed.proj",
            "classifier": "head",
        }
        for name in ARCHITECTURES
    }
)


def _create(name: str, pretrained: bool, **kwargs: Any) -> VisionTransformer:
    if pretrained:
        raise ValueError(
            f"{name} has no pretrained weights; it is meant to be trained from scratch"
        )
    dim, depth, heads, mlp_ratio = ARCHITECTURES[name]
    model_args: dict[str, Any] = {
        "img_size": IMG_SIZE,
        "patch_size": PATCH_SIZE,
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_ratio": mlp_ratio,
        "class_token": True,
        "global_pool": "token",
        "num_classes": 10,
    }
    model_args.update(kwargs)
    return build_model_with_cfg(
        VisionTransformer,
        name,
        pretrained=False,
        pretrained_filter_fn=checkpoint_filter_fn,
        **model_args,
    )


@register_model
def vit_cifar_d32_l2(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 32, depth 2: a toy size for tests (about 20k parameters)."""
    return _create("vit_cifar_d32_l2", pretrained, **kwargs)


@register_model
def vit_cifar_d64_l4(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 64, depth 4, 2 heads: quick CPU runs."""
    return _create("vit_cifar_d64_l4", pretrained, **kwargs)


@register_model
def vit_cifar_d96_l6(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 96, depth 6, 3 heads: the CPU benchmark size."""
    return _create("vit_cifar_d96_l6", pretrained, **kwargs)


@register_model
def vit_cifar_d128_l6(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 128, depth 6, 4 heads."""
    return _create("vit_cifar_d128_l6", pretrained, **kwargs)


@register_model
def vit_cifar_d192_l6(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 192, depth 6, 3 heads (DeiT-T width, half its depth)."""
    return _create("vit_cifar_d192_l6", pretrained, **kwargs)


@register_model
def vit_cifar_d192_l12(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """Dim 192, depth 12, 3 heads: DeiT-T's shape on a 8×8 token grid."""
    return _create("vit_cifar_d192_l12", pretrained, **kwargs)
