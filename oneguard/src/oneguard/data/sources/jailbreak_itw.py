"""In-the-wild jailbreak prompts and forbidden questions (Shen et al., "Do Anything Now").

* ``jailbreak_prompts_2023_{05_07,12_25}.csv``: every row is a community-shared jailbreak
  prompt (``jailbreak`` is True throughout). As the manifest assigns, they are adversarial
  harmful prompts (``annotation="rule"``: harm follows from being a jailbreak, many templates
  hold a placeholder rather than a request). Rows are kept per file (the two snapshots overlap
  heavily; deduplication is the mix builder's job). Their use as augmentation templates lives
  in :mod:`oneguard.data.templates`.
* ``forbidden_question_set.csv``: 13 scenarios x 30 vanilla questions written to violate
  OpenAI's 2023 usage policy. Seven scenarios are harmful in WildGuard's sense; the six in
  :data:`oneguard.taxonomy.FORBIDDEN_QUESTION_UNLABELLED` (financial, legal and health advice,
  political lobbying, MLM/gambling, questions about the adult industry) are mostly ordinary
  requests, so their prompt harm stays unknown. Scenario -> subcategory via
  :data:`oneguard.taxonomy.FORBIDDEN_QUESTION_SCENARIOS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, category, read_csv
from oneguard.schema import HARMFUL, Record
from oneguard.taxonomy import FORBIDDEN_QUESTION_UNLABELLED, UNKNOWN, subcategory_for

SNAPSHOTS = ("2023_05_07", "2023_12_25")


@register_source(
    "jailbreak_itw_prompts",
    folder="jailbreak_llms_itw",
    tasks=("prompt", "adversarial"),
    role="train",
    description="In-the-wild jailbreak prompts, two snapshots (1,405 + 666 rows)",
)
def load_jailbreak_prompts(folder: Path) -> Iterator[Record]:
    for snapshot in SNAPSHOTS:
        path = folder / f"jailbreak_prompts_{snapshot}.csv"
        for row_no, row in read_csv(path, ("prompt", "jailbreak")):
            if row["jailbreak"] != "True":
                raise SourceFormatError(
                    f"{path}:row {row_no}: field 'jailbreak' = {row['jailbreak']!r}; "
                    "expected 'True' in every row"
                )
            yield Record(
                prompt=row["prompt"],
                source="jailbreak_itw_prompts",
                split=snapshot,
                adversarial=True,
                prompt_harm_label=HARMFUL,
                annotation="rule",
                id=f"{snapshot}:{row_no}",
            )


@register_source(
    "forbidden_questions",
    folder="jailbreak_llms_itw",
    tasks=("prompt", "category"),
    role="train",
    description="390 forbidden questions, 13 policy scenarios (7 harmful, 6 left unlabelled)",
)
def load_forbidden_questions(folder: Path) -> Iterator[Record]:
    path = folder / "forbidden_question_set.csv"
    required = ("content_policy_id", "content_policy_name", "q_id", "question")
    for row_no, row in read_csv(path, required):
        where = f"{path}:row {row_no}"
        scenario = row["content_policy_name"]
        key = category("forbidden_question_scenarios", scenario, where)
        label = UNKNOWN if scenario in FORBIDDEN_QUESTION_UNLABELLED else HARMFUL
        yield Record(
            prompt=row["question"],
            source="forbidden_questions",
            split=scenario,
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, key),
            annotation="rule",
            id=f"{row['content_policy_id']}:{row['q_id']}",
        )
