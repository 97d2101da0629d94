"""AdvBench harmful behaviours (Zou et al.): 520 harmful instructions, one per line.

All harmful, vanilla, no categories. Train role (no AdvBench metric is reported here); it
overlaps JBB, HarmBench and Red-Instruct's AdversarialQA, so deduplicate against eval sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import read_lines
from oneguard.schema import HARMFUL, Record


@register_source(
    "advbench",
    folder="advbench",
    tasks=("prompt",),
    role="train",
    description="AdvBench: 520 harmful behaviours",
)
def load_behaviors(folder: Path) -> Iterator[Record]:
    for line_no, text in read_lines(folder / "advbench.txt"):
        yield Record(
            prompt=text,
            source="advbench",
            split="harmful_behaviors",
            adversarial=False,
            prompt_harm_label=HARMFUL,
            annotation="human",
            id=str(line_no),
        )
