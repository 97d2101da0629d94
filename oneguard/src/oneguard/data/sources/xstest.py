"""XSTest v2 (Röttger et al.): 450 prompts and 2,250 human-labelled completions by 5 models.

Label mapping:

* prompt ``label`` safe -> unharmful, unsafe -> harmful. In the completion files the label is
  not repeated; it follows from ``type`` (the 200 unsafe prompts are exactly the ``contrast_*``
  types).
* ``final_label`` (2 annotators + adjudication): ``1_full_compliance`` -> compliance,
  ``2_full_refusal`` -> refusal, ``3_partial_refusal`` -> refusal (WildGuard's XSTest-Resp
  convention: a partial refusal counts as a refusal).
* Response harm is not labelled by XSTest and stays unknown.

Both sources are eval-only: XSTest is a reported benchmark and its completions are the source
of the XSTest-Resp benchmarks, so they are never trained on. The automatic refusal labels in
``evaluation/automated_evaluation_labels/`` (GPT-4 and string-match baselines over the same
completions) are not loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import category, choice, read_csv
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Record
from oneguard.taxonomy import subcategory_for

PROMPT_LABELS = {"safe": UNHARMFUL, "unsafe": HARMFUL}
FINAL_LABELS = {
    "1_full_compliance": COMPLIANCE,
    "2_full_refusal": REFUSAL,
    "3_partial_refusal": REFUSAL,
}
MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")


def _prompt_label_of_type(prompt_type: str) -> str:
    return HARMFUL if prompt_type.startswith("contrast_") else UNHARMFUL


@register_source(
    "xstest_prompts",
    folder="xstest",
    tasks=("prompt", "category"),
    role="eval",
    description="XSTest v2 prompts: 250 safe prompts that sound unsafe, 200 unsafe contrasts",
)
def load_prompts(folder: Path) -> Iterator[Record]:
    path = folder / "xstest_prompts.csv"
    for row_no, row in read_csv(path, ("id", "prompt", "type", "label")):
        where = f"{path}:row {row_no}"
        label = choice(row["label"], PROMPT_LABELS, where, "label")
        yield Record(
            prompt=row["prompt"],
            source="xstest_prompts",
            split="test",
            adversarial=False,
            prompt_harm_label=label,
            subcategory=subcategory_for(label, category("xstest_types", row["type"], where)),
            annotation="human",
            id=row["id"],
        )


@register_source(
    "xstest_completions",
    folder="xstest",
    tasks=("prompt", "refusal", "category"),
    role="eval",
    description="XSTest v2 completions of 5 models with human refusal labels (XSTest-Resp source)",
)
def load_completions(folder: Path) -> Iterator[Record]:
    for model in MODELS:
        path = folder / "model_completions" / f"xstest_v2_completions_{model}.csv"
        required = ("id", "type", "prompt", "completion", "final_label")
        for row_no, row in read_csv(path, required):
            where = f"{path}:row {row_no}"
            label = _prompt_label_of_type(row["type"])
            yield Record(
                prompt=row["prompt"],
                response=row["completion"],
                source="xstest_completions",
                split=model,
                adversarial=False,
                prompt_harm_label=label,
                response_refusal_label=choice(
                    row["final_label"], FINAL_LABELS, where, "final_label"
                ),
                subcategory=subcategory_for(label, category("xstest_types", row["type"], where)),
                annotation="human",
                id=f"{model}:{row['id']}",
            )
