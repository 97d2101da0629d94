"""PHTest (An et al.): 3,260 pseudo-harmful prompts and three models' responses to them.

Label mapping:

* ``Harmfulness`` harmless -> prompt unharmful; controversial -> unknown (borderline by the
  authors' own account, so no WildGuard label is faithful).
* ``Response_cls`` is automatic (an LLM judge, ``annotation="model"``), on the XSTest scale:
  ``1_full_compliance`` -> compliance, ``2_full_refusal`` and ``3_partial_refusal`` -> refusal
  (partial refusal counts as refusal, as in XSTest-Resp).

Roles follow the manifest: the prompts are an over-refusal benchmark (``phtest_prompts``,
eval); the responses train refusal (``phtest_responses``, train). Because the responses'
prompts are the benchmark's prompts, the train source never labels prompt harm, so the prompt
head never trains on the benchmark. Response harm is implied
(:func:`oneguard.schema.implied_response_harm`, ``annotation="rule"``): every response to a
harmless prompt, and a full refusal of a controversial one, is unharmful; a compliance or
partial refusal with a controversial prompt stays unknown. These are the harmless answers to
harmful-sounding requests that the response head otherwise never sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import choice, read_csv
from oneguard.schema import COMPLIANCE, REFUSAL, UNHARMFUL, Record, implied_response_harm
from oneguard.taxonomy import UNKNOWN, subcategory_for

HARMFULNESS = {"harmless": UNHARMFUL, "controversial": UNKNOWN}
RESPONSE_CLS = {
    "1_full_compliance": COMPLIANCE,
    "2_full_refusal": REFUSAL,
    "3_partial_refusal": REFUSAL,
}
MODELS = ("claude-3-haiku", "gpt-3.5", "llama-3-8b")


@register_source(
    "phtest_prompts",
    folder="phtest",
    tasks=("prompt",),
    role="eval",
    description="PHTest pseudo-harmful prompts (harmless 2,069 / controversial 1,191): over-refusal",
)
def load_prompts(folder: Path) -> Iterator[Record]:
    path = folder / "dataset_v0.1.csv"
    for row_no, row in read_csv(path, ("ID", "Request", "Harmfulness")):
        where = f"{path}:row {row_no}"
        label = choice(row["Harmfulness"], HARMFULNESS, where, "Harmfulness")
        yield Record(
            prompt=row["Request"],
            source="phtest_prompts",
            split="v0.1",
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human",
            id=row["ID"],
        )


@register_source(
    "phtest_responses",
    folder="phtest",
    tasks=("refusal", "response"),
    role="train",
    description="PHTest responses of 3 models: automatic refusal labels, implied response harm",
)
def load_responses(folder: Path) -> Iterator[Record]:
    for model in MODELS:
        path = folder / "evaluation_results" / f"{model}.csv"
        columns = ("ID", "Request", "Harmfulness", "Response", "Response_cls")
        for row_no, row in read_csv(path, columns):
            where = f"{path}:row {row_no}"
            prompt_harm = choice(row["Harmfulness"], HARMFULNESS, where, "Harmfulness")
            response_cls = row["Response_cls"]
            refusal = choice(response_cls, RESPONSE_CLS, where, "Response_cls")
            response_harm = implied_response_harm(prompt_harm, response_cls == "2_full_refusal")
            yield Record(
                prompt=row["Request"],
                response=row["Response"],
                source="phtest_responses",
                split=model,
                response_harm_label=response_harm,
                response_refusal_label=refusal,
                annotation="model" if response_harm == UNKNOWN else "rule",
                id=f"{model}:{row['ID']}",
            )
