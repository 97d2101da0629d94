"""GPTFuzz hand-labelled responses (Yu et al.): responses of Vicuna-7B, ChatGPT and
Llama-2-7B-chat to jailbreak-wrapped harmful questions.

Label mapping:

* ``label`` 1 = jailbroken, i.e. the response complies with the harmful question -> response
  harmful and compliance; 0 -> response unharmful, refusal unknown (a 0 may be a refusal, an
  evasion or off-topic text).
* The jailbreak prompt that produced a response is not stored, only the index of the plain
  question, so each response is paired with ``question_list.csv[question]`` as a vanilla
  (``adversarial=False``) harmful prompt, as the manifest advises.
* The 100 questions are harmful by construction (sampled from harmful-question sets).

``train.csv`` (questions 0–79) trains; ``evaluate.csv`` (questions 80–99) is held out for the
guard-efficacy evaluation and is never trained on. The jailbreak templates in ``prompts/`` are
augmentation material (see :mod:`oneguard.data.templates`), not records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, choice, read_csv
from oneguard.schema import COMPLIANCE, HARMFUL, UNHARMFUL, Record
from oneguard.taxonomy import UNKNOWN

RESPONSE_LABELS = {"1": (HARMFUL, COMPLIANCE), "0": (UNHARMFUL, UNKNOWN)}


def _questions(folder: Path) -> dict[str, str]:
    path = folder / "questions" / "question_list.csv"
    return {row["index"]: row["text"] for _, row in read_csv(path, ("index", "text"))}


def _load(folder: Path, file_name: str, source: str, split: str) -> Iterator[Record]:
    questions = _questions(folder)
    path = folder / "responses_labeled" / file_name
    for row_no, row in read_csv(path, ("question", "Response", "label")):
        where = f"{path}:row {row_no}"
        if row["question"] not in questions:
            raise SourceFormatError(
                f"{where}: field 'question' = {row['question']!r} is not in question_list.csv"
            )
        harm, refusal = choice(row["label"], RESPONSE_LABELS, where, "label")
        yield Record(
            prompt=questions[row["question"]],
            response=row["Response"],
            source=source,
            split=split,
            adversarial=False,
            prompt_harm_label=HARMFUL,
            response_harm_label=harm,
            response_refusal_label=refusal,
            annotation="human",
            id=f"{split}:{row_no}",
        )


@register_source(
    "gptfuzz_train",
    folder="gptfuzz",
    tasks=("prompt", "response", "refusal"),
    role="train",
    description="GPTFuzz train.csv: 6,160 human-labelled responses to 80 harmful questions",
)
def load_train(folder: Path) -> Iterator[Record]:
    return _load(folder, "train.csv", "gptfuzz_train", "train")


@register_source(
    "gptfuzz_eval",
    folder="gptfuzz",
    tasks=("prompt", "response", "refusal"),
    role="eval",
    description="GPTFuzz evaluate.csv: 1,540 labelled responses; held out for guard efficacy",
)
def load_eval(folder: Path) -> Iterator[Record]:
    return _load(folder, "evaluate.csv", "gptfuzz_eval", "evaluate")
