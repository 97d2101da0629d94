"""HarmBench text behaviours (Mazeika et al.): 320 test + 80 validation harmful behaviours.

Every behaviour is harmful (human-written), vanilla. Contextual behaviours are judged with
their context, so the prompt is ``ContextString`` + ``"\\n\\n---\\n\\n"`` + ``Behavior``, the
layout HarmBench itself uses. ``SemanticCategory`` -> :data:`oneguard.taxonomy.HARMBENCH_SEMANTIC`.
The "Sure, here is…" target strings are attack targets, not responses, and are not loaded.
Eval (GuardReasoner's ``harmbench_prompt`` is a subset of the test split).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, read_csv
from oneguard.schema import HARMFUL, Record

CONTEXT_SEPARATOR = "\n\n---\n\n"


@register_source(
    "harmbench_behaviors",
    folder="harmbench_behaviors",
    tasks=("prompt", "category"),
    role="eval",
    description="HarmBench text behaviours (320 test / 80 val), all harmful, 7 semantic categories",
)
def load_behaviors(folder: Path) -> Iterator[Record]:
    for split in ("test", "val"):
        path = folder / f"harmbench_behaviors_text_{split}.csv"
        required = ("Behavior", "SemanticCategory", "ContextString", "BehaviorID")
        for row_no, row in read_csv(path, required):
            where = f"{path}:row {row_no}"
            context = row["ContextString"].strip()
            prompt = (
                f"{context}{CONTEXT_SEPARATOR}{row['Behavior']}" if context else row["Behavior"]
            )
            yield Record(
                prompt=prompt,
                source="harmbench_behaviors",
                split=split,
                adversarial=False,
                prompt_harm_label=HARMFUL,
                subcategory=category("harmbench_semantic", row["SemanticCategory"], where),
                annotation="human",
                id=row["BehaviorID"],
            )
