"""A user's own labelled file as a benchmark (``oneguard eval --data FILE --task TASK``).

Accepted formats: JSON Lines (``.jsonl``), a JSON list (``.json``), CSV (``.csv``) and Parquet
(``.parquet``). Columns:

* ``prompt`` (required); ``response`` (required for the response and refusal tasks);
* the label: ``label``, or WildGuard's column for the task (``prompt_harm_label``,
  ``response_harm_label``, ``response_refusal_label``). Values: ``harmful``/``unharmful``,
  ``refusal``/``compliance``, or 1/0/true/false with 1 = positive (harmful, refusal).
  Rows with an empty label are skipped and counted;
* ``adversarial`` (optional, bool or 0/1): enables the adversarial/vanilla split.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oneguard.eval.suites import Benchmark
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, TASKS, UNHARMFUL, Record

_LABEL_COLUMNS = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}
_POSITIVE = {"prompt": HARMFUL, "response": HARMFUL, "refusal": REFUSAL}
_NEGATIVE = {"prompt": UNHARMFUL, "response": UNHARMFUL, "refusal": COMPLIANCE}
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, row) pairs; the location names the line (or row) for error messages."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{line_no}: invalid JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{line_no}: expected a JSON object")
                yield f"{path}:{line_no}", row
    elif suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: invalid JSON ({err.msg}, line {err.lineno})") from None
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of objects")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ValueError(f"{path}: item {i} is not an object")
            yield f"{path}: item {i}", row
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            # Header is line 1; DictReader's line_num counts physical lines read so far.
            reader = csv.DictReader(handle)
            for row in reader:
                yield f"{path}:{reader.line_num}", dict(row)
    elif suffix == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        for i, row in enumerate(frame.to_dict(orient="records")):
            yield f"{path}: row {i}", row
    else:
        raise ValueError(
            f"{path}: unsupported file type {suffix!r} (use .jsonl, .json, .csv or .parquet)"
        )


def _label(value: Any, task: str, where: str, column: str) -> str | None:
    if _is_empty(value):
        return None
    text = str(value).strip().lower()
    if text in (_POSITIVE[task], _NEGATIVE[task]):
        return text
    if text in _TRUE:
        return _POSITIVE[task]
    if text in _FALSE:
        return _NEGATIVE[task]
    raise ValueError(
        f"{where}: field {column!r} is {value!r}; expected {_POSITIVE[task]}/{_NEGATIVE[task]} "
        "or 1/0"
    )


def _adversarial(value: Any, where: str) -> bool | None:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{where}: field 'adversarial' is {value!r}; expected true/false or 1/0")


def load_labelled_file(path: str | Path, task: str, name: str | None = None) -> Benchmark:
    """Read ``path`` as a benchmark for ``task``; errors name the file, line and field."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data file not found: {path}")
    records: list[Record] = []
    unlabelled = 0
    label_column: str | None = None
    for where, row in _rows(path):
        if label_column is None:
            label_column = next((c for c in ("label", _LABEL_COLUMNS[task]) if c in row), None)
            if label_column is None:
                raise ValueError(
                    f"{where}: no label column; add 'label' or {_LABEL_COLUMNS[task]!r}"
                )
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{where}: field 'prompt' must be a non-empty string")
        response = row.get("response")
        response = None if _is_empty(response) else response
        if response is not None and not isinstance(response, str):
            raise ValueError(f"{where}: field 'response' must be a string")
        label = _label(row.get(label_column), task, where, label_column)
        if label is None:
            unlabelled += 1
            continue
        if task != "prompt" and response is None:
            raise ValueError(f"{where}: the {task} task needs a non-empty 'response'")
        records.append(
            Record(
                prompt=prompt,
                response=response if task != "prompt" else None,
                source=path.stem,
                split="test",
                adversarial=_adversarial(row.get("adversarial"), where),
                id=str(row.get("id", "") or ""),
                **{_LABEL_COLUMNS[task]: label},
            )
        )
    if not records:
        raise ValueError(f"{path}: no labelled rows for the {task} task")
    return Benchmark(
        name=name or path.stem,
        task=task,
        records=records,
        title=name or path.stem,
        origin=str(path),
        dropped_unlabelled=unlabelled,
    )
