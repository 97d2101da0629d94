"""MixPro: MaskMix + Progressive Attention Labeling for Vision Transformers (Zhao et al., ICLR 2023),
with TransMix, Mixup and CutMix baselines, behind one timm-like mixer interface."""

from mixpro.attention import ClsAttentionCapture, capture_cls_attention
from mixpro.classic import ClassicMix, MixSchedule
from mixpro.maskmix import MaskMix, valid_mask_sizes
from mixpro.mixer import Mixer
from mixpro.pal import MixPro
from mixpro.transmix import TransMix

__version__ = "0.1.0"

__all__ = [
    "ClassicMix",
    "ClsAttentionCapture",
    "MaskMix",
    "MixPro",
    "MixSchedule",
    "Mixer",
    "TransMix",
    "__version__",
    "capture_cls_attention",
    "valid_mask_sizes",
]
