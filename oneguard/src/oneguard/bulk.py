"""Classify a whole file of rows, resumably, without ever losing or repeating a row.

The output is appended batch by batch. After each batch, the output (and error file) are
fsync'ed and then one line is appended to a resume journal beside the output
(``<output>.oneguard-resume``): the next input row to do, the committed output position and
a fingerprint of the last row done. A rerun with the same settings reads the journal, cuts the
output back to the committed position (dropping a batch or half-line written when the process
was killed), skips the rows already done - checking that the last of them is still the same
row - and carries on. When the run completes the journal is removed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one run per output is then up to the user
    fcntl = None  # type: ignore[assignment]

from oneguard.api import Guard
from oneguard.files import (
    STDIO,
    FileAccessError,
    InvalidRow,
    JsonlWriter,
    Location,
    Row,
    RowReader,
    RowWriter,
    format_for_path,
    json_safe,
    open_writer,
    remove_output,
)
from oneguard.policy import Policy, output_columns
from oneguard.schema import RESULT_KEYS, Item, Result, to_item

JOURNAL_SUFFIX = ".oneguard-resume"
ERRORS_SUFFIX = ".errors.jsonl"
_JOURNAL_VERSION = 1
_RESULT_KEY_SET = frozenset(RESULT_KEYS)


class InvalidInputError(Exception):
    """A row (or the input as a whole) cannot be classified; the message names file, line and
    field. Everything committed before it stays in the output."""

    def __init__(self, message: str, row: InvalidRow | None = None) -> None:
        super().__init__(message)
        self.row = row


class EmptyInputError(InvalidInputError):
    """The input has no rows."""


class ResumeError(Exception):
    """The output and its resume journal do not fit this run (other settings, changed input,
    existing output without a journal); the message says what to do."""


class ModelError(Exception):
    """The backend failed on a batch; earlier batches stay committed."""


# ---------------------------------------------------------------------------------------------
# Rows -> classifier items


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold the prompt, the response, a chat (``messages``) and an id.

    With ``messages`` set, that field (a list of ``{role, content}``, or its JSON text as in a
    CSV cell) is the input; otherwise ``prompt`` and, when present, ``response``. A row without
    the response field is classified prompt-only unless ``response_required`` (set when the user
    named the field explicitly, so a typo does not silently drop every response).
    """

    prompt: str = "prompt"
    response: str = "response"
    response_required: bool = False
    messages: str | None = None
    id: str | None = None

    def required(self) -> list[str]:
        """Fields every row must have."""
        fields = [self.messages] if self.messages else [self.prompt]
        if self.messages is None and self.response_required:
            fields.append(self.response)
        if self.id:
            fields.append(self.id)
        return fields

    def to_item(self, row: Row) -> Item | InvalidRow:
        values = row.values

        def invalid(name: str, message: str) -> InvalidRow:
            return InvalidRow(row.location, message, name, json_safe(values))

        if self.id is not None and _is_null(values.get(self.id)):
            return invalid(self.id, "missing (it is the row id, --id-field)")
        if self.messages is not None:
            return self._messages_item(values, invalid)
        if self.prompt not in values:
            return invalid(self.prompt, "missing")
        prompt = values[self.prompt]
        if _is_null(prompt):
            return invalid(self.prompt, "is null")
        if not isinstance(prompt, str):
            return invalid(self.prompt, f"must be a string, got {_kind(prompt)}")
        response = None
        if self.response in values:
            response = values[self.response]
            if _is_null(response):
                response = None
            elif not isinstance(response, str):
                return invalid(self.response, f"must be a string, got {_kind(response)}")
        elif self.response_required:
            return invalid(self.response, "missing")
        return to_item({"prompt": prompt, "response": response})

    def _messages_item(
        self, values: dict[str, Any], invalid: Callable[[str, str], InvalidRow]
    ) -> Item | InvalidRow:
        name = self.messages
        assert name is not None
        if name not in values or _is_null(values[name]) or values[name] == "":
            return invalid(name, "missing")
        messages = values[name]
        if isinstance(messages, str):
            try:
                messages = json.loads(messages)
            except json.JSONDecodeError as error:
                return invalid(name, f"not valid JSON: {error.msg} (column {error.colno})")
        try:
            return to_item({"messages": messages})
        except ValueError as error:
            return invalid(name, str(error).removeprefix("item 0: "))


