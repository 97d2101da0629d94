"""Moderation policy: which verdicts block, at which thresholds, and what a refusal says.

A policy turns a :class:`~oneguard.schema.Result` into a block / allow decision. It is shared by
the library guard, the proxy and the server, and can be written as YAML::

    block_prompts: true
    block_responses: true
    prompt_threshold: 0.5          # omit to use the model's own (dev-tuned) threshold
    response_threshold: 0.5
    blocked_categories: all        # or a list of subcategory keys
    allowed_categories: [copyright_violations]
    category_thresholds: {sexual_content: 0.8}
    refusal_message: "I'm sorry, but I can't help with that."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from oneguard.schema import HARMFUL, Result
from oneguard.taxonomy import CATEGORY_CLASSES

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that."


@dataclass(frozen=True)
class Policy:
    """Default: WildGuard's behaviour — block a harmful prompt, block a harmful response."""

    block_prompts: bool = True
    block_responses: bool = True
    #: Score at or above which a prompt/response counts as harmful; None = the model's label.
    prompt_threshold: float | None = None
    response_threshold: float | None = None
    #: Subcategories that may block (None = all). A result without a category always may.
    blocked_categories: frozenset[str] | None = None
    #: Subcategories that never block.
    allowed_categories: frozenset[str] = frozenset()
    #: Per-category harm-score threshold, overriding the task threshold for that category.
    category_thresholds: Mapping[str, float] = field(default_factory=dict)
    refusal_message: str = DEFAULT_REFUSAL

    def __post_init__(self) -> None:
        for name in ("prompt_threshold", "response_threshold"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"policy: {name} must be in [0, 1], got {value}")
        named = set(self.allowed_categories) | set(self.category_thresholds)
        if self.blocked_categories is not None:
            named |= set(self.blocked_categories)
        unknown = sorted(named - set(CATEGORY_CLASSES))
        if unknown:
            raise ValueError(
                f"policy: unknown categories {unknown}; valid: {', '.join(CATEGORY_CLASSES)}"
            )
        for key, value in self.category_thresholds.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"policy: category_thresholds[{key}] must be in [0, 1]")

    # -----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "policy") -> Policy:
        known = {f.name for f in fields(cls)}
        extra = sorted(set(raw) - known)
        if extra:
            raise ValueError(f"{where}: unknown keys {extra}; valid keys: {sorted(known)}")
        values = dict(raw)
        blocked = values.get("blocked_categories")
        if blocked == "all" or blocked is None:
            values["blocked_categories"] = None
        else:
            values["blocked_categories"] = frozenset(blocked)
        values["allowed_categories"] = frozenset(values.get("allowed_categories") or ())
        values["category_thresholds"] = dict(values.get("category_thresholds") or {})
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Policy:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ValueError(f"cannot read policy file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: invalid YAML: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path}: a policy is a mapping of keys to values")
        return cls.from_dict(raw, where=str(path))

    # -----------------------------------------------------------------------------------------
    def _harmful(
        self, label: str | None, score: float | None, threshold: float | None, category: str | None
    ) -> bool:
        if category is not None and category in self.category_thresholds and score is not None:
            return score >= self.category_thresholds[category]
        if threshold is not None and score is not None:
            return score >= threshold
        return label == HARMFUL

    def _category_may_block(self, category: str | None) -> bool:
        if category is None:
            return True
        if category in self.allowed_categories:
            return False
        return self.blocked_categories is None or category in self.blocked_categories

    def blocks_prompt(self, result: Result) -> bool:
        """Should this prompt be refused without calling the model?"""
        return (
            self.block_prompts
            and self._harmful(
                result.prompt_harmfulness,
                result.prompt_harmfulness_score,
                self.prompt_threshold,
                result.category,
            )
            and self._category_may_block(result.category)
        )

    def blocks_response(self, result: Result) -> bool:
        """Should this response be replaced by a refusal?"""
        return (
            self.block_responses
            and self._harmful(
                result.response_harmfulness,
                result.response_harmfulness_score,
                self.response_threshold,
                result.category,
            )
            and self._category_may_block(result.category)
        )
