"""Row files: stream rows out of JSONL, CSV and Parquet, and append rows back durably.

Readers never raise for one bad row: they yield an :class:`InvalidRow` that says where it is
(file, line, field) so the caller decides whether to stop or skip. Only whole-file problems
raise (:class:`FileAccessError` for missing/unwritable paths, :class:`FileContentError` for a
file that is not the format it claims).

Writers append and :meth:`~RowWriter.commit` returns a position token: the byte length for
JSONL/CSV, the number of part files for Parquet (a Parquet file has its index at the end, so
it cannot be appended to and survive a kill; committed batches are separate part files merged
by :meth:`~RowWriter.finish`). Reopening a writer at a token cuts off whatever was written
after that commit, including a line half-written when the process was killed.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("jsonl", "csv", "parquet")
STDIO = "-"

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_BOM = b"\xef\xbb\xbf"
#: Rows per row group in a merged Parquet file (parts are one batch each: far too small).
_PARQUET_ROW_GROUP = 65_536


class RowFileError(Exception):
    """A whole file cannot be used; the message names the file."""


class FileAccessError(RowFileError):
    """The file is missing, unreadable or unwritable (an I/O problem, not bad data)."""


class FileContentError(RowFileError):
    """The file is readable but is not valid in its format (no CSV header, not Parquet...)."""


def format_for_path(path: str, explicit: str | None = None) -> str:
    """The format of ``path``: ``explicit`` if given, else from the extension; stdin/stdout
    (``-``) is JSONL. Raises ``ValueError`` for an extension it does not know."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise ValueError(f"unknown format {explicit!r}; choose one of {', '.join(FORMATS)}")
        return explicit
    if path == STDIO:
        return "jsonl"
    suffix = Path(path).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise ValueError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use one of {known} or pass the format explicitly"
        ) from None


def _access_error(path: str, error: OSError, doing: str) -> FileAccessError:
    reason = error.strerror or str(error)
    if isinstance(error, FileNotFoundError) and doing == "read":
        return FileAccessError(f"input file not found: {path}")
    return FileAccessError(f"cannot {doing} {path}: {reason}")


# ---------------------------------------------------------------------------------------------
# Rows and where they came from


@dataclass(frozen=True)
class Location:
    """Where a row is: ``row`` counts data rows from 0 (blank lines and a CSV header do not
    count); ``line`` is the 1-based line in a text file, ``None`` for Parquet."""

    file: str
    row: int
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file}: row {self.row + 1}"


@dataclass(frozen=True)
class Row:
    location: Location
    values: dict[str, Any]


@dataclass(frozen=True)
class InvalidRow:
    """A row that cannot be used; ``raw`` is what the file held (JSON-safe) for the error file."""

    location: Location
    message: str
    field: str | None = None
    raw: Any = None

    def describe(self) -> str:
        """``file:line: field 'x': message`` - the one-line error shown to users."""
        field = f"field {self.field!r}: " if self.field is not None else ""
        return f"{self.location}: {field}{self.message}"

    def to_record(self) -> dict[str, Any]:
        """The row as a line of the error file."""
        return {
            "file": self.location.file,
            "line": self.location.line,
            "row": self.location.row,
            "field": self.field,
            "error": self.message,
            "input": self.raw,
        }


