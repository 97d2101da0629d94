"""JailbreakBench attack artifacts: adversarial prompts for the 100 JBB harmful behaviours
(5 attacks x 4 target models) with the targets' responses.

Label mapping:

* Every prompt is an attack on a harmful behaviour -> prompt harmful, ``adversarial=True``.
* ``jailbroken`` is the JBB Llama-3-70B judge, not a human (``annotation="model"``): True ->
  response harmful and compliance; False -> response unharmful, refusal unknown.
  ``jailbroken_llama_guard1`` (a second judge, missing for DSN) is not used.
* ``category`` (10 JBB categories) -> :data:`oneguard.taxonomy.JAILBREAKBENCH_CATEGORIES`.

163 of the 1,800 records have ``prompt: null`` (attacks that produced no prompt, response also
null) and are skipped, leaving 1,637.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import (
    SourceFormatError,
    category,
    expect_list,
    field,
    read_json,
)
from oneguard.schema import COMPLIANCE, HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import UNKNOWN

JUDGE_LABELS = {True: (HARMFUL, COMPLIANCE), False: (UNHARMFUL, UNKNOWN)}


@register_source(
    "jbb_artifacts",
    folder="jbb_artifacts",
    tasks=("prompt", "response", "refusal", "adversarial", "category"),
    role="train",
    description="JailbreakBench artifacts: attack prompts + responses, LLM-judge labels (silver)",
)
def load_artifacts(folder: Path) -> Iterator[Record]:
    paths = sorted(folder.glob("*/*/*.json"))
    if not paths:
        raise SourceFormatError(f"{folder}: no <attack>/<type>/<model>.json artifact files")
    for path in paths:
        attack, model = path.parent.parent.name, path.stem
        jailbreaks = expect_list(field(read_json(path), "jailbreaks", str(path), list), str(path))
        for position, item in enumerate(jailbreaks):
            where = f"{path}: jailbreaks[{position}]"
            prompt = field(item, "prompt", where, (str, type(None)))
            if prompt is None:
                continue
            response = field(item, "response", where, str)
            jailbroken = field(item, "jailbroken", where, bool)
            harm, refusal = JUDGE_LABELS[jailbroken]
            yield Record(
                prompt=prompt,
                response=response,
                source="jbb_artifacts",
                split=f"{attack}/{model}",
                adversarial=True,
                prompt_harm_label=HARMFUL,
                response_harm_label=harm,
                response_refusal_label=refusal,
                subcategory=category(
                    "jailbreakbench_categories", field(item, "category", where), where
                ),
                annotation="model",
                id=f"{attack}/{model}:{field(item, 'index', where, int)}",
            )
