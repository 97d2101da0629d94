"""ToxiGen seed statements (Hartvigsen et al.): the 722 human-written statements that seed
ToxiGen's prompts, about 16 minority groups.

``label`` hate -> harmful, neutral -> unharmful (human-written as such). Hate statements are
implicit hate: stereotypes and claims of inferiority, hence
:data:`oneguard.taxonomy.TOXIGEN_GROUPS` maps every group to social stereotypes &
discrimination. The ``demonstrations/`` sentences are the same statements before prompt
assembly (a few case variants) and are not loaded twice. Train (small).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, choice, field, read_jsonl
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import subcategory_for

LABELS = {"hate": HARMFUL, "neutral": UNHARMFUL}


@register_source(
    "toxigen_statements",
    folder="toxigen_seed_statements",
    tasks=("prompt", "category"),
    role="train",
    description="ToxiGen seed statements: 425 implicit-hate / 297 neutral, 16 target groups",
)
def load_statements(folder: Path) -> Iterator[Record]:
    path = folder / "toxigen_prompt_statements.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        label = choice(field(item, "label", where), LABELS, where, "label")
        group = field(item, "target_group", where)
        yield Record(
            prompt=field(item, "text", where),
            source="toxigen_statements",
            split=group,
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, category("toxigen_groups", group, where)),
            annotation="human",
            id=str(line_no),
        )