def _is_valid_utf8(value: Any) -> bool:
    """False when a string (or a key or item inside a dict/list) holds undecodable bytes,
    which the readers keep as surrogate escapes until they can name the field."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, Mapping):
        return all(_is_valid_utf8(k) and _is_valid_utf8(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_valid_utf8(item) for item in value)
    return True


def _first_bad_utf8(values: Mapping[str, Any]) -> str | None:
    """Name of the first field whose name or value is not valid UTF-8."""
    for key, value in values.items():
        if not (_is_valid_utf8(key) and _is_valid_utf8(value)):
            return key
    return None


def _utf8_error(error: UnicodeDecodeError, within: str) -> str:
    byte = error.object[error.start]
    return f"invalid UTF-8: byte 0x{byte:02x} at offset {error.start + 1} of the {within}"


# ---------------------------------------------------------------------------------------------
# Readers


class RowReader:
    """Stream rows of one input file (or stdin) in order; use as a context manager.

    ``columns`` is the column order when the format declares one up front (CSV header,
    Parquet schema), else ``None`` until :meth:`scan` has looked at every row.
    """

    def __init__(self, path: str, fmt: str | None = None, *, stdin: BinaryIO | None = None):
        self.path = path
        self.format = format_for_path(path, fmt)
        self.name = "<stdin>" if path == STDIO else path
        self.columns: list[str] | None = None
        self._stdin = stdin
        self._parquet: pq.ParquetFile | None = None
        if path == STDIO:
            if self.format != "jsonl":
                raise ValueError("stdin is read as JSONL; save other formats to a file first")
            return
        if Path(path).is_dir():
            raise FileAccessError(f"cannot read {path}: it is a directory")
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise _access_error(path, error, "read") from None
        if self.format == "parquet":
            self._parquet = self._open_parquet()
            self.columns = list(self._parquet.schema_arrow.names)

    def __enter__(self) -> RowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()

    def _open_parquet(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except OSError as error:
            raise _access_error(self.path, error, "read") from None
        except (pa.ArrowInvalid, pa.ArrowException) as error:
            raise FileContentError(f"{self.path}: not a readable Parquet file ({error})") from None

    def _binary(self) -> AbstractContextManager[BinaryIO]:
        """The input as bytes; stdin is left open for whoever else holds it."""
        if self.path == STDIO:
            return nullcontext(self._stdin or sys.stdin.buffer)
        try:
            return open(self.path, "rb")  # noqa: SIM115 - closed by the generator that reads it
        except OSError as error:
            raise _access_error(self.path, error, "read") from None

    def __iter__(self) -> Iterator[Row | InvalidRow]:
        if self.format == "jsonl":
            return self._jsonl()
        if self.format == "csv":
            return self._csv()
        return self._parquet_rows()

    def scan(self, *, columns: bool = False) -> int | None:
        """Count the rows (for a progress total) and, with ``columns=True``, collect the
        column names of a JSONL file in first-seen order. ``None`` for stdin (read once)."""
        if self.path == STDIO:
            return None
        if self._parquet is not None:
            return self._parquet.metadata.num_rows
        if self.format == "jsonl" and not columns:
            with self._binary() as stream:
                return sum(1 for line in stream if line.strip())
        seen: dict[str, None] = dict.fromkeys(self.columns or ())
        count = 0
        for entry in self:
            count += 1
            if isinstance(entry, Row):
                seen.update(dict.fromkeys(entry.values))
        if columns and self.format == "jsonl":
            self.columns = list(seen)
        return count

    def _jsonl(self) -> Iterator[Row | InvalidRow]:
        row = 0
        with self._binary() as stream:
            for line_number, raw in enumerate(stream, start=1):
                if line_number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                raw = raw.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                yield self._jsonl_row(raw, Location(self.name, row, line_number))
                row += 1

    @staticmethod
    def _jsonl_row(raw: bytes, where: Location) -> Row | InvalidRow:
        decode_error: UnicodeDecodeError | None = None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            decode_error = error
            text = raw.decode("utf-8", "surrogateescape")
        shown = raw.decode("utf-8", "replace")
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            if decode_error is not None:
                return InvalidRow(where, _utf8_error(decode_error, "line"), raw=shown)
            message = f"malformed JSON: {error.msg} (column {error.colno})"
            return InvalidRow(where, message, raw=shown)
        if not isinstance(values, dict):
            kind = "an array" if isinstance(values, list) else type(values).__name__
            return InvalidRow(where, f"expected a JSON object, got {kind}", raw=shown)
        if decode_error is not None:
            return InvalidRow(
                where, _utf8_error(decode_error, "line"), _first_bad_utf8(values), shown
            )
        return Row(where, values)

    def _csv(self) -> Iterator[Row | InvalidRow]:
        # Long responses exceed the csv module's default 128 KiB field limit.
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
        with self._binary() as stream:
            lines = _decoded_lines(stream)
            reader = csv.reader(lines, strict=True)
            header = self._csv_header(reader)
            self.columns = header
            row = 0
            while True:
                first_line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    where = Location(self.name, row, first_line)
                    yield InvalidRow(where, f"malformed CSV: {error}")
                    row += 1
                    continue
                if not cells:
                    continue
                where = Location(self.name, row, first_line)
                row += 1
                if len(cells) != len(header):
                    raw_cells = [
                        cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                        for cell in cells
                    ]
                    message = f"expected {len(header)} cells (as in the header), found {len(cells)}"
                    yield InvalidRow(where, message, raw=raw_cells)
                    continue
                values = dict(zip(header, cells, strict=True))
                bad = _first_bad_utf8(values)
                if bad is not None:
                    raw_values = {
                        key: value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                        for key, value in values.items()
                    }
                    byte_error = _utf8_error_in(values[bad])
                    yield InvalidRow(where, byte_error, bad, raw_values)
                    continue
                yield Row(where, values)

    def _csv_header(self, reader: Any) -> list[str]:
        try:
            header = next(reader, None)
        except csv.Error as error:
            raise FileContentError(f"{self.name}:1: malformed CSV header: {error}") from None
        while header == []:
            header = next(reader, None)
        if header is None:
            return []
        if _first_bad_utf8(dict.fromkeys(header)) is not None:
            raise FileContentError(f"{self.name}:{reader.line_num}: header is not valid UTF-8")
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise FileContentError(
                f"{self.name}:{reader.line_num}: duplicate column(s) in the header: "
                + ", ".join(repr(name) for name in duplicates)
            )
        return header

    def _parquet_rows(self) -> Iterator[Row | InvalidRow]:
        assert self._parquet is not None
        row = 0
        try:
            for batch in self._parquet.iter_batches(batch_size=1024):
                for values in batch.to_pylist():
                    yield Row(Location(self.name, row), values)
                    row += 1
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
            message = f"{self.name}: row {row + 1}: cannot read Parquet ({error})"
            raise FileContentError(message) from None


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Lines of a text file decoded as UTF-8; undecodable bytes are kept as surrogate escapes
    so the row holding them can be reported by line and field instead of failing the file."""
    for line_number, raw in enumerate(stream, start=1):
        if line_number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        yield raw.decode("utf-8", "surrogateescape")


