"""The four task heads on top of the shared encoder.

* prompt harm (binary) and risk category (13 subcategories + ``others``) read the **prompt
  features**: the encoder's mean-pooled prompt tokens (category labels describe the request).
* response harm and refusal (binary) read the **pair features**: mean over the prompt+response
  tokens and mean over the response tokens of the pair input, so a head sees the response in
  the light of its prompt. Each head named in ``max_heads`` also reads a max over the
  response tokens, through a second MLP whose logit is added: a mean dilutes one harmful
  passage in a long answer, a max keeps it. That path's output layer starts at zero, so a
  model warm-started from one without it begins with exactly its scores.

Features may concatenate several encoder layers (``feature_layers``): for a frozen encoder,
middle layers carry lexical cues that the last, similarity-tuned layer smooths away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from oneguard.taxonomy import CATEGORY_CLASSES

#: The pair heads that can read the max-pooled response path.
MAX_POOL_HEADS = ("response", "refusal")


@dataclass(frozen=True)
class HeadConfig:
    #: Hidden width of each head's MLP; 0 makes the heads linear.
    hidden: int = 256
    dropout: float = 0.1
    #: Encoder layers pooled into the features (0 = embeddings, num_layers = last layer).
    feature_layers: tuple[int, ...] = (6,)
    #: Pair heads that also read the response tokens max-pooled (an additive path, zero at
    #: start): any of :data:`MAX_POOL_HEADS`.
    max_heads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.feature_layers:
            raise ValueError("feature_layers must name at least one layer")
        object.__setattr__(self, "feature_layers", tuple(int(i) for i in self.feature_layers))
        unknown = set(self.max_heads) - set(MAX_POOL_HEADS)
        if unknown:
            raise ValueError(
                f"max_heads: {sorted(unknown)} are not pair heads (choose from {MAX_POOL_HEADS})"
            )
        # One canonical order, so equal sets compare equal.
        object.__setattr__(
            self, "max_heads", tuple(h for h in MAX_POOL_HEADS if h in self.max_heads)
        )

    @property
    def pools_max(self) -> bool:
        """The pair features carry the response tokens' max (some head reads it)."""
        return bool(self.max_heads)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_layers"] = list(self.feature_layers)
        data["max_heads"] = list(self.max_heads)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadConfig:
        data = dict(data)
        # Models saved before the path was per head: ``response_max: true`` meant both heads.
        if "response_max" in data and "max_heads" not in data:
            data["max_heads"] = MAX_POOL_HEADS if data.pop("response_max") else ()
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"head config: unknown fields {sorted(unknown)}")
        return cls(
            **{
                **data,
                "feature_layers": tuple(data.get("feature_layers", (6,))),
                "max_heads": tuple(data.get("max_heads", ())),
            }
        )

    def pair_width(self, feature_width: int) -> int:
        """Width of the pair features: two means, plus the response max when a head reads it."""
        return (3 if self.pools_max else 2) * feature_width


class MLPHead(nn.Module):
    """LayerNorm -> (Linear -> GELU ->) Linear; the LayerNorm evens out the scales of
    features pooled from different layers."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.LayerNorm(in_dim), nn.Dropout(dropout)]
        if hidden:
            layers += [nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout)]
            in_dim = hidden
        layers.append(nn.Linear(in_dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def _zero_output(head: MLPHead) -> MLPHead:
    last = head.net[-1]
    assert isinstance(last, nn.Linear)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return head


class ModerationHeads(nn.Module):
    """Logits for the four tasks from prompt features (width ``d``) and pair features (``2d``,
    or ``3d`` when some head reads the response max)."""

    #: The max-pooled pair path's modules, absent from models trained without it.
    MAX_PATH = ("response_max", "refusal_max")

    def __init__(self, feature_width: int, config: HeadConfig) -> None:
        super().__init__()
        self.mean_width = 2 * feature_width
        self.prompt = MLPHead(feature_width, 1, config.hidden, config.dropout)
        self.category = MLPHead(feature_width, len(CATEGORY_CLASSES), config.hidden, config.dropout)
        self.response = MLPHead(self.mean_width, 1, config.hidden, config.dropout)
        self.refusal = MLPHead(self.mean_width, 1, config.hidden, config.dropout)

        def max_path(head: str) -> MLPHead | None:
            if head not in config.max_heads:
                return None
            return _zero_output(MLPHead(feature_width, 1, config.hidden, config.dropout))

        self.response_max = max_path("response")
        self.refusal_max = max_path("refusal")

    def from_prompt(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(prompt-harm logit (B,), category logits (B, 14))."""
        return self.prompt(features).squeeze(-1), self.category(features)

    def from_pair(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(response-harm logit (B,), refusal logit (B,))."""
        means = features[:, : self.mean_width]
        response, refusal = self.response(means), self.refusal(means)
        maxes = features[:, self.mean_width :]
        if self.response_max is not None:
            response = response + self.response_max(maxes)
        if self.refusal_max is not None:
            refusal = refusal + self.refusal_max(maxes)
        return response.squeeze(-1), refusal.squeeze(-1)
