"""AlpacaEval evaluation set with GPT-4 outputs: 805 instructions (self-instruct, OASST,
Koala, Anthropic helpful-base, Vicuna).

Mostly real or crowd-written benign requests: unlabelled -> prompt unharmful, the GPT-4
output compliance, both ``annotation="implied"``; response harm not labelled. ``dataset`` is
kept as the split. A capability benchmark: eval-only by rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import expect_list, field, read_json
from oneguard.schema import COMPLIANCE, UNHARMFUL, Record
from oneguard.taxonomy import BENIGN


@register_source(
    "alpaca_eval_gpt4",
    folder="alpaca_eval_gpt4",
    tasks=("prompt", "refusal"),
    role="eval",
    description="AlpacaEval: 805 benign instructions with GPT-4 answers (compliance, implied)",
)
def load_outputs(folder: Path) -> Iterator[Record]:
    path = folder / "model_outputs.json"
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        yield Record(
            prompt=field(item, "instruction", where),
            response=field(item, "output", where),
            source="alpaca_eval_gpt4",
            split=field(item, "dataset", where),
            prompt_harm_label=UNHARMFUL,
            response_refusal_label=COMPLIANCE,
            subcategory=BENIGN,
            annotation="implied",
            id=str(position),
        )
