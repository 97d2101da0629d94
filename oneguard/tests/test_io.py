"""Row files: readers locate every row and report bad rows precisely; writers resume exactly."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from oneguard.files import (
    CsvWriter,
    FileAccessError,
    FileContentError,
    InvalidRow,
    JsonlWriter,
    ParquetWriter,
    Row,
    RowReader,
    cell_text,
    format_for_path,
    json_safe,
)


def read_all(path, fmt=None) -> list[Row | InvalidRow]:
    with RowReader(str(path), fmt) as reader:
        return list(reader)


# ---------------------------------------------------------------------------------------------
# Formats


def test_format_from_extension_and_override():
    assert format_for_path("a/b.JSONL") == "jsonl"
    assert format_for_path("x.ndjson") == "jsonl"
    assert format_for_path("x.csv") == "csv"
    assert format_for_path("x.pq") == "parquet"
    assert format_for_path("-") == "jsonl"
    assert format_for_path("x.txt", "csv") == "csv"
    with pytest.raises(ValueError, match=r"x\.txt: cannot tell the format.*'\.txt'"):
        format_for_path("x.txt")
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_for_path("x.csv", "xml")


# ---------------------------------------------------------------------------------------------
# JSONL


def test_jsonl_rows_carry_file_line_and_row(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"prompt": "a"}\r\n\n  \n{"prompt": "b\\u2028c"}\n{"prompt": "d"}'
    )
    rows = read_all(path)
    assert [r.values["prompt"] for r in rows] == ["a", "b\u2028c", "d"]
    assert [(r.location.row, r.location.line) for r in rows] == [(0, 1), (1, 4), (2, 5)]
    assert str(rows[1].location) == f"{path}:4"


def test_jsonl_bad_lines_become_invalid_rows_and_reading_goes_on(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"prompt": "ok"}\n'
        b'{"prompt": "cut\n'
        b"[1, 2]\n"
        b'{"prompt": "caf\xe9", "id": 1}\n'
        b'{"prompt": "x"} \xff\n'
        b'{"prompt": "last"}\n'
    )
    entries = read_all(path)
    assert [type(e).__name__ for e in entries] == [
        "Row", "InvalidRow", "InvalidRow", "InvalidRow", "InvalidRow", "Row"
    ]  # fmt: skip
    malformed, array, bad_field, bad_syntax = entries[1:5]
    assert malformed.describe().startswith(f"{path}:2: malformed JSON: Unterminated string")
    assert array.describe() == f"{path}:3: expected a JSON object, got an array"
    assert (
        bad_field.describe()
        == f"{path}:4: field 'prompt': invalid UTF-8: byte 0xe9 at offset 16 of the line"
    )
    assert bad_field.raw == '{"prompt": "caf\ufffd", "id": 1}'
    assert bad_syntax.field is None
    assert bad_syntax.describe() == f"{path}:5: invalid UTF-8: byte 0xff at offset 17 of the line"
    assert entries[5].location.row == 5 and entries[5].location.line == 6


def test_jsonl_scan_counts_rows_and_collects_columns_in_first_seen_order(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"b": 1, "a": 2}\n\n{"c": 3, "a": 4}\nnot json\n')
    with RowReader(str(path)) as reader:
        assert reader.scan() == 3
        assert reader.columns is None
        assert reader.scan(columns=True) == 3
        assert reader.columns == ["b", "a", "c"]


def test_missing_file_and_directory_are_access_errors(tmp_path):
    with pytest.raises(FileAccessError, match=r"input file not found: .*nope\.jsonl"):
        RowReader(str(tmp_path / "nope.jsonl"))
    with pytest.raises(FileAccessError, match="it is a directory"):
        RowReader(str(tmp_path), "jsonl")


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_line_numbers_follow_multiline_cells(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        b'id,prompt,response\n1,"two\nlines","a, b"\n\n2,"say ""hi""",\n3,short\n4,caf\xe9,r\n5,z,ok\n'
    )
    entries = read_all(path)
    first, second, short, bad, last = entries
    assert first.values == {"id": "1", "prompt": "two\nlines", "response": "a, b"}
    assert (first.location.line, second.location.line) == (2, 5)
    assert second.values == {"id": "2", "prompt": 'say "hi"', "response": ""}
    assert short.describe() == f"{path}:6: expected 3 cells (as in the header), found 2"
    assert (
        bad.describe()
        == f"{path}:7: field 'prompt': invalid UTF-8: byte 0xe9 at offset 4 of the value"
    )
    assert bad.raw == {"id": "4", "prompt": "caf\ufffd", "response": "r"}
    assert (last.location.row, last.location.line, last.values["id"]) == (4, 8, "5")


