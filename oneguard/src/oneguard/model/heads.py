"""The four task heads on top of the shared encoder.

* prompt harm (binary) and risk category (13 subcategories + ``others``) read the **prompt
  features**: the encoder's mean-pooled prompt tokens (category labels describe the request).
* response harm and refusal (binary) read the **pair features**: mean over the prompt+response
  tokens and mean over the response tokens of the pair input, so a head sees the response in
  the light of its prompt. With ``response_max``, they also read a max over the response
  tokens, through a second MLP whose logit is added: a mean dilutes one harmful passage in a
  long answer, a max keeps it. That path's output layer starts at zero, so a model
  warm-started from one without it begins with exactly its scores.

Features may concatenate several encoder layers (``feature_layers``): for a frozen encoder,
middle layers carry lexical cues that the last, similarity-tuned layer smooths away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from oneguard.taxonomy import CATEGORY_CLASSES


@dataclass(frozen=True)
class HeadConfig:
    #: Hidden width of each head's MLP; 0 makes the heads linear.
    hidden: int = 256
    dropout: float = 0.1
    #: Encoder layers pooled into the features (0 = embeddings, num_layers = last layer).
    feature_layers: tuple[int, ...] = (6,)
    #: Pair heads also read the response tokens max-pooled (an additive path, zero at start).
    response_max: bool = False

    def __post_init__(self) -> None:
        if not self.feature_layers:
            raise ValueError("feature_layers must name at least one layer")
        object.__setattr__(self, "feature_layers", tuple(int(i) for i in self.feature_layers))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_layers"] = list(self.feature_layers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"head config: unknown fields {sorted(unknown)}")
        return cls(**{**data, "feature_layers": tuple(data.get("feature_layers", (6,)))})

    def pair_width(self, feature_width: int) -> int:
        """Width of the pair features: two means, plus the response max when enabled."""
        return (3 if self.response_max else 2) * feature_width


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
    or ``3d`` with ``response_max``)."""

    #: The max-pooled pair path's modules, absent from models trained without it.
    MAX_PATH = ("response_max", "refusal_max")

    def __init__(self, feature_width: int, config: HeadConfig) -> None:
        super().__init__()
        self.mean_width = 2 * feature_width
        self.prompt = MLPHead(feature_width, 1, config.hidden, config.dropout)
        self.category = MLPHead(feature_width, len(CATEGORY_CLASSES), config.hidden, config.dropout)
        self.response = MLPHead(self.mean_width, 1, config.hidden, config.dropout)
        self.refusal = MLPHead(self.mean_width, 1, config.hidden, config.dropout)
        self.response_max: MLPHead | None = None
        self.refusal_max: MLPHead | None = None
        if config.response_max:
            self.response_max = _zero_output(
                MLPHead(feature_width, 1, config.hidden, config.dropout)
            )
            self.refusal_max = _zero_output(
                MLPHead(feature_width, 1, config.hidden, config.dropout)
            )

    def from_prompt(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(prompt-harm logit (B,), category logits (B, 14))."""
        return self.prompt(features).squeeze(-1), self.category(features)

    def from_pair(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(response-harm logit (B,), refusal logit (B,))."""
        means = features[:, : self.mean_width]
        response, refusal = self.response(means), self.refusal(means)
        if self.response_max is not None and self.refusal_max is not None:
            maxes = features[:, self.mean_width :]
            response = response + self.response_max(maxes)
            refusal = refusal + self.refusal_max(maxes)
        return response.squeeze(-1), refusal.squeeze(-1)
