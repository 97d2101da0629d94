"""The WildGuard paper's public benchmarks, as packaged by GuardReasoner (MANIFEST entry 1).

Reads ``guardreasoner_benchmarks/normalized/*.jsonl`` (one JSON object a line:
``{id, source_benchmark, task, prompt, response, label}``) and yields one
:class:`~oneguard.schema.Record` per row, with ``source`` set to the benchmark's short name
(``toxicchat``, ``harmbench_response``, ...) and ``split="test"``. Eval only: never train on it.

XSTest-Resp harm: the paper text says "368 harmful, 78 benign" while its Table 14 puts
368/78 under a "Benign/Harmful" header. The data settles it: 78 rows are labelled
``harmful`` and they are the completions that do give violent or dangerous instructions; the
368 ``unharmful`` rows are refusals and answers to safe prompts. Positive (harmful) = 78.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from oneguard.data.registry import register_source
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Record

#: Folder under ``moderation/`` and the sub-folder with the normalised files.
FOLDER = "guardreasoner_benchmarks"
NORMALIZED = "normalized"


@dataclass(frozen=True)
class BenchmarkFile:
    """How one normalised file maps onto a benchmark name and a task."""

    stem: str
    benchmark: str
    task: str
    #: The ``task`` value the file itself carries on every row.
    file_task: str


#: Every file of the suite, in the order of the paper's Table 3 (then XSTest refusal).
BENCHMARK_FILES: tuple[BenchmarkFile, ...] = (
    BenchmarkFile("toxic_chat", "toxicchat", "prompt", "prompt_harm"),
    BenchmarkFile("OpenAIModeration", "openai_moderation", "prompt", "prompt_harm"),
    BenchmarkFile("AegisSafetyTest", "aegis", "prompt", "prompt_harm"),
    BenchmarkFile("SimpleSafetyTests", "simplesafetytests", "prompt", "prompt_harm"),
    BenchmarkFile("harmbench_prompt", "harmbench_prompt", "prompt", "prompt_harm"),
    BenchmarkFile("harmbench_response", "harmbench_response", "response", "response_harm"),
    BenchmarkFile("safe_rlhf", "saferlhf", "response", "response_harm"),
    BenchmarkFile("beaver_tails", "beavertails", "response", "response_harm"),
    BenchmarkFile("xstest_response_harmful", "xstest_response_harm", "response", "response_harm"),
    BenchmarkFile(
        "xstest_response_refusal", "xstest_response_refusal", "refusal", "response_refusal"
    ),
)

BENCHMARK_NAMES: tuple[str, ...] = tuple(f.benchmark for f in BENCHMARK_FILES)

#: Allowed ``label`` values per task.
_LABELS = {
    "prompt": (HARMFUL, UNHARMFUL),
    "response": (HARMFUL, UNHARMFUL),
    "refusal": (REFUSAL, COMPLIANCE),
}


class BenchmarkFileError(ValueError):
    """A row of a benchmark file is malformed; the message names file, line and field."""


def _string_field(row: dict, field: str, where: str, *, optional: bool = False) -> str | None:
    value = row.get(field)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BenchmarkFileError(f"{where}: field {field!r} must be a non-empty string")
    return value


def _record(row: object, spec: BenchmarkFile, where: str) -> Record:
    if not isinstance(row, dict):
        raise BenchmarkFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    if row.get("task") != spec.file_task:
        raise BenchmarkFileError(
            f"{where}: field 'task' is {row.get('task')!r}, expected {spec.file_task!r}"
        )
    prompt = _string_field(row, "prompt", where)
    response = _string_field(row, "response", where, optional=spec.task == "prompt")
    if spec.task == "prompt" and response is not None:
        raise BenchmarkFileError(f"{where}: prompt-only benchmark has a 'response'")
    label = row.get("label")
    if label not in _LABELS[spec.task]:
        raise BenchmarkFileError(
            f"{where}: field 'label' is {label!r}, expected one of {_LABELS[spec.task]}"
        )
    labels = {
        "prompt": {"prompt_harm_label": label},
        "response": {"response_harm_label": label},
        "refusal": {"response_refusal_label": label},
    }[spec.task]
    return Record(
        prompt=prompt,  # type: ignore[arg-type]
        response=response,
        source=spec.benchmark,
        split="test",
        id=str(row.get("id") or ""),
        annotation="human",
        **labels,
    )


def read_benchmark_file(path: Path, spec: BenchmarkFile) -> Iterator[Record]:
    """Records of one normalised file; raises :class:`BenchmarkFileError` on a bad row."""
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise BenchmarkFileError(f"{where}: invalid JSON ({err.msg})") from None
            yield _record(row, spec, where)


@register_source(
    "guardreasoner_benchmarks",
    folder=FOLDER,
    tasks=("prompt", "response", "refusal"),
    role="eval",
    description=(
        "WildGuard paper public benchmarks (ToxicChat, OpenAI Moderation, Aegis, SST, "
        "HarmBench prompt/response, SafeRLHF, BeaverTails, XSTest-Resp harm/refusal)"
    ),
)
def load_guardreasoner_benchmarks(folder: Path) -> Iterator[Record]:
    """All ten benchmarks; every file must be present (a partial suite would skew averages)."""
    normalized = folder / NORMALIZED
    missing = [f"{spec.stem}.jsonl" for spec in BENCHMARK_FILES]
    missing = [name for name in missing if not (normalized / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{normalized}: missing benchmark files: {', '.join(missing)}")
    for spec in BENCHMARK_FILES:
        yield from read_benchmark_file(normalized / f"{spec.stem}.jsonl", spec)
