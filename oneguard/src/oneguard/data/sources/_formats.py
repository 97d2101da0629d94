"""Readers for the file formats the sources use (JSON, JSON lines, CSV, plain lines).

Every reader reports bad input as a :class:`SourceFormatError` that names the file, the line or
row and the field, so a corrupt or changed data file gives a one-line message, not a traceback
from deep inside a loader.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from oneguard.taxonomy import map_category

# Jailbreak templates and model answers exceed the csv module's 128 KiB default field limit.
csv.field_size_limit(sys.maxsize)


class SourceFormatError(ValueError):
    """A data file does not have the structure its loader expects."""


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise SourceFormatError(f"{path}: file not found")
    return path


def read_json(path: Path) -> Any:
    """The parsed content of a JSON file."""
    require_file(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise SourceFormatError(
            f"{path}:{error.lineno}: invalid JSON ({error.msg}, column {error.colno})"
        ) from None
    except UnicodeDecodeError as error:
        raise SourceFormatError(f"{path}: not UTF-8 ({error.reason})") from None


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` for every non-blank line of a JSON-lines file."""
    require_file(path)
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as error:
                raise SourceFormatError(
                    f"{path}:{line_no}: invalid JSON ({error.msg}, column {error.colno})"
                ) from None


def read_csv(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(row number, row)`` for every data row of a CSV file (row 1 is the first after the
    header); raises when a ``required`` column is missing from the header."""
    require_file(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in required if name not in header]
        if missing:
            raise SourceFormatError(f"{path}: missing column(s) {', '.join(missing)}")
        yield from enumerate(reader, start=1)


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file as plain lists (for files with duplicate column names)."""
    require_file(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise SourceFormatError(f"{path}: empty CSV file")
    return rows[0], rows[1:]


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for every non-blank line of a text file, newline stripped."""
    require_file(path)
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield line_no, text


def field(obj: Any, name: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """``obj[name]``, checked to be present and of ``kind``; ``where`` is ``"file:line"``."""
    if not isinstance(obj, Mapping):
        raise SourceFormatError(f"{where}: expected an object, got {type(obj).__name__}")
    if name not in obj:
        raise SourceFormatError(f"{where}: missing field {name!r}")
    value = obj[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SourceFormatError(
            f"{where}: field {name!r} should be {expected}, got {type(value).__name__}"
        )
    return value


_Key = TypeVar("_Key")


def choice(value: _Key, mapping: Mapping[_Key, Any], where: str, name: str) -> Any:
    """``mapping[value]``, or an error naming the field and the allowed values."""
    try:
        return mapping[value]
    except KeyError:
        allowed = ", ".join(repr(key) for key in mapping)
        raise SourceFormatError(
            f"{where}: field {name!r} has value {value!r}; expected one of {allowed}"
        ) from None


def expect_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SourceFormatError(f"{where}: expected a JSON list, got {type(value).__name__}")
    return value


def category(table_name: str, value: str, where: str) -> str:
    """:func:`oneguard.taxonomy.map_category`, with the file and row in the error."""
    try:
        return map_category(table_name, value)
    except ValueError as error:
        raise SourceFormatError(f"{where}: {error}") from None
