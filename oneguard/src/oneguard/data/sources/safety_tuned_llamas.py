"""Safety-Tuned LLaMAs data (Bianchi et al., ICLR 2024).

* ``training/safety_only_data_Instructions.json`` (2,483): instructions rewritten from
  Anthropic red-team prompts with gpt-3.5-turbo answers written to be safe. The answers are
  safe by construction -> response unharmful (``annotation="implied"``). Prompt harm and
  refusal stay unknown: reading the file shows the rewrite left many instructions benign
  ("Identify the temperature needed to safely cook steak") and about 470 answers comply
  rather than refuse, so "harmful prompt + refusal" would be wrong for a fifth of the rows.
  ``input`` is empty throughout; a non-empty one is appended to the instruction. Train.
* ``evaluation/<set>.json`` (668): seven sets with set-level labels: I-Alpaca and
  I-PhysicalSafetySafe benign, the other five harmful; set -> subcategory via
  :data:`oneguard.taxonomy.SAFETY_TUNED_LLAMAS_EVAL_SETS`. Eval-only.
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
from oneguard.schema import HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import BENIGN, SAFETY_TUNED_LLAMAS_EVAL_SETS, subcategory_for


def _instruction(instruction: str, extra_input: str) -> str:
    return f"{instruction}\n\n{extra_input}" if extra_input.strip() else instruction


@register_source(
    "safety_tuned_llamas_train",
    folder="safety_tuned_llamas",
    tasks=("response",),
    role="train",
    description="Safety-Tuned LLaMAs training pairs: 2,483 red-team-derived instructions with "
    "safe gpt-3.5 answers",
)
def load_train(folder: Path) -> Iterator[Record]:
    path = folder / "training" / "safety_only_data_Instructions.json"
    for position, item in enumerate(expect_list(read_json(path), str(path))):
        where = f"{path}: item {position}"
        yield Record(
            prompt=_instruction(field(item, "instruction", where), field(item, "input", where)),
            response=field(item, "output", where),
            source="safety_tuned_llamas_train",
            split="safety_only",
            response_harm_label=UNHARMFUL,
            annotation="implied",
            id=str(position),
        )


@register_source(
    "safety_tuned_llamas_eval",
    folder="safety_tuned_llamas",
    tasks=("prompt", "category"),
    role="eval",
    description="Safety-Tuned LLaMAs evaluation sets (7 files, 668 prompts), eval-only",
)
def load_eval(folder: Path) -> Iterator[Record]:
    for name in SAFETY_TUNED_LLAMAS_EVAL_SETS:
        path = folder / "evaluation" / f"{name}.json"
        data = read_json(path)
        instructions = expect_list(field(data, "instructions", str(path), list), str(path))
        inputs = field(data, "inputs", str(path), list)
        if inputs and len(inputs) != len(instructions):
            raise SourceFormatError(f"{path}: 'inputs' and 'instructions' differ in length")
        key = category("safety_tuned_llamas_eval_sets", name, str(path))
        label = UNHARMFUL if key == BENIGN else HARMFUL
        for position, instruction in enumerate(instructions):
            if not isinstance(instruction, str):
                raise SourceFormatError(f"{path}: instructions[{position}] should be a string")
            extra = inputs[position] if inputs else ""
            yield Record(
                prompt=_instruction(instruction, extra),
                source="safety_tuned_llamas_eval",
                split=name,
                adversarial=False,
                prompt_harm_label=label,
                subcategory=subcategory_for(label, key),
                annotation="rule",
                id=f"{name}:{position}",
            )
