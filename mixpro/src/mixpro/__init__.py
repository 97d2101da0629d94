"""MixPro: MaskMix + Progressive Attention Labeling for Vision Transformers (Zhao et al., ICLR 2023)."""

__version__ = "0.1.0"
