"""JailBreakV-28K text-attack sample (Luo et al.; 600 rows copied by a third party): harmful
queries from 15 policies wrapped in template, logic or persuasion jailbreaks.

Every prompt is a jailbreak-wrapped harmful query -> harmful, ``adversarial=True``
(``annotation="rule"``: the benchmark's construction, no per-row label). ``category`` ->
:data:`oneguard.taxonomy.JAILBREAKV_POLICIES`. The copier's ``domain``/``task`` columns are
ignored. Some text is mojibake (UTF-8 read as GBK, e.g. ``doesn鈥檛``) and is kept as found.
Eval-only by rule (benchmark data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, read_csv
from oneguard.schema import HARMFUL, Record


@register_source(
    "jailbreakv_sample",
    folder="jailbreakv28k_text_sample",
    tasks=("prompt", "adversarial", "category"),
    role="eval",
    description="JailBreakV-28K text attacks: 600 jailbreak-wrapped harmful queries, 15 policies",
)
def load_sample(folder: Path) -> Iterator[Record]:
    path = folder / "jailbreak_600.csv"
    for row_no, row in read_csv(path, ("id", "prompt", "category")):
        where = f"{path}:row {row_no}"
        yield Record(
            prompt=row["prompt"],
            source="jailbreakv_sample",
            split="text_attacks",
            adversarial=True,
            prompt_harm_label=HARMFUL,
            subcategory=category("jailbreakv_policies", row["category"], where),
            annotation="rule",
            id=row["id"],
        )
