"""Arena-Hard (v0.1, v2.0) and Arena-Bench-v1 prompts, and GPT-4-0314's answers to v0.1.

Real, hard Chatbot Arena prompts (coding, maths, writing). Unlabelled: benign by collection
-> unharmful, ``annotation="implied"``. GPT-4's answers to these capability prompts are
compliance examples (implied); their harm is not labelled. The cluster/category fields are
topics, not harm categories. Capability benchmarks: eval-only by rule (they leak into no
safety benchmark, but a model trained on them must not report Arena-Hard).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.data.sources._formats import SourceFormatError, field, read_jsonl
from oneguard.schema import COMPLIANCE, UNHARMFUL, Record
from oneguard.taxonomy import BENIGN


def _prompt_record(prompt: str, split: str, record_id: str) -> Record:
    return Record(
        prompt=prompt,
        source="arena_hard_prompts",
        split=split,
        prompt_harm_label=UNHARMFUL,
        subcategory=BENIGN,
        annotation="implied",
        id=record_id,
    )


@register_source(
    "arena_hard_prompts",
    folder="arena_hard_prompts",
    tasks=("prompt",),
    role="eval",
    description="Arena-Hard v0.1 (500), v2.0 (750), Arena-Bench-v1 (300) prompts; benign",
)
def load_prompts(folder: Path) -> Iterator[Record]:
    for version in ("arena-hard-v0.1", "arena-hard-v2.0"):
        path = folder / f"{version}_question.jsonl"
        for line_no, item in read_jsonl(path):
            where = f"{path}:{line_no}"
            yield _prompt_record(
                field(item, "prompt", where), version, f"{version}:{field(item, 'uid', where)}"
            )
    path = folder / "arena-bench-v1_question.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        turns = field(item, "turns", where, list)
        if len(turns) != 1 or not isinstance(turns[0], str):
            raise SourceFormatError(f"{where}: field 'turns' should hold one string")
        yield _prompt_record(
            turns[0], "arena-bench-v1", f"arena-bench-v1:{field(item, 'question_id', where)}"
        )


@register_source(
    "arena_hard_gpt4_answers",
    folder="arena_hard_prompts",
    tasks=("prompt", "refusal"),
    role="eval",
    description="GPT-4-0314 answers to the 500 Arena-Hard v0.1 prompts (compliance, implied)",
)
def load_gpt4_answers(folder: Path) -> Iterator[Record]:
    path = folder / "arena-hard-v0.1_model_answer_gpt-4-0314.jsonl"
    for line_no, item in read_jsonl(path):
        where = f"{path}:{line_no}"
        messages = field(item, "messages", where, list)
        if len(messages) != 2:
            raise SourceFormatError(f"{where}: expected a user and an assistant message")
        user, assistant = messages
        if field(user, "role", where) != "user" or field(assistant, "role", where) != "assistant":
            raise SourceFormatError(f"{where}: messages should be user then assistant")
        answer = field(field(assistant, "content", where, dict), "answer", where)
        yield Record(
            prompt=field(user, "content", where),
            response=answer,
            source="arena_hard_gpt4_answers",
            split=field(item, "model", where),
            prompt_harm_label=UNHARMFUL,
            response_refusal_label=COMPLIANCE,
            subcategory=BENIGN,
            annotation="implied",
            id=field(item, "uid", where),
        )
