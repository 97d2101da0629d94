"""SimpleSafetyTests (Vidgen et al.): 100 clearly harmful prompts in 5 harm areas.

All harmful (human-written), vanilla; ``harm_area`` ->
:data:`oneguard.taxonomy.SIMPLESAFETYTESTS_HARM_AREAS`. Eval only (GuardReasoner's SST is
the same 100 prompts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, read_csv
from oneguard.schema import HARMFUL, Record


@register_source(
    "simplesafetytests",
    folder="simplesafetytests",
    tasks=("prompt", "category"),
    role="eval",
    description="SimpleSafetyTests: 100 harmful prompts, 5 harm areas",
)
def load_tests(folder: Path) -> Iterator[Record]:
    path = folder / "SimpleSafetyTests - test cases.csv"
    for row_no, row in read_csv(path, ("id", "harm_area", "prompts_final")):
        where = f"{path}:row {row_no}"
        yield Record(
            prompt=row["prompts_final"],
            source="simplesafetytests",
            split="test",
            adversarial=False,
            prompt_harm_label=HARMFUL,
            subcategory=category("simplesafetytests_harm_areas", row["harm_area"], where),
            annotation="human",
            id=row["id"],
        )
