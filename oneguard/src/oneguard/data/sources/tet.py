"""TET, Thoroughly Engineered Toxicity (Luong et al. 2024): 2,546 real LMSYS-Chat-1M prompts
that made models produce toxic text (1,000 per Perspective metric; a prompt can carry several).

The prompts were selected by the toxicity of model *outputs*, not by a human prompt label, so
they are silver harmful prompts (``annotation="implied"``); some are harmless. The metric tags
describe outputs and do not give a category. Many are persona jailbreaks, but no per-prompt
flag says which, so ``adversarial`` is unknown. TET is a benchmark: eval-only by rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import expect_list, field, read_json
from oneguard.schema import HARMFUL, Record


@register_source(
    "tet",
    folder="tet_lmsys_toxic_prompts",
    tasks=("prompt",),
    role="eval",
    description="TET: 2,546 toxicity-eliciting LMSYS-Chat-1M prompts (silver harmful)",
)
def load_tet(folder: Path) -> Iterator[Record]:
    path = folder / "TET.json"
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        metrics = field(item, "metrics", where, list)
        yield Record(
            prompt=field(item, "query", where),
            source="tet",
            split="+".join(metrics),
            prompt_harm_label=HARMFUL,
            annotation="implied",
            id=f"{position}:{field(item, 'conversation_id', where)}",
        )
