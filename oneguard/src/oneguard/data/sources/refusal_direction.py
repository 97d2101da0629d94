"""refusal_direction prompt sets (Arditi et al. 2024): Alpaca instructions and TDC 2023
red-teaming behaviours.

* ``alpaca.json`` (31,323): Alpaca instructions without an input field. An unlabelled benign
  pool -> unharmful with ``annotation="implied"`` (synthetic self-instruct data; screen before
  use). Train. It contains wizard101's ``harmless_alpaca`` and STL's I-Alpaca, which are eval:
  deduplicate.
* ``tdc2023.json`` (100): TDC 2023 harmful behaviours -> harmful (human-written). ``category``
  is null throughout. A benchmark (39 overlap HarmBench): eval-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import expect_list, field, read_json
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import BENIGN, UNKNOWN


def _instructions(path: Path) -> Iterator[tuple[int, str]]:
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        yield position, field(item, "instruction", f"{path}: item {position}")


@register_source(
    "refusal_direction_alpaca",
    folder="refusal_direction_prompts",
    tasks=("prompt",),
    role="train",
    description="31,323 Alpaca instructions (unlabelled benign pool)",
)
def load_alpaca(folder: Path) -> Iterator[Record]:
    for position, instruction in _instructions(folder / "alpaca.json"):
        yield Record(
            prompt=instruction,
            source="refusal_direction_alpaca",
            split="alpaca",
            adversarial=False,
            prompt_harm_label=UNHARMFUL,
            subcategory=BENIGN,
            annotation="implied",
            id=str(position),
        )


@register_source(
    "refusal_direction_tdc2023",
    folder="refusal_direction_prompts",
    tasks=("prompt",),
    role="eval",
    description="TDC 2023 red-teaming behaviours (100 harmful), eval-only",
)
def load_tdc2023(folder: Path) -> Iterator[Record]:
    for position, instruction in _instructions(folder / "tdc2023.json"):
        yield Record(
            prompt=instruction,
            source="refusal_direction_tdc2023",
            split="tdc2023",
            adversarial=False,
            prompt_harm_label=HARMFUL,
            subcategory=UNKNOWN,
            annotation="human",
            id=str(position),
        )