def test_csv_quoting_error_is_one_invalid_row(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('prompt\n"a"b\nfine\n')
    entries = read_all(path)
    assert isinstance(entries[0], InvalidRow)
    assert entries[0].describe().startswith(f"{path}:2: malformed CSV:")
    assert entries[1].values == {"prompt": "fine"}
    assert entries[1].location.line == 3


def test_csv_header_problems_are_file_errors(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("prompt,id,prompt\na,1,b\n")
    with pytest.raises(FileContentError, match=r"dup\.csv:1: duplicate column\(s\).*'prompt'"):
        read_all(path)


def test_csv_scan_counts_records_not_lines(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('prompt\n"a\nb\nc"\nd\n')
    with RowReader(str(path)) as reader:
        assert reader.scan() == 2
        assert reader.columns == ["prompt"]


# ---------------------------------------------------------------------------------------------
# Parquet


def test_parquet_rows_have_row_numbers_and_types(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"prompt": ["a", None], "score": [1.5, float("nan")], "n": [1, None]}), path
    )
    with RowReader(str(path)) as reader:
        assert reader.columns == ["prompt", "score", "n"]
        assert reader.scan() == 2
        rows = list(reader)
    assert rows[0].values == {"prompt": "a", "score": 1.5, "n": 1}
    assert rows[1].values["prompt"] is None and math.isnan(rows[1].values["score"])
    assert str(rows[1].location) == f"{path}: row 2"


def test_not_a_parquet_file_is_a_content_error(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("hello")
    with pytest.raises(FileContentError, match=r"fake\.parquet: not a readable Parquet file"):
        RowReader(str(path))


# ---------------------------------------------------------------------------------------------
# Value encoding


def test_json_safe_and_cell_text():
    assert json_safe({"x": float("nan"), "y": [float("inf"), 1.0]}) == {"x": None, "y": [None, 1.0]}
    assert cell_text(None) == "" and cell_text(float("nan")) == ""
    assert cell_text(True) == "true" and cell_text(0.25) == "0.25" and cell_text(7) == "7"
    assert cell_text('a,"b"') == 'a,"b"'
    assert cell_text({"violence": 0.9}) == '{"violence": 0.9}'
    assert cell_text(["é"]) == '["é"]'


# ---------------------------------------------------------------------------------------------
# Writers: commit tokens and reopening


def test_jsonl_writer_reopen_cuts_uncommitted_and_half_written_lines(tmp_path):
    path = tmp_path / "out.jsonl"
    writer = JsonlWriter(str(path))
    writer.write([{"a": 1}, {"a": 2}])
    token = writer.commit()
    writer.write([{"a": 3}])  # never committed
    writer.close()
    with path.open("ab") as stream:  # a kill mid-line
        stream.write(b'{"a": 4, "b": "half')
    reopened = JsonlWriter(str(path), token)
    reopened.write([{"a": 5}])
    reopened.finish()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"a": 1}, {"a": 2}, {"a": 5}
    ]  # fmt: skip


def test_jsonl_writer_refuses_a_file_shorter_than_its_commit(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("{}\n")
    with pytest.raises(FileContentError, match="shorter .* than its last recorded commit"):
        JsonlWriter(str(path), 100)
    with pytest.raises(FileContentError, match="was removed"):
        JsonlWriter(str(tmp_path / "gone.jsonl"), 100)


def test_jsonl_writer_to_missing_directory_is_an_access_error(tmp_path):
    with pytest.raises(FileAccessError, match=r"cannot write .*out\.jsonl: No such file"):
        JsonlWriter(str(tmp_path / "missing" / "out.jsonl"))


def test_csv_writer_header_once_and_resumed_columns(tmp_path):
    path = tmp_path / "out.csv"
    writer = CsvWriter(str(path), columns=["id", "text", "scores"])
    writer.write([{"id": 1, "text": "a,b", "scores": {"x": 0.5}}])
    token = writer.commit()
    writer.write([{"id": 2, "text": "lost"}])
    writer.close()
    assert token["columns"] == ["id", "text", "scores"]
    reopened = CsvWriter(str(path), token)
    reopened.write([{"id": 3, "text": None, "scores": True}])
    with pytest.raises(ValueError, match="column 'other' is not in the CSV header"):
        reopened.write([{"id": 4, "other": 1}])
    reopened.finish()
    assert path.read_text() == 'id,text,scores\n1,"a,b","{""x"": 0.5}"\n3,,true\n'


def test_parquet_writer_parts_survive_reopen_and_merge_with_widened_types(tmp_path):
    path = tmp_path / "out.parquet"
    writer = ParquetWriter(str(path))
    writer.write([{"id": 1, "note": None, "x": 1}])
    assert writer.commit() == 1
    writer.write([{"id": "b", "note": "n", "x": 2.5, "extra": True}])
    assert writer.commit() == 2
    writer.write([{"id": 99, "note": "uncommitted"}])
    writer.commit()  # a third part that the journal never recorded
    (writer.parts_dir / "part-00000003.tmp").write_bytes(b"half a part")
    writer.close()

    reopened = ParquetWriter(str(path), 2)
    assert sorted(p.name for p in reopened.parts_dir.iterdir()) == [
        "part-00000000.parquet", "part-00000001.parquet"
    ]  # fmt: skip
    reopened.write([{"id": 3, "note": "c", "x": 4}])
    reopened.finish()
    table = pq.read_table(path)
    assert not reopened.parts_dir.exists()
    assert table.schema.field("x").type == pa.float64()
    assert table.schema.field("note").type == pa.string()
    assert table.schema.field("id").type == pa.string()  # ints and text: kept as text
    assert table.to_pylist() == [
        {"id": "1", "note": None, "x": 1.0, "extra": None},
        {"id": "b", "note": "n", "x": 2.5, "extra": True},
        {"id": "3", "note": "c", "x": 4.0, "extra": None},
    ]


def test_parquet_writer_with_no_rows_writes_the_columns(tmp_path):
    path = tmp_path / "out.parquet"
    writer = ParquetWriter(str(path), columns=["prompt", "category"])
    writer.finish()
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.column_names == ["prompt", "category"]
