"""Aegis 2.0 train sample (Ghosh et al., 900 rows copied by a third party): rows of Aegis 2.0
train with ``prompt_label == unsafe`` and ``response_label == safe`` (the copier's selection
rule), stratified by violated category.

Labels (human, from Aegis): prompt harmful, response unharmful. Many responses are refusals,
others off-topic base-model continuations; Aegis does not label refusal, so it stays unknown.
``category`` (Aegis 2.0 violated category) -> :data:`oneguard.taxonomy.AEGIS2_CATEGORIES`.
The copier's ``domain``/``task`` columns are keyword heuristics and are ignored. Train; drop
the prompts shared with BeaverTails test and GuardReasoner's Aegis/SafeRLHF sets first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, read_csv
from oneguard.schema import HARMFUL, UNHARMFUL, Record


@register_source(
    "aegis2_sample",
    folder="aegis2_train_sample",
    tasks=("prompt", "response", "category"),
    role="train",
    description="Aegis 2.0 train sample: 900 unsafe prompts with safe responses",
)
def load_sample(folder: Path) -> Iterator[Record]:
    path = folder / "aegis_900.csv"
    for row_no, row in read_csv(path, ("id", "prompt", "category", "instruct_response")):
        where = f"{path}:row {row_no}"
        yield Record(
            prompt=row["prompt"],
            response=row["instruct_response"],
            source="aegis2_sample",
            split="train",
            prompt_harm_label=HARMFUL,
            response_harm_label=UNHARMFUL,
            subcategory=category("aegis2_categories", row["category"], where),
            annotation="human",
            id=row["id"],
        )
