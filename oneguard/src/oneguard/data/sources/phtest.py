"""PHTest (An et al.): 3,260 pseudo-harmful prompts and three models' responses to them.

Label mapping:

* ``Harmfulness`` harmless -> prompt unharmful; controversial -> unknown (borderline by the
  authors' own account, so no WildGuard label is faithful).
* ``Response_cls`` is automatic (an LLM judge, ``annotation="model"``), on the XSTest scale:
  ``1_full_compliance`` -> compliance, ``2_full_refusal`` and ``3_partial_refusal`` -> refusal
  (partial refusal counts as refusal, as in XSTest-Resp).

Roles: the manifest makes the prompts an over-refusal benchmark and the responses refusal
training data. The prompts are split in two halves by a hash of their ``ID`` (stable,
independent of file order): one half stays the benchmark (``phtest_prompts``, eval), the other
half's harmless prompts train the prompt head (``phtest_prompts_train``): they are the only
real harmful-sounding benign requests the training data has, the counter-examples to a prompt
head that flags words rather than requests. The responses (``phtest_responses``, train) never
label prompt harm, so the benchmark half's prompt labels are never trained on.

Response harm is implied (:func:`oneguard.schema.implied_response_harm`,
``annotation="rule"``): every response to a harmless prompt, and a full refusal of a
controversial one, is unharmful; a compliance or partial refusal with a controversial prompt
stays unknown. These are the harmless answers to harmful-sounding requests that the response
head otherwise never sees.
"""

from __future__ import annotations

import hashlib
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


def is_benchmark_half(prompt_id: str) -> bool:
    """Whether a PHTest prompt belongs to the held-out (benchmark) half."""
    return hashlib.sha256(prompt_id.encode()).digest()[0] % 2 == 0


def _prompts(folder: Path, source: str, benchmark_half: bool) -> Iterator[Record]:
    path = folder / "dataset_v0.1.csv"
    for row_no, row in read_csv(path, ("ID", "Request", "Harmfulness")):
        if is_benchmark_half(row["ID"]) != benchmark_half:
            continue
        where = f"{path}:row {row_no}"
        label = choice(row["Harmfulness"], HARMFULNESS, where, "Harmfulness")
        yield Record(
            prompt=row["Request"],
            source=source,
            split="v0.1",
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, UNKNOWN),
            annotation="human",
            id=row["ID"],
        )


@register_source(
    "phtest_prompts",
    folder="phtest",
    tasks=("prompt",),
    role="eval",
    description="PHTest pseudo-harmful prompts, benchmark half (harmless / controversial): "
    "over-refusal",
)
def load_prompts(folder: Path) -> Iterator[Record]:
    return _prompts(folder, "phtest_prompts", benchmark_half=True)


@register_source(
    "phtest_prompts_train",
    folder="phtest",
    tasks=("prompt",),
    role="train",
    description="PHTest pseudo-harmful prompts, training half, harmless ones: prompt-harm "
    "negatives that sound harmful",
)
def load_training_prompts(folder: Path) -> Iterator[Record]:
    for record in _prompts(folder, "phtest_prompts_train", benchmark_half=False):
        if record.prompt_harm_label == UNHARMFUL:
            yield record


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
