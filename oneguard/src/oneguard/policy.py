"""Moderation policy: which verdicts block, at which thresholds, and what a refusal says.

A policy turns a :class:`~oneguard.schema.Result` into a block / allow decision. It is shared by
the library guard, the proxy, the server and the corpus engine, and is written as YAML::

    block_prompts: true
    block_responses: true
    prompt_threshold: 0.5          # omit to use the model's own (dev-tuned) threshold
    response_threshold: 0.5
    blocked_categories: all        # or a list of subcategory keys
    allowed_categories: [copyright_violations]
    category_thresholds: {sexual_content: 0.8}
    custom_categories:             # few-shot heads fitted by `oneguard policy fit`
      competitor_mentions:
        head: competitor_mentions.safetensors   # relative to this file
        threshold: 0.5
        applies_to: [prompt, response]
    refusal_message: "I'm sorry, but I can't help with that."

Shipped policies (``default``, ``strict``, ``lenient``) load by name: :meth:`Policy.load`.
A policy with custom categories needs a guard that scores them: :meth:`Policy.bind`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from oneguard.schema import HARMFUL, OPTIONAL_RESULT_KEYS, RESULT_KEYS, Result
from oneguard.taxonomy import CATEGORY_CLASSES

if TYPE_CHECKING:
    from oneguard.api import Guard
    from oneguard.custom_categories import CustomCategory, SentenceEmbedder

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that."
#: Folder of the policies shipped with oneguard.
SHIPPED_DIR = Path(__file__).resolve().parent / "policies"
#: Names :meth:`Policy.load` resolves to a shipped policy.
SHIPPED_POLICIES = ("default", "strict", "lenient")


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
    #: Extra categories defined by few-shot heads; each blocks where it applies.
    custom_categories: tuple[CustomCategory, ...] = ()

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
        names = [c.name for c in self.custom_categories]
        clashes = sorted({n for n in names if names.count(n) > 1 or n in CATEGORY_CLASSES})
        if clashes:
            raise ValueError(
                f"policy: custom category names {clashes} repeat or clash with a built-in one"
            )

    # -----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], where: str = "policy", base_dir: str | Path | None = None
    ) -> Policy:
        """Build from YAML-shaped data; custom heads are read relative to ``base_dir``."""
        known = {f.name for f in fields(cls)}
        extra = sorted(set(raw) - known)
        if extra:
            raise ValueError(f"{where}: unknown keys {extra}; valid keys: {sorted(known)}")
        values = dict(raw)
        blocked = values.get("blocked_categories")
        allowed = values.get("allowed_categories") or ()
        if (isinstance(blocked, str) and blocked != "all") or isinstance(allowed, str):
            raise ValueError(
                f"{where}: blocked_categories is 'all' or a list of categories, "
                "allowed_categories a list"
            )
        if blocked == "all" or blocked is None:
            values["blocked_categories"] = None
        else:
            values["blocked_categories"] = frozenset(blocked)
        values["allowed_categories"] = frozenset(allowed)
        values["category_thresholds"] = dict(values.get("category_thresholds") or {})
        try:
            values["custom_categories"] = _custom_categories(
                values.get("custom_categories") or {}, Path(base_dir or ".")
            )
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Policy:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ValueError(f"cannot read policy file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: invalid YAML: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path}: a policy is a mapping of keys to values")
        return cls.from_dict(raw, where=str(path), base_dir=path.parent)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str] | None) -> Policy:
        """A shipped policy by name (``default``, ``strict``, ``lenient``), or a YAML file;
        ``None`` is the default policy."""
        if name_or_path is None:
            return cls()
        if str(name_or_path) in SHIPPED_POLICIES and not Path(name_or_path).exists():
            return cls.from_yaml(SHIPPED_DIR / f"{name_or_path}.yaml")
        return cls.from_yaml(name_or_path)

    def to_dict(self, base_dir: str | Path | None = None) -> dict[str, Any]:
        """YAML-shaped data; head paths are written relative to ``base_dir`` when given."""
        custom = {}
        for category in self.custom_categories:
            head = category.head_path
            if head is not None and base_dir is not None:
                with contextlib.suppress(ValueError):  # ValueError: another drive (Windows)
                    head = Path(os.path.relpath(head, base_dir))
            custom[category.name] = {
                "head": None if head is None else head.as_posix(),
                "threshold": category.threshold,
                "applies_to": [t for t in ("prompt", "response") if t in category.applies_to],
            }
        blocked = self.blocked_categories
        return {
            "block_prompts": self.block_prompts,
            "block_responses": self.block_responses,
            "prompt_threshold": self.prompt_threshold,
            "response_threshold": self.response_threshold,
            "blocked_categories": "all" if blocked is None else sorted(blocked),
            "allowed_categories": sorted(self.allowed_categories),
            "category_thresholds": dict(self.category_thresholds),
            "custom_categories": custom,
            "refusal_message": self.refusal_message,
        }

    def to_yaml(self, path: str | Path) -> Path:
        """Write the policy (head paths relative to the file's folder)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.to_dict(path.parent), sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    def with_custom_category(self, category: CustomCategory) -> Policy:
        """This policy plus ``category`` (replacing a custom category of the same name)."""
        kept = tuple(c for c in self.custom_categories if c.name != category.name)
        return replace(self, custom_categories=(*kept, category))

    def bind(self, guard: Guard) -> Guard:
        """``guard`` itself when the policy has no custom categories (or ``guard`` already
        scores them); else a guard whose results also carry the custom category scores."""
        if not self.custom_categories:
            return guard
        from oneguard.api import Guard
        from oneguard.custom_categories import (
            CustomCategoryBackend,
            CustomCategoryScorer,
            embedder_for,
        )

        backend = guard.backend
        if isinstance(backend, CustomCategoryBackend):
            if backend.scorer.categories == self.custom_categories:
                return guard
            backend = backend.inner
        scorer = CustomCategoryScorer(self.custom_categories, embedder_for(backend))
        return Guard(CustomCategoryBackend(backend, scorer), batch_size=guard.batch_size)

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

    def custom_fired(self, result: Result, target: str) -> list[str]:
        """Names of the custom categories that fire on the ``"prompt"`` or ``"response"`` of
        ``result`` (whether or not the policy blocks that side)."""
        wanted = [c for c in self.custom_categories if target in c.applies_to]
        if not wanted:
            return []
        if result.prompt_custom_scores is None:
            raise ValueError(
                "this result has no custom category scores, but the policy defines "
                f"{[c.name for c in self.custom_categories]}: classify with a guard bound to "
                "the policy (policy.bind(guard))"
            )
        scores = (
            result.prompt_custom_scores if target == "prompt" else result.response_custom_scores
        )
        if scores is None:  # no response to judge
            return []
        return [c.name for c in wanted if c.fires(scores[c.name])]

    def _harm_blocks(
        self, label: str | None, score: float | None, threshold: float | None, result: Result
    ) -> bool:
        return self._harmful(label, score, threshold, result.category) and self._category_may_block(
            result.category
        )

    def blocks_prompt(self, result: Result) -> bool:
        """Should this prompt be refused without calling the model?"""
        if not self.block_prompts:
            return False
        return self._harm_blocks(
            result.prompt_harmfulness,
            result.prompt_harmfulness_score,
            self.prompt_threshold,
            result,
        ) or bool(self.custom_fired(result, "prompt"))

    def blocks_response(self, result: Result) -> bool:
        """Should this response be replaced by a refusal?"""
        if not self.block_responses:
            return False
        return self._harm_blocks(
            result.response_harmfulness,
            result.response_harmfulness_score,
            self.response_threshold,
            result,
        ) or bool(self.custom_fired(result, "response"))

    def blocks(self, result: Result) -> bool:
        """Should this exchange (a corpus row, say) be blocked: its prompt or its response?"""
        return self.blocks_prompt(result) or self.blocks_response(result)

    def reasons(self, result: Result) -> list[str]:
        """Why :meth:`blocks` is true, e.g. ``["prompt:harmful",
        "response:custom:competitor_mentions"]``; empty when nothing blocks."""
        reasons = []
        for target, label, score, threshold, enabled in (
            (
                "prompt",
                result.prompt_harmfulness,
                result.prompt_harmfulness_score,
                self.prompt_threshold,
                self.block_prompts,
            ),
            (
                "response",
                result.response_harmfulness,
                result.response_harmfulness_score,
                self.response_threshold,
                self.block_responses,
            ),
        ):
            if not enabled:
                continue
            if self._harm_blocks(label, score, threshold, result):
                reasons.append(f"{target}:harmful")
            reasons += [f"{target}:custom:{name}" for name in self.custom_fired(result, target)]
        return reasons


def output_columns(policy: Policy | None) -> list[str]:
    """Result columns of a classified row: the result fields, plus the custom category scores
    and ``blocked`` under a policy."""
    if policy is None:
        return list(RESULT_KEYS)
    custom = list(OPTIONAL_RESULT_KEYS) if policy.custom_categories else []
    return [*RESULT_KEYS, *custom, "blocked"]


def fit_custom_category(
    policy: Policy,
    examples: str | Path,
    name: str,
    out_dir: str | Path,
    *,
    threshold: float = 0.5,
    applies_to: tuple[str, ...] = ("prompt", "response"),
    embedder: SentenceEmbedder | None = None,
    background: bool = True,
) -> tuple[Policy, Path]:
    """Fit category ``name`` on the labelled ``examples`` (JSONL of ``{text, label}``) plus,
    with ``background``, the shipped generic negatives; save
    its head as ``out_dir/NAME.safetensors`` and ``policy`` plus the category as
    ``out_dir/policy.yaml``. Returns the new policy and the YAML's path."""
    from oneguard.custom_categories import (
        CustomCategory,
        FewShotHead,
        SentenceEmbedder,
        check_name,
        read_examples,
    )

    check_name(name)
    if name in CATEGORY_CLASSES:
        raise ValueError(f"{name!r} is a built-in category; give the custom one another name")
    texts, labels = read_examples(examples)
    head = FewShotHead.fit(
        name, texts, labels, embedder or SentenceEmbedder(), None if background else ()
    )
    out_dir = Path(out_dir)
    head_path = head.save(out_dir / f"{name}.safetensors")
    category = CustomCategory(name, head, threshold, frozenset(applies_to), head_path)
    fitted = policy.with_custom_category(category)
    return fitted, fitted.to_yaml(out_dir / "policy.yaml")


def _custom_categories(raw: Any, base_dir: Path) -> tuple[CustomCategory, ...]:
    """Parse the ``custom_categories`` mapping and load each head from disk."""
    from oneguard.custom_categories import CustomCategory, FewShotHead

    if not isinstance(raw, Mapping):
        raise ValueError("custom_categories must map a category name to {head, threshold, ...}")
    categories = []
    for name, spec in raw.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"custom_categories.{name} must be a mapping with at least 'head'")
        unknown = sorted(set(spec) - {"head", "threshold", "applies_to"})
        if unknown:
            raise ValueError(
                f"custom_categories.{name}: unknown keys {unknown}; "
                "valid keys: ['applies_to', 'head', 'threshold']"
            )
        if not isinstance(spec.get("head"), str):
            raise ValueError(f"custom_categories.{name}: 'head' must be the path of a head file")
        head_path = base_dir / spec["head"]
        head = FewShotHead.load(head_path)
        if head.name != name:
            raise ValueError(
                f"custom_categories.{name}: {head_path} holds the head of category {head.name!r}"
            )
        applies_to = spec.get("applies_to", ["prompt", "response"])
        if isinstance(applies_to, str):
            applies_to = [applies_to]
        threshold = spec.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"custom_categories.{name}: threshold must be a number")
        categories.append(
            CustomCategory(
                name=name,
                head=head,
                threshold=float(threshold),
                applies_to=frozenset(applies_to),
                head_path=head_path,
            )
        )
    return tuple(categories)