def _utf8_error_in(text: str) -> str:
    raw = text.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _utf8_error(error, "value")
    return "invalid UTF-8"


# ---------------------------------------------------------------------------------------------
# Value encoding


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: NaN/inf become null (JSON has no NaN), dates ISO text,
    decimals and other scalars their text; dicts and lists recursively."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def json_line(values: Mapping[str, Any]) -> bytes:
    return (json.dumps(json_safe(values), ensure_ascii=False, allow_nan=False) + "\n").encode()


def cell_text(value: Any) -> str:
    """A value as a CSV cell: strings as they are, null/NaN empty, anything else JSON text
    (so ``True`` is ``true`` and a dict of scores is ``{"violence": 0.9}``)."""
    if isinstance(value, str):
        return value
    value = json_safe(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Writers


class RowWriter(Protocol):
    """Appends rows; nothing is durable until :meth:`commit`."""

    path: str

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None: ...

    def commit(self) -> Any:
        """Make everything written so far durable; return a JSON-able position token."""
        ...

    def finish(self) -> None:
        """Turn the committed rows into the final file and release it."""
        ...

    def close(self) -> None:
        """Release the file without finishing (the committed part stays resumable)."""
        ...


def _open_at(path: str, position: int | None) -> BinaryIO:
    """Open for appending: a fresh empty file when ``position`` is None, else the file cut
    back to ``position`` bytes (dropping anything written after that commit)."""
    try:
        if position is None:
            return open(path, "wb")  # noqa: SIM115 - owned by the writer
        size = os.path.getsize(path)
        if size < position:
            raise FileContentError(
                f"{path} is shorter ({size} bytes) than its last recorded commit ({position} "
                "bytes): it was changed after the interrupted run"
            )
        stream = open(path, "r+b")  # noqa: SIM115 - owned by the writer
        stream.truncate(position)
        stream.seek(position)
        return stream
    except FileNotFoundError as error:
        if position is None:
            raise _access_error(path, error, "write") from None
        if position > 0:
            raise FileContentError(
                f"{path} was removed after the interrupted run that wrote it"
            ) from None
        return _open_at(path, None)
    except OSError as error:
        raise _access_error(path, error, "write") from None


class _TextFileWriter:
    path: str

    def __init__(self, stream: BinaryIO, path: str, durable: bool) -> None:
        self._stream = stream
        self.path = path
        self._durable = durable

    def _put(self, data: bytes) -> None:
        try:
            self._stream.write(data)
        except OSError as error:
            raise _access_error(self.path, error, "write") from None

    def commit(self) -> Any:
        try:
            self._stream.flush()
            if self._durable:
                os.fsync(self._stream.fileno())
                return self._stream.tell()
        except OSError as error:
            raise _access_error(self.path, error, "write") from None
        return None

    def finish(self) -> None:
        self.commit()
        self.close()

    def close(self) -> None:
        if self._durable:
            self._stream.close()


class JsonlWriter(_TextFileWriter):
    """One JSON object per line. ``path="-"`` writes to stdout (not resumable)."""

    def __init__(self, path: str, position: int | None = None, stdout: BinaryIO | None = None):
        if path == STDIO:
            super().__init__(stdout or sys.stdout.buffer, path, durable=False)
        else:
            super().__init__(_open_at(path, position), path, durable=True)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._put(b"".join(json_line(row) for row in rows))


class CsvWriter(_TextFileWriter):
    """CSV with a header; the columns are fixed when the first row is written (or given up
    front), since a CSV header cannot grow later. Token: ``{"bytes", "columns"}``."""

    def __init__(
        self,
        path: str,
        token: Mapping[str, Any] | None = None,
        columns: list[str] | None = None,
        stdout: BinaryIO | None = None,
    ) -> None:
        position = None if token is None else int(token["bytes"])
        if path == STDIO:
            super().__init__(stdout or sys.stdout.buffer, path, durable=False)
        else:
            super().__init__(_open_at(path, position), path, durable=True)
        recorded = None if token is None else token.get("columns")
        self.columns: list[str] | None = recorded if position else columns
        self._header_written = bool(position)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.columns is None:
            self.columns = list(dict.fromkeys(key for row in rows for key in row))
        lines = _CsvLines()
        writer = csv.writer(lines, lineterminator="\n")
        if not self._header_written:
            writer.writerow(self.columns)
            self._header_written = True
        for row in rows:
            extra = [key for key in row if key not in self.columns]
            if extra:
                raise ValueError(
                    f"column {extra[0]!r} is not in the CSV header, which was fixed by the "
                    "first rows; write JSONL or Parquet to keep varying columns"
                )
            writer.writerow([cell_text(row.get(key)) for key in self.columns])
        self._put("".join(lines.parts).encode("utf-8"))

    def commit(self) -> Any:
        position = super().commit()
        return None if position is None else {"bytes": position, "columns": self.columns}


class _CsvLines:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


class ParquetWriter:
    """Each commit writes the rows since the last one as a part file (atomically, by rename)
    in ``<path>.parts/``; :meth:`finish` merges the parts into ``path``, widening column types
    where parts disagree (null -> string, int -> float; a column mixing text and numbers
    becomes text). Token: the number of committed parts."""

    def __init__(self, path: str, parts: int | None = None, columns: list[str] | None = None):
        if path == STDIO:
            raise ValueError("Parquet cannot be written to stdout; give an output file")
        self.path = path
        self.parts_dir = Path(path + ".parts")
        self.columns = columns
        self._pending: list[Mapping[str, Any]] = []
        try:
            if parts is None and self.parts_dir.exists():
                shutil.rmtree(self.parts_dir)
            self.parts_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise _access_error(str(self.parts_dir), error, "write") from None
        self._parts = parts or 0
        found = sorted(self.parts_dir.iterdir())
        committed = [p for p in found if p.suffix == ".parquet" and _part_index(p) < self._parts]
        if len(committed) < self._parts:
            raise FileContentError(
                f"{self.parts_dir} has fewer parts than its last recorded commit "
                f"({self._parts}): it was changed after the interrupted run"
            )
        for stale in found:  # parts written after the last commit, and temporary files
            if stale.suffix != ".parquet" or _part_index(stale) >= self._parts:
                stale.unlink()

    def _part_path(self, index: int) -> Path:
        return self.parts_dir / f"part-{index:08d}.parquet"

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._pending.extend(rows)

    def commit(self) -> Any:
        if self._pending:
            table = _table_from_rows(self._pending)
            target = self._part_path(self._parts)
            temporary = target.with_suffix(".tmp")
            try:
                pq.write_table(table, temporary)
                _fsync_path(temporary)
                os.replace(temporary, target)
                _fsync_path(self.parts_dir)
            except OSError as error:
                raise _access_error(str(target), error, "write") from None
            self._parts += 1
            self._pending = []
        return self._parts

    def finish(self) -> None:
        self.commit()
        parts = [self._part_path(i) for i in range(self._parts)]
        temporary = Path(self.path + ".tmp")
        try:
            _merge_parts(parts, temporary, self.columns or [])
            _fsync_path(temporary)
            os.replace(temporary, self.path)
            shutil.rmtree(self.parts_dir)
        except OSError as error:
            raise _access_error(self.path, error, "write") from None

    def close(self) -> None:
        self._pending = []


def _part_index(path: Path) -> int:
    try:
        return int(path.stem.removeprefix("part-"))
    except ValueError:
        return sys.maxsize


def _fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _column_array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Values of several kinds (e.g. ids that are sometimes numbers): keep them as text.
        return pa.array([None if v is None else cell_text(v) for v in values], pa.string())


def _table_from_rows(rows: list[Mapping[str, Any]]) -> pa.Table:
    names = list(dict.fromkeys(key for row in rows for key in row))
    return pa.table({name: _column_array([row.get(name) for row in rows]) for name in names})


def _as_text_column(column: pa.ChunkedArray) -> pa.Array:
    return pa.array([None if v is None else cell_text(v) for v in column.to_pylist()], pa.string())


def _merge_parts(parts: list[Path], target: Path, columns: list[str]) -> None:
    """Stream ``parts`` into one Parquet file with a schema every part fits."""
    schemas = [pq.read_schema(part) for part in parts]
    if not schemas:
        empty = pa.table({name: pa.nulls(0) for name in columns})
        pq.write_table(empty, target)
        return
    as_text: set[str] = set()
    names = list(dict.fromkeys(name for schema in schemas for name in schema.names))
    for name in names:
        typed = [pa.schema([s.field(name)]) for s in schemas if name in s.names]
        try:
            pa.unify_schemas(typed, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            as_text.add(name)
    fields = []
    for name in names:
        if name in as_text:
            fields.append(pa.field(name, pa.string()))
        else:
            typed = [pa.schema([s.field(name)]) for s in schemas if name in s.names]
            fields.append(pa.unify_schemas(typed, promote_options="permissive").field(name))
    schema = pa.schema(fields)

    def aligned(part: Path) -> pa.Table:
        table = pq.read_table(part)
        arrays = []
        for field in schema:
            if field.name not in table.column_names:
                arrays.append(pa.nulls(table.num_rows, field.type))
            elif field.name in as_text:
                arrays.append(_as_text_column(table.column(field.name)))
            else:
                arrays.append(table.column(field.name).cast(field.type))
        return pa.table(arrays, schema=schema)

    with pq.ParquetWriter(target, schema) as writer:
        buffered: list[pa.Table] = []
        rows = 0
        for part in parts:
            table = aligned(part)
            buffered.append(table)
            rows += table.num_rows
            if rows >= _PARQUET_ROW_GROUP:
                writer.write_table(pa.concat_tables(buffered), row_group_size=_PARQUET_ROW_GROUP)
                buffered, rows = [], 0
        if buffered:
            writer.write_table(pa.concat_tables(buffered), row_group_size=_PARQUET_ROW_GROUP)


def open_writer(
    path: str,
    fmt: str,
    token: Any = None,
    *,
    columns: list[str] | None = None,
    stdout: BinaryIO | None = None,
) -> RowWriter:
    """A writer for ``path`` in ``fmt``: fresh when ``token`` is None, else reopened at the
    committed position ``token`` from an earlier :meth:`RowWriter.commit`."""
    if fmt == "jsonl":
        return JsonlWriter(path, token, stdout=stdout)
    if fmt == "csv":
        return CsvWriter(path, token, columns=columns, stdout=stdout)
    if fmt == "parquet":
        return ParquetWriter(path, token, columns=columns)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def remove_output(path: str) -> None:
    """Delete an output file and any Parquet parts beside it (for ``--overwrite``)."""
    for candidate in (Path(path), Path(path + ".tmp")):
        candidate.unlink(missing_ok=True)
    shutil.rmtree(Path(path + ".parts"), ignore_errors=True)
