"""ToxicChat train split, human-annotated part (Lin et al., via JUDGE-BENCH): 2,801 real user
prompts to the Vicuna demo.

``toxicity`` majority_human 1 -> prompt harmful, 0 -> unharmful; ``jailbreaking`` 1/0 ->
``adversarial`` True/False (both human). No categories. Train; the ToxicChat test split
(wizard101, GuardReasoner) stays eval, and 160 prompts recur there (deduplicate).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import choice, expect_list, field, read_json
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import UNKNOWN, subcategory_for

TOXICITY = {"1": HARMFUL, "0": UNHARMFUL}
JAILBREAKING = {"1": True, "0": False}


def _majority(annotations: object, name: str, where: str) -> str:
    return field(field(annotations, name, where, dict), "majority_human", f"{where}: {name}")


@register_source(
    "toxicchat_train",
    folder="toxicchat_train",
    tasks=("prompt", "adversarial"),
    role="train",
    description="ToxicChat train (human-annotated part): 2,801 prompts, toxicity + jailbreaking",
)
def load_train(folder: Path) -> Iterator[Record]:
    path = folder / "toxic_chat_train.json"
    instances = expect_list(field(read_json(path), "instances", str(path), list), str(path))
    for position, item in enumerate(instances):
        where = f"{path}: instances[{position}]"
        annotations = field(item, "annotations", where, dict)
        label = choice(_majority(annotations, "toxicity", where), TOXICITY, where, "toxicity")
        adversarial = choice(
            _majority(annotations, "jailbreaking", where), JAILBREAKING, where, "jailbreaking"
        )
        yield Record(
            prompt=field(item, "instance", where),
            source="toxicchat_train",
            split="train",
            adversarial=adversarial,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human",
            id=field(item, "id", where),
        )
