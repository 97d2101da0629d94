"""JailbreakEval's Safe-RLHF-mini judge set: 4,000 PKU-SafeRLHF (question, answer) pairs.

``label`` 1 = unsafe response -> response harmful, 0 -> unharmful (PKU-SafeRLHF's human
``is_response_safe``). The questions carry no prompt label here and an unsafe answer is not
necessarily a compliance, so prompt harm and refusal stay unknown. Train role; deduplicate
against GuardReasoner's ``safe_rlhf`` benchmark before training.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import choice, read_csv
from oneguard.schema import HARMFUL, UNHARMFUL, Record

RESPONSE_LABELS = {"1": HARMFUL, "0": UNHARMFUL}


@register_source(
    "jailbreakeval_saferlhf",
    folder="jailbreakeval_judge_sets",
    tasks=("response",),
    role="train",
    description="Safe-RLHF-mini: 4,000 PKU-SafeRLHF QA pairs with human response-safety labels",
)
def load_saferlhf_mini(folder: Path) -> Iterator[Record]:
    path = folder / "Safe-RLHFmini.csv"
    for row_no, row in read_csv(path, ("question", "answer", "label")):
        where = f"{path}:row {row_no}"
        yield Record(
            prompt=row["question"],
            response=row["answer"],
            source="jailbreakeval_saferlhf",
            split="Safe-RLHFmini",
            response_harm_label=choice(row["label"], RESPONSE_LABELS, where, "label"),
            annotation="human",
            id=str(row_no),
        )