def result_row(
    values: dict[str, Any], result: Result, blocked: bool | None = None
) -> dict[str, Any]:
    """The input row with the result fields added (replacing input columns of the same name),
    and a policy's ``blocked`` verdict when given."""
    row = {key: value for key, value in values.items() if key not in RESULT_KEYS}
    row.update(result.to_dict())
    if blocked is not None:
        row["blocked"] = blocked
    return row


def _fingerprint(entry: Row | InvalidRow) -> str:
    content = entry.values if isinstance(entry, Row) else entry.raw
    text = json.dumps(json_safe(content), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Resume journal


class ResumeJournal:
    """Append-only JSONL: a settings header, then one commit record per batch. A line cut off
    by a kill is ignored (and cut away before the next append).

    :meth:`acquire` takes an exclusive lock on the journal for the whole run, so a second
    ``classify`` on the same output is refused instead of interleaving with the first; the
    operating system drops the lock when the process dies, even by ``kill -9``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: BinaryIO | None = None
        self._good_length = 0

    def acquire(self) -> bool:
        """Open (creating if needed) and lock; returns whether the file already existed."""
        existed = self.path.exists()
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise FileAccessError(f"cannot write {self.path}: {error.strerror}") from None
        self._stream = os.fdopen(descriptor, "r+b")
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.close()
                raise ResumeError(
                    f"another oneguard classify is writing to this output (it holds {self.path})"
                ) from None
        return existed

    def load(self) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """``(settings, last commit or None)``; ``None`` when no usable header was written."""
        assert self._stream is not None
        self._stream.seek(0)
        data = self._stream.read()
        settings: dict[str, Any] | None = None
        state: dict[str, Any] | None = None
        offset = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break
            if settings is None:
                if not isinstance(record, dict) or record.get("oneguard_resume") is None:
                    break
                settings = record["settings"]
            else:
                state = record
            offset += len(line)
        self._good_length = offset
        return None if settings is None else (settings, state)

    def start(self, settings: dict[str, Any]) -> None:
        """Begin a fresh journal."""
        self._good_length = 0
        self._cut()
        self._append({"oneguard_resume": _JOURNAL_VERSION, "settings": settings})

    def reopen(self) -> None:
        """Continue the journal just loaded, dropping a line cut off by a kill."""
        self._cut()

    def _cut(self) -> None:
        assert self._stream is not None
        try:
            self._stream.truncate(self._good_length)
            self._stream.seek(self._good_length)
        except OSError as error:
            raise FileAccessError(f"cannot write {self.path}: {error.strerror}") from None

    def commit(self, state: dict[str, Any]) -> None:
        self._append(state)

    def _append(self, record: dict[str, Any]) -> None:
        assert self._stream is not None
        try:
            self._stream.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
            self._stream.flush()
            os.fsync(self._stream.fileno())
        except OSError as error:
            raise FileAccessError(f"cannot write {self.path}: {error.strerror}") from None

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def remove(self) -> None:
        # Unlink before closing: the lock is held until the file is gone.
        self.path.unlink(missing_ok=True)
        self.close()


# ---------------------------------------------------------------------------------------------
# The job


@dataclass(frozen=True)
class ClassifySpec:
    """What to classify and where to put it. ``output="-"`` streams to stdout (no resume)."""

    input: str
    output: str = STDIO
    input_format: str | None = None
    output_format: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)
    model: str = "default"
    backend: str | None = None
    skip_invalid: bool = False
    errors: str | None = None
    mode: Literal["auto", "resume", "overwrite"] = "auto"
    #: A policy (shipped name or YAML): adds its custom category scores and ``blocked``.
    policy: str | None = None

    def errors_path(self) -> str | None:
        if self.errors is not None:
            return self.errors
        return None if self.output == STDIO else self.output + ERRORS_SUFFIX


@dataclass
class Summary:
    """How far a run got; kept up to date while it runs so an interrupt can report it."""

    output: str
    rows_total: int | None
    start_row: int
    next_row: int = 0
    classified: int = 0
    invalid: int = 0
    errors_path: str | None = None
    replaced_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.classified / self.seconds if self.seconds > 0 else 0.0


class ClassifyJob:
    """One run over one input. :meth:`prepare` does every check that needs no model (input
    readable and non-empty, output writable, resume state consistent), so errors come before
    the model loads; :meth:`run` classifies."""

    def __init__(self) -> None:  # use prepare()
        self.spec: ClassifySpec
        self.reader: RowReader
        self.writer: RowWriter
        self.summary: Summary
        self._entries: Iterator[Row | InvalidRow] | None = None
        self._journal: ResumeJournal | None = None
        self._errors: JsonlWriter | None = None
        self._errors_token: int | None = None
        self._last: dict[str, Any] | None = None
        self._verified = True
        self._closed = False
        self._source: Iterator[Row | InvalidRow] | None = None
        self.policy: Policy | None = None

    @property
    def resumed(self) -> bool:
        return self.summary.start_row > 0

    @classmethod
    def prepare(
        cls,
        spec: ClassifySpec,
        *,
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
    ) -> ClassifyJob:
        """Raises ``ValueError`` (bad settings), :class:`~oneguard.files.RowFileError`,
        :class:`InvalidInputError` (empty input, a required column absent) or
        :class:`ResumeError`."""
        job = cls()
        job.spec = spec
        job.policy = None if spec.policy is None else Policy.load(spec.policy)
        out_format = format_for_path(spec.output, spec.output_format)
        if spec.output == STDIO and out_format == "parquet":
            raise ValueError("Parquet cannot be written to stdout; give an output file")
        job.reader = RowReader(spec.input, spec.input_format, stdin=stdin)
        try:
            job._prepare(spec, out_format, stdout)
        except BaseException:
            job._close_input()
            raise
        return job

    def _prepare(self, spec: ClassifySpec, out_format: str, stdout: BinaryIO | None) -> None:
        """Peek at the input (empty? columns present?), count it, and open the output."""
        entries = iter(self.reader)
        first = next(entries, None)
        if first is None:
            raise EmptyInputError(f"{self.reader.name}: no rows to classify (the input is empty)")
        self._source = entries
        self._entries = _chain_first(first, entries)
        self._check_columns(first.location)
        total = self.reader.scan(columns=out_format == "csv" and self.reader.columns is None)
        columns = None
        if self.reader.columns is not None:
            columns = [c for c in self.reader.columns if c not in RESULT_KEYS]
            columns += output_columns(self.policy)
        self.summary = Summary(output=spec.output, rows_total=total, start_row=0)
        if spec.output == STDIO:
            self.writer = open_writer(STDIO, out_format, stdout=stdout)
            if spec.errors is not None:
                self.summary.errors_path = spec.errors
        else:
            self._prepare_file_output(out_format, columns)

    def _check_columns(self, where: Location) -> None:
        """A CSV/Parquet input declares its columns: a missing required one is one error for
        the file, not one per row."""
        columns = self.reader.columns
        if columns is None:
            return
        for name in self.spec.fields.required():
            if name not in columns:
                shown = ", ".join(repr(c) for c in columns) or "none"
                place = f"{where.file}:1" if self.reader.format == "csv" else where.file
                raise InvalidInputError(
                    f"{place}: no column {name!r} (columns: {shown}); "
                    "name the right one with --prompt-field/--response-field/--messages-field"
                    "/--id-field"
                )

    def _settings(self, out_format: str) -> dict[str, Any]:
        spec = self.spec
        errors = spec.errors_path()
        return {
            "input": spec.input if spec.input == STDIO else os.path.abspath(spec.input),
            "input_format": self.reader.format,
            "output_format": out_format,
            "prompt_field": spec.fields.prompt,
            "response_field": spec.fields.response,
            "messages_field": spec.fields.messages,
            "id_field": spec.fields.id,
            "model": spec.model,
            "backend": spec.backend,
            "errors": None if errors is None else os.path.abspath(errors),
            "policy": spec.policy,
        }

    def _prepare_file_output(self, out_format: str, columns: list[str] | None) -> None:
        spec = self.spec
        output = Path(spec.output)
        if not output.parent.exists():
            raise FileAccessError(
                f"cannot write {spec.output}: directory {output.parent} does not exist"
            )
        if not output.parent.is_dir():
            raise FileAccessError(f"cannot write {spec.output}: {output.parent} is not a directory")
        if output.is_dir():
            raise FileAccessError(f"cannot write {spec.output}: it is a directory")
        errors_path = spec.errors_path()
        _check_distinct_paths(spec.input, spec.output, errors_path)
        journal = ResumeJournal(Path(spec.output + JOURNAL_SUFFIX))
        self.summary.errors_path = errors_path
        settings = self._settings(out_format)
        existed = journal.acquire()
        try:
            self._open_output(journal, existed, out_format, columns, settings)
        except BaseException:
            if self._errors is not None:
                self._errors.close()
            if existed:
                journal.close()
            else:
                journal.remove()
            raise
        self._journal = journal

    def _open_output(
        self,
        journal: ResumeJournal,
        existed: bool,
        out_format: str,
        columns: list[str] | None,
        settings: dict[str, Any],
    ) -> None:
        """Resume from the journal or start afresh, and open the writers at the right place."""
        spec = self.spec
        errors_path = self.summary.errors_path
        loaded = journal.load() if existed and spec.mode != "overwrite" else None
        state: dict[str, Any] | None = None
        if loaded is not None:
            recorded, state = loaded
            _check_same_settings(spec.output, recorded, settings)
            journal.reopen()
        else:
            if spec.mode == "resume":
                raise ResumeError(
                    f"nothing to resume: no interrupted run is recorded for {spec.output}"
                )
            exists = Path(spec.output).exists() or Path(spec.output + ".parts").exists()
            if exists and spec.mode != "overwrite":
                raise ResumeError(
                    f"{spec.output} already exists and no interrupted run is recorded for "
                    "it; pass --overwrite to replace it, or choose another output"
                )
            remove_output(spec.output)
            if errors_path is not None:
                Path(errors_path).unlink(missing_ok=True)
            journal.start(settings)
        if state is not None:
            self.summary.start_row = self.summary.next_row = int(state["next_row"])
            self.summary.invalid = int(state.get("invalid", 0))
            self._errors_token = state.get("errors")
            self._last = state.get("last")
            self._verified = self._last is None
            if self._errors_token is not None and errors_path is not None:
                self._errors = JsonlWriter(errors_path, self._errors_token)
        token = None if state is None else state["output"]
        self.writer = open_writer(spec.output, out_format, token, columns=columns)
        if state is None:
            try:
                journal.commit(self._state(self.writer.commit()))
            except BaseException:
                self.writer.close()
                raise

    # -----------------------------------------------------------------------------------------

    def run(
        self,
        guard: Guard,
        on_progress: Callable[[int], None] | None = None,
        on_invalid: Callable[[InvalidRow], None] | None = None,
    ) -> Summary:
        """Classify every row not done yet, committing after each batch; finish the output.

        Raises :class:`InvalidInputError` at the first invalid row (unless the spec skips
        them), :class:`ResumeError` when the input no longer matches the journal,
        :class:`ModelError`, or :class:`~oneguard.files.FileAccessError`.
        """
        started = time.perf_counter()
        summary = self.summary
        if self.policy is not None:
            guard = self.policy.bind(guard)
        batch_size = guard.batch_size
        pending: list[tuple[Row, Item]] = []
        uncommitted_invalid = 0

        def flush(next_row: int, last: Row | InvalidRow | None) -> None:
            nonlocal pending, uncommitted_invalid
            done = next_row - summary.next_row
            self._classify(guard, pending)
            summary.classified += len(pending)
            summary.next_row = next_row
            if last is not None:
                self._last = self._describe_last(last)
            self._commit()
            pending, uncommitted_invalid = [], 0
            summary.seconds = time.perf_counter() - started
            if on_progress is not None and done:
                on_progress(done)

        entries = self._entries
        if entries is None:
            raise RuntimeError("ClassifyJob.run() needs a job made by ClassifyJob.prepare()")
        last_seen: Row | InvalidRow | None = None
        try:
            for entry in entries:
                index = entry.location.row
                if index < summary.start_row:
                    self._verify(entry)
                    continue
                self._verify_reached(entry)
                checked = self.spec.fields.to_item(entry) if isinstance(entry, Row) else entry
                if isinstance(checked, InvalidRow):
                    if not self.spec.skip_invalid:
                        flush(index, last_seen)
                        raise InvalidInputError(checked.describe(), checked)
                    self._record_invalid(checked, on_invalid)
                    uncommitted_invalid += 1
                else:
                    assert isinstance(entry, Row)
                    pending.append((entry, checked))
                last_seen = entry
                if len(pending) + uncommitted_invalid >= batch_size:
                    flush(index + 1, entry)
            if last_seen is not None:
                flush(last_seen.location.row + 1, last_seen)
            if summary.next_row < summary.start_row or not self._verified:
                raise ResumeError(
                    f"{self.reader.name} now has fewer rows than the interrupted run had "
                    f"already done ({summary.start_row}); the input changed - pass --overwrite "
                    "to start again"
                )
            self._finish()
        finally:
            self._close()
        summary.seconds = time.perf_counter() - started
        return summary

    def _classify(self, guard: Guard, pending: list[tuple[Row, Item]]) -> None:
        if not pending:
            return
        try:
            results = [r for batch in guard.iter_results([i for _, i in pending]) for r in batch]
        except Exception as error:
            first, last = pending[0][0].location, pending[-1][0].location
            raise ModelError(
                f"the model failed on rows {first} .. {last}: {type(error).__name__}: {error}"
            ) from error
        rows = []
        for (row, _), result in zip(pending, results, strict=True):
            replaced = _RESULT_KEY_SET.intersection(row.values)
            if replaced and not replaced.issubset(self.summary.replaced_columns):
                self.summary.replaced_columns = sorted(
                    replaced | set(self.summary.replaced_columns)
                )
            blocked = None if self.policy is None else self.policy.blocks(result)
            rows.append(result_row(row.values, result, blocked))
        try:
            self.writer.write(rows)
        except ValueError as error:
            raise InvalidInputError(f"{pending[0][0].location}: {error}") from None

    def _record_invalid(
        self, row: InvalidRow, on_invalid: Callable[[InvalidRow], None] | None
    ) -> None:
        self.summary.invalid += 1
        path = self.summary.errors_path
        if path is not None:
            if self._errors is None:
                self._errors = JsonlWriter(path, None)
            self._errors.write([row.to_record()])
        if on_invalid is not None:
            on_invalid(row)

    def _describe_last(self, entry: Row | InvalidRow) -> dict[str, Any]:
        last: dict[str, Any] = {"row": entry.location.row, "fingerprint": _fingerprint(entry)}
        id_field = self.spec.fields.id
        if id_field is not None and isinstance(entry, Row):
            last["id"] = json_safe(entry.values.get(id_field))
        return last

    def _verify(self, entry: Row | InvalidRow) -> None:
        """The last row the interrupted run did must be the same row now."""
        if self._last is None or entry.location.row != self._last["row"]:
            return
        now = self._describe_last(entry)
        if "id" in self._last and now.get("id") != self._last["id"]:
            raise ResumeError(
                f"{entry.location}: id {now.get('id')!r} is not the id the interrupted run "
                f"recorded for this row ({self._last['id']!r}); the input changed - pass "
                "--overwrite to start again"
            )
        if now["fingerprint"] != self._last["fingerprint"]:
            raise ResumeError(
                f"{entry.location}: this row differs from the one the interrupted run "
                "recorded; the input changed - pass --overwrite to start again"
            )
        self._verified = True

    def _verify_reached(self, entry: Row | InvalidRow) -> None:
        if not self._verified:
            raise ResumeError(
                f"{entry.location}: could not find the last row the interrupted run did; "
                "the input changed - pass --overwrite to start again"
            )

    def _commit(self) -> None:
        """Make the output and error file durable, then record how far they go."""
        token = self.writer.commit()
        if self._errors is not None:
            self._errors_token = self._errors.commit()
        if self._journal is not None:
            self._journal.commit(self._state(token))

    def _state(self, output_token: Any) -> dict[str, Any]:
        return {
            "next_row": self.summary.next_row,
            "output": output_token,
            "errors": self._errors_token,
            "classified": self.summary.classified,
            "invalid": self.summary.invalid,
            "last": self._last,
        }

    def _finish(self) -> None:
        self.writer.finish()
        if self._errors is not None:
            self._errors.finish()
            self._errors = None
        elif self.summary.errors_path is not None and self.spec.output != STDIO:
            # Only rows of an uncommitted batch of a killed run were there.
            Path(self.summary.errors_path).unlink(missing_ok=True)
        if self._journal is not None:
            self._journal.remove()
            self._journal = None

    def abandon(self) -> None:
        """Release the files after a failure; if this run started the output and nothing was
        done yet (the model did not load, the first row was bad), remove what it created so
        no empty output or journal is left behind. Committed work always stays."""
        self._close()
        if self._journal is None or self.summary.next_row > 0:
            return
        self._journal.remove()
        remove_output(self.spec.output)
        if self.summary.errors_path is not None:
            Path(self.summary.errors_path).unlink(missing_ok=True)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        if self._errors is not None:
            self._errors.close()
        if self._journal is not None:
            self._journal.close()
        self._close_input()

    def _close_input(self) -> None:
        for generator in (self._entries, self._source):
            close = getattr(generator, "close", None)
            if close is not None:
                close()
        self.reader.close()


def _chain_first(
    first: Row | InvalidRow, rest: Iterator[Row | InvalidRow]
) -> Iterator[Row | InvalidRow]:
    yield first
    yield from rest


def _check_distinct_paths(input_path: str, output: str, errors: str | None) -> None:
    """Refuse an output (or error file) that is the input: --overwrite would destroy it."""
    if input_path == STDIO:
        return
    source = os.path.realpath(input_path)
    for name, path in (("output", output), ("error file", errors)):
        if path is not None and os.path.realpath(path) == source:
            raise ValueError(f"the {name} {path} is the input file; choose another path")
    if errors is not None and os.path.realpath(errors) == os.path.realpath(output):
        raise ValueError(f"the error file {errors} is the output file; choose another path")


def _check_same_settings(output: str, recorded: dict[str, Any], now: dict[str, Any]) -> None:
    changed = [key for key in now if recorded.get(key) != now[key]]
    if changed:
        details = "; ".join(
            f"{key}: was {recorded.get(key)!r}, now {now[key]!r}" for key in changed
        )
        raise ResumeError(
            f"{output} holds an interrupted run with other settings ({details}); rerun with the "
            "same settings to resume it, or pass --overwrite to start again"
        )
