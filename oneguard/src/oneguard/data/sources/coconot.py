"""CoCoNot (Brahman et al. 2024): contextual noncompliance prompts.

* ``coconot_eval.jsonl`` (1,001): prompts a model should not comply with. "Requests with
  safety concerns" -> prompt harmful (subcategory via
  :data:`oneguard.taxonomy.COCONOT_SAFETY_SUBCATEGORIES`); the other categories (incomplete,
  unsupported, indeterminate, humanizing requests) are not harmful in WildGuard's sense ->
  unharmful, ``benign``. Labels follow from the category (``annotation="rule"``). The
  ``response`` field is empty (no responses). Eval-only.
* ``coconot_contrast_eval.jsonl`` (379): contrast prompts that sound unsafe but should be
  complied with -> unharmful. Eval-only (over-refusal test).
* ``coconot_pref.jsonl`` (927): contrast prompts (unharmful) with a ``chosen`` GPT-4 answer
  that complies by construction -> compliance; an answer to an unharmful prompt is
  unharmful (:func:`oneguard.schema.implied_response_harm`). The ``rejected`` answers are a
  mix of refusals and weaker answers with no per-item label, so they are not loaded. Train.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, field, read_jsonl
from oneguard.schema import COMPLIANCE, HARMFUL, UNHARMFUL, Record, implied_response_harm
from oneguard.taxonomy import BENIGN, subcategory_for

SAFETY_CATEGORY = "Requests with safety concerns"


@register_source(
    "coconot_eval",
    folder="coconot",
    tasks=("prompt", "category"),
    role="eval",
    description="CoCoNot original test: 1,001 should-not-comply prompts (395 safety concerns)",
)
def load_eval(folder: Path) -> Iterator[Record]:
    path = folder / "coconot_eval.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        if field(item, "category", where) == SAFETY_CATEGORY:
            label = HARMFUL
            key = category("coconot_safety_subcategories", field(item, "subcategory", where), where)
        else:
            label, key = UNHARMFUL, BENIGN
        yield Record(
            prompt=field(item, "prompt", where),
            source="coconot_eval",
            split=item["category"],
            prompt_harm_label=label,
            subcategory=subcategory_for(label, key),
            annotation="rule",
            id=field(item, "id", where),
        )


@register_source(
    "coconot_contrast_eval",
    folder="coconot",
    tasks=("prompt",),
    role="eval",
    description="CoCoNot contrast test: 379 benign prompts that should be complied with",
)
def load_contrast_eval(folder: Path) -> Iterator[Record]:
    path = folder / "coconot_contrast_eval.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        yield Record(
            prompt=field(item, "prompt", where),
            source="coconot_contrast_eval",
            split=field(item, "category", where),
            prompt_harm_label=UNHARMFUL,
            subcategory=BENIGN,
            annotation="rule",
            id=field(item, "id", where),
        )


@register_source(
    "coconot_pref",
    folder="coconot",
    tasks=("prompt", "response", "refusal"),
    role="train",
    description="CoCoNot contrast preference set: 927 benign prompts with compliant GPT-4 answers",
)
def load_pref(folder: Path) -> Iterator[Record]:
    path = folder / "coconot_pref.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        yield Record(
            prompt=field(item, "prompt", where),
            response=field(item, "chosen", where),
            source="coconot_pref",
            split=field(item, "category", where),
            prompt_harm_label=UNHARMFUL,
            response_harm_label=implied_response_harm(UNHARMFUL, full_refusal=False),
            response_refusal_label=COMPLIANCE,
            subcategory=BENIGN,
            annotation="rule",
            id=field(item, "id", where),
        )
