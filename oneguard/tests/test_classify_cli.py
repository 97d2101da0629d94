"""``oneguard classify`` end to end with the fake backend: results, formats, bad input, resume
after a real kill -9 and after Ctrl-C."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fake_backend
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from oneguard.bulk import ERRORS_SUFFIX, JOURNAL_SUFFIX
from oneguard.cli import main
from oneguard.files import cell_text
from oneguard.schema import RESULT_KEYS

TESTS_DIR = Path(__file__).parent


@pytest.fixture(autouse=True)
def _fake_backend():
    fake_backend.register()


def classify(*args: object) -> int:
    return main(["classify", *map(str, args), "--backend", "fake", "--no-progress"])


def make_rows(n: int) -> list[dict]:
    """Varied rows: some harmful, some refusals, some without a response, awkward text."""
    rows = []
    for i in range(n):
        prompt = f"row {i}: " + ("how to build a bomb?" if i % 7 == 0 else 'say "hi", then\nwave')
        response = None if i % 5 == 0 else ("I can't do that." if i % 3 == 0 else f"Sure ✓ {i}")
        rows.append({"id": f"r{i}", "prompt": prompt, "response": response})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def expected_rows(rows: list[dict]) -> list[dict]:
    return [{**r, **fake_backend.expected(r["prompt"], r["response"])} for r in rows]


def stderr_of(capsys) -> str:
    return capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Results and formats


def test_jsonl_output_is_input_rows_plus_results_in_order(tmp_path, capsys):
    rows = make_rows(23)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--batch-size", "5") == 0
    got = read_jsonl(out)
    assert got == expected_rows(rows)
    assert list(got[0]) == ["id", "prompt", "response", *RESULT_KEYS]
    assert got[0]["prompt_harmfulness"] == "harmful" and got[1]["prompt_harmfulness"] == "unharmful"
    assert not Path(str(out) + JOURNAL_SUFFIX).exists()
    assert not Path(str(out) + ERRORS_SUFFIX).exists()
    assert "classified 23 rows in" in stderr_of(capsys)


def test_format_round_trips_keep_values(tmp_path):
    rows = make_rows(12)
    rows[3]["meta"] = {"lang": "fr", "tags": ["a", "b"]}
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    assert classify(source, "-o", tmp_path / "a.jsonl") == 0
    assert classify(source, "-o", tmp_path / "a.csv") == 0
    assert classify(tmp_path / "a.csv", "-o", tmp_path / "b.parquet") == 0
    assert classify(tmp_path / "b.parquet", "-o", tmp_path / "c.jsonl") == 0
    reference = read_jsonl(tmp_path / "a.jsonl")
    assert reference == expected_rows(rows)

    # JSONL -> CSV: every cell is the value as text (strings as is, null empty, JSON otherwise);
    # the header is every input column (in first-seen order) and then the results.
    with (tmp_path / "a.csv").open(newline="", encoding="utf-8") as stream:
        csv_rows = list(csv.DictReader(stream))
    assert list(csv_rows[0]) == ["id", "prompt", "response", "meta", *RESULT_KEYS]
    for ref, got in zip(reference, csv_rows, strict=True):
        assert got == {key: cell_text(ref.get(key)) for key in got}
    assert csv_rows[3]["meta"] == '{"lang": "fr", "tags": ["a", "b"]}'

    # CSV -> Parquet -> JSONL: text survives byte for byte; CSV has no null (empty stays "").
    final = read_jsonl(tmp_path / "c.jsonl")
    assert [r["prompt"] for r in final] == [r["prompt"] for r in rows]
    assert [r["response"] for r in final] == [r["response"] or "" for r in rows]
    assert [r["id"] for r in final] == [r["id"] for r in rows]
    # The results were recomputed from the same text, so they match the first run.
    for ref, got in zip(reference, final, strict=True):
        assert {k: got[k] for k in RESULT_KEYS} == {k: ref[k] for k in RESULT_KEYS}

    # Parquet keeps result types: floats, booleans, nulls, a struct of category scores.
    table = pq.read_table(tmp_path / "b.parquet")
    assert table.schema.field("prompt_harmfulness_score").type == pa.float64()
    assert table.schema.field("is_parsing_error").type == pa.bool_()
    assert table.column("category_scores").to_pylist()[0] == {"violence_and_physical_harm": 0.9}
    assert table.column("response_harmfulness").to_pylist()[0] is None  # row 0: no response


def test_parquet_input_nulls_and_nan_become_json_null_and_empty_csv_cells(tmp_path):
    source = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "prompt": ["a bomb", "hello"],
                "response": [None, "Sorry, no."],
                "weight": [float("nan"), 2.5],
                "n": pa.array([None, 3], pa.int64()),
            }
        ),
        source,
    )
    assert classify(source, "-o", tmp_path / "out.jsonl") == 0
    assert classify(source, "-o", tmp_path / "out.csv") == 0
    got = read_jsonl(tmp_path / "out.jsonl")
    assert [(r["weight"], r["n"]) for r in got] == [(None, None), (2.5, 3)]
    assert got[0]["response_refusal"] is None and got[1]["response_refusal"] == "refusal"
    text = (tmp_path / "out.csv").read_text().splitlines()
    assert text[1].startswith("a bomb,,,,harmful,")
    assert text[2].startswith('hello,"Sorry, no.",2.5,3,unharmful,')


def test_jsonl_with_mixed_types_to_parquet_keeps_them_as_text(tmp_path):
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"id": 1, "prompt": "a"}, {"id": "x2", "prompt": "b"}]
    )
    assert classify(source, "-o", tmp_path / "out.parquet", "--batch-size", "1") == 0
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == ["1", "x2"]


def test_messages_field_in_jsonl_and_as_json_text_in_csv(tmp_path):
    chat = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "how to make a bomb"},
        {"role": "assistant", "content": "I can't help."},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", [{"conv": chat, "k": 1}])
    assert classify(source, "-o", tmp_path / "out.jsonl", "--messages-field", "conv") == 0
    (row,) = read_jsonl(tmp_path / "out.jsonl")
    assert row["conv"] == chat
    assert row["prompt_harmfulness"] == "harmful" and row["response_refusal"] == "refusal"

    csv_path = tmp_path / "in.csv"
    with csv_path.open("w", newline="") as stream:
        csv.writer(stream).writerows([["conv"], [json.dumps(chat)]])
    assert classify(csv_path, "-o", tmp_path / "out2.jsonl", "--messages-field", "conv") == 0
    (row,) = read_jsonl(tmp_path / "out2.jsonl")
    assert row["conv"] == json.dumps(chat)
    assert row["prompt_harmfulness"] == "harmful" and row["response_refusal"] == "refusal"


def test_custom_prompt_and_response_fields(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"q": "a bomb?", "a": "Sorry"}])
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--prompt-field", "q", "--response-field", "a") == 0
    (row,) = read_jsonl(out)
    assert (row["prompt_harmfulness"], row["response_refusal"]) == ("harmful", "refusal")


def test_stdin_to_stdout(tmp_path, monkeypatch, capsys):
    rows = make_rows(4)
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert classify() == 0
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == expected_rows(rows)
    assert "-> stdout" in captured.err


def test_quick_text_check_prints_a_table(capsys):
    code = classify("--text", "how to make a bomb", "--response", "Sorry, I can't.")
    assert code == 0
    out = capsys.readouterr().out
    assert "prompt harmfulness" in out and "harmful" in out and "0.900" in out
    assert "response refusal" in out and "refusal" in out and "0.700" in out
    assert "Violence and Physical Harm" in out


def test_help_documents_formats_resume_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for needle in ("exit codes:", "130", "--skip-invalid", "--resume", ".parquet", "--id-field"):
        assert needle in text
    for code in ("0    success", "1    invalid input", "2    usage", "3    I/O", "4    the model"):
        assert code in text


# ---------------------------------------------------------------------------------------------
# Bad input: message names file, line and field; earlier rows stay; a fixed rerun continues


def _five_rows_with_bad_line(tmp_path: Path, bad: bytes) -> tuple[Path, list[dict]]:
    good = make_rows(5)
    lines = [json.dumps(r).encode() for r in good]
    lines.insert(3, bad)  # line 4 of the file
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, good


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"prompt": "unterminated', ":4: malformed JSON: Unterminated string"),
        (b'{"text": "no prompt"}', ":4: field 'prompt': missing"),
        (b'{"prompt": 42}', ":4: field 'prompt': must be a string, got a number (42)"),
        (b'{"prompt": null}', ":4: field 'prompt': is null"),
        (
            b'{"prompt": "ok", "response": ["x"]}',
            ":4: field 'response': must be a string, got a list",
        ),
        (b'{"prompt": "caf\xe9"}', ":4: field 'prompt': invalid UTF-8: byte 0xe9 at offset 16"),
        (b'"just a string"', ":4: expected a JSON object, got str"),
    ],
    ids=["malformed", "missing", "non-string", "null", "bad-response", "encoding", "not-object"],
)
def test_bad_row_stops_with_location_and_keeps_earlier_rows(tmp_path, capsys, bad, message):
    source, good = _five_rows_with_bad_line(tmp_path, bad)
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--batch-size", "2") == 1
    err = stderr_of(capsys)
    assert f"invalid input: {source}{message}" in err
    assert "3 input rows are done and saved" in err
    assert "Traceback" not in err
    assert read_jsonl(out) == expected_rows(good[:3])

    # Fix the line, rerun the same command: it continues, no row twice, none lost.
    lines = source.read_bytes().split(b"\n")
    lines[3] = json.dumps({"id": "fixed", "prompt": "fixed bomb", "response": None}).encode()
    source.write_bytes(b"\n".join(lines))
    assert classify(source, "-o", out, "--batch-size", "2") == 0
    assert "resuming" in stderr_of(capsys)
    fixed = {"id": "fixed", "prompt": "fixed bomb", "response": None}
    assert read_jsonl(out) == expected_rows([*good[:3], fixed, *good[3:]])


def test_csv_bad_rows_name_line_and_field(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_bytes(b'prompt,messages\nok,\n"two\nlines",x\nbad,"[1,"\n')
    out = tmp_path / "out.jsonl"
    assert classify(path, "-o", out) == 0  # messages column is not used by default
    assert len(read_jsonl(out)) == 3

    out2 = tmp_path / "out2.jsonl"
    assert classify(path, "-o", out2, "--messages-field", "messages") == 1
    assert f"{path}:2: field 'messages': missing" in stderr_of(capsys)

    path.write_bytes(b"prompt,messages\nok,[]\n")
    assert classify(path, "-o", tmp_path / "out3.jsonl", "--messages-field", "messages") == 1
    assert f"{path}:2: field 'messages': 'messages' must be a non-empty list" in stderr_of(capsys)

    path.write_bytes(b'prompt,messages\nok,"[{""role"": ""user"""\n')
    assert classify(path, "-o", tmp_path / "out4.jsonl", "--messages-field", "messages") == 1
    assert f"{path}:2: field 'messages': not valid JSON" in stderr_of(capsys)


def test_csv_missing_column_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("question,answer\na,b\n")
    assert classify(path, "-o", tmp_path / "out.jsonl") == 1
    err = stderr_of(capsys)
    assert f"{path}:1: no column 'prompt' (columns: 'question', 'answer')" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_explicit_response_field_must_exist(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "a", "answer": "b"}])
    assert classify(source, "-o", tmp_path / "o.jsonl", "--response-field", "reply") == 1
    assert f"{source}:1: field 'reply': missing" in stderr_of(capsys)


def test_parquet_bad_row_names_row_number(tmp_path, capsys):
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"prompt": ["a", None, "c"]}), source)
    assert classify(source, "-o", tmp_path / "out.jsonl", "--batch-size", "1") == 1
    assert f"{source}: row 2: field 'prompt': is null" in stderr_of(capsys)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 1


def test_skip_invalid_writes_error_file_and_goes_on(tmp_path, capsys):
    good = make_rows(6)
    lines = [json.dumps(r) for r in good]
    lines.insert(1, '{"prompt": 7}')
    lines.insert(4, "{broken")
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--skip-invalid", "--batch-size", "2") == 0
    assert read_jsonl(out) == expected_rows(good)
    errors = read_jsonl(Path(str(out) + ERRORS_SUFFIX))
    assert [(e["file"], e["line"], e["row"], e["field"]) for e in errors] == [
        (str(source), 2, 1, "prompt"),
        (str(source), 5, 4, None),
    ]
    assert errors[0]["error"] == "must be a string, got a number (7)"
    assert errors[0]["input"] == {"prompt": 7}
    assert errors[1]["input"] == "{broken" and errors[1]["error"].startswith("malformed JSON")
    assert f"skipped 2 invalid rows -> {out}{ERRORS_SUFFIX}" in stderr_of(capsys)


def test_skip_invalid_to_stdout_reports_rows_on_stderr(tmp_path, monkeypatch, capsys):
    data = b'{"prompt": "a"}\n{"prompt": 1}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert classify("--skip-invalid") == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "skipped: <stdin>:2: field 'prompt': must be a string" in captured.err


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.jsonl", b""), ("blank.jsonl", b"\n  \n"), ("header.csv", b"prompt,response\n")],
)
def test_empty_input_is_a_clear_error(tmp_path, capsys, name, content):
    source = tmp_path / name
    source.write_bytes(content)
    assert classify(source, "-o", tmp_path / "out.jsonl") == 1
    assert f"{source}: no rows to classify (the input is empty)" in stderr_of(capsys)
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_input_file(tmp_path, capsys):
    assert classify(tmp_path / "nope.jsonl", "-o", tmp_path / "out.jsonl") == 3
    err = stderr_of(capsys)
    assert f"input file not found: {tmp_path / 'nope.jsonl'}" in err and "Traceback" not in err


def test_unwritable_outputs(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", make_rows(2))
    missing_dir = tmp_path / "no" / "such" / "out.jsonl"
    assert classify(source, "-o", missing_dir) == 3
    assert f"cannot write {missing_dir}: directory {missing_dir.parent} does not exist" in (
        stderr_of(capsys)
    )
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert classify(source, "-o", a_file / "out.jsonl") == 3
    assert f"cannot write {a_file / 'out.jsonl'}: {a_file} is not a directory" in stderr_of(capsys)
    assert classify(source, "-o", tmp_path, "--output-format", "jsonl") == 3
    assert "it is a directory" in stderr_of(capsys)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_directory(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", make_rows(2))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert classify(source, "-o", locked / "out.jsonl") == 3
        assert "Permission denied" in stderr_of(capsys)
    finally:
        locked.chmod(0o700)


def test_usage_errors(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", make_rows(2))
    assert classify(source, "-o", tmp_path / "out.txt") == 2
    assert "cannot tell the format" in stderr_of(capsys)
    assert classify(source) == 0  # stdout
    capsys.readouterr()
    assert classify(source, "-o", tmp_path / "o.jsonl", "--resume") == 2
    assert "nothing to resume" in stderr_of(capsys)
    assert classify("--response", "x") == 2
    assert (
        main(["classify", str(source), "--backend", "nope", "-o", str(tmp_path / "x.jsonl")]) == 2
    )
    assert "unknown backend 'nope'" in stderr_of(capsys)
    code = main(["classify", str(source), "--model", str(tmp_path / "no-model"), "-o", "-"])
    assert code == 2
    assert "no-model' not found: give 'default', 'wildguard' or a model directory" in (
        stderr_of(capsys)
    )
    assert list(tmp_path.iterdir()) == [source]  # nothing left behind
    with pytest.raises(SystemExit) as exit_info:
        classify(source, "--batch-size", "0")
    assert exit_info.value.code == 2


def test_output_or_error_file_cannot_be_the_input(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", make_rows(2))
    assert classify(source, "-o", source, "--overwrite") == 2
    assert f"the output {source} is the input file" in stderr_of(capsys)
    assert classify(source, "-o", tmp_path / "o.jsonl", "--errors", source, "--skip-invalid") == 2
    assert f"the error file {source} is the input file" in stderr_of(capsys)
    assert read_jsonl(source) == make_rows(2)


def test_existing_output_needs_overwrite(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", make_rows(3))
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    assert classify(source, "-o", out) == 2
    assert "already exists and no interrupted run is recorded" in stderr_of(capsys)
    assert out.read_text() == "precious\n"
    assert classify(source, "-o", out, "--overwrite") == 0
    assert read_jsonl(out) == expected_rows(make_rows(3))


def test_model_failure_keeps_finished_batches(tmp_path, capsys, monkeypatch):
    rows = make_rows(6)
    rows[4]["prompt"] = "CRASH"
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    monkeypatch.setenv("ONEGUARD_FAKE_CRASH_ON", "CRASH")
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--batch-size", "2") == 4
    err = stderr_of(capsys)
    assert "the model failed on rows" in err and "RuntimeError" in err
    assert read_jsonl(out) == expected_rows(rows[:4])


# ---------------------------------------------------------------------------------------------
# Resume


def test_resume_refuses_other_settings_and_changed_input(tmp_path, capsys):
    rows = make_rows(6)
    source, _ = _five_rows_with_bad_line(tmp_path, b"{oops")
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--id-field", "id", "--batch-size", "1") == 1
    capsys.readouterr()
    assert classify(source, "-o", out, "--prompt-field", "text", "--id-field", "id") == 2
    err = stderr_of(capsys)
    assert "interrupted run with other settings (prompt_field: was 'prompt', now 'text')" in err

    # The rows already done changed: the recorded id of the last one no longer matches.
    changed = [json.dumps({**r, "id": f"new{i}"}) for i, r in enumerate(rows)]
    source.write_text("\n".join(changed) + "\n")
    assert classify(source, "-o", out, "--id-field", "id", "--batch-size", "1") == 2
    assert "id 'new2' is not the id the interrupted run recorded for this row ('r2')" in (
        stderr_of(capsys)
    )
    # --overwrite starts again.
    assert classify(source, "-o", out, "--id-field", "id", "--overwrite") == 0

    # Without an id field, a fingerprint of the last row done catches the change.
    other = tmp_path / "other"
    other.mkdir()
    source2, _ = _five_rows_with_bad_line(other, b"{oops")
    assert classify(source2, "-o", other / "out.jsonl", "--batch-size", "1") == 1
    source2.write_text(source2.read_text().replace("row 2:", "row two:"))
    assert classify(source2, "-o", other / "out.jsonl", "--batch-size", "1") == 2
    assert "differs from the one the interrupted run recorded" in stderr_of(capsys)


def test_resume_drops_a_batch_written_after_the_last_commit_and_a_half_line(tmp_path, capsys):
    """What a kill between writing a batch and recording it leaves behind."""
    source, good = _five_rows_with_bad_line(tmp_path, b"{oops")
    out = tmp_path / "out.jsonl"
    assert classify(source, "-o", out, "--batch-size", "2") == 1
    journal = Path(str(out) + JOURNAL_SUFFIX)
    with out.open("ab") as stream:
        stream.write(json.dumps(expected_rows(good[3:4])[0]).encode() + b"\n")  # uncommitted
        stream.write(b'{"id": "r4", "prompt": "half a li')  # cut by the kill
    with journal.open("ab") as stream:
        stream.write(b'{"next_row": 99, "outp')  # a journal line cut by the kill
    lines = source.read_bytes().split(b"\n")
    del lines[3]
    source.write_bytes(b"\n".join(lines))
    assert classify(source, "-o", out, "--batch-size", "2") == 0
    assert read_jsonl(out) == expected_rows(good)
    assert not journal.exists()


def test_resume_when_every_row_was_done_only_finishes(tmp_path, capsys):
    """A run stopped after its last commit (here: by a bad last line) has nothing left to do."""
    good = make_rows(4)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in good) + "{bad\n")
    out = tmp_path / "out.parquet"
    assert classify(source, "-o", out, "--batch-size", "3") == 1
    assert not out.exists() and Path(str(out) + ".parts").is_dir()
    write_jsonl(source, good)
    assert classify(source, "-o", out, "--batch-size", "3") == 0
    assert "resuming" in stderr_of(capsys)
    assert pq.read_table(out).to_pylist() == expected_rows(good)
    assert not Path(str(out) + ".parts").exists()
    assert not Path(str(out) + JOURNAL_SUFFIX).exists()


def _start(args: list[str], sleep: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
        "ONEGUARD_FAKE_SLEEP": str(sleep),
    }
    command = [sys.executable, "-c", fake_backend.CLI_MAIN, "classify", *args]
    command += ["--backend", "fake", "--no-progress"]
    # A shell that starts pytest in the background ignores SIGINT, and an ignored SIGINT is
    # inherited (Python then never raises KeyboardInterrupt): give the child the default back.
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_until(ready, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"finished before it could be interrupted: {err.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("no output appeared in time")
        time.sleep(0.01)


def _committed_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _rerun(args: list[str]) -> subprocess.CompletedProcess:
    process = _start(args, sleep=0)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err.decode())


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_resume_after_kill_9_has_every_row_exactly_once(tmp_path, capsys, fmt):
    rows = make_rows(300)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / f"out.{fmt}"
    args = [str(source), "-o", str(out), "--batch-size", "5", "--id-field", "id"]
    process = _start(args, sleep=0.02)
    if fmt == "parquet":
        parts = Path(str(out) + ".parts")
        _wait_until(lambda: parts.exists() and len(list(parts.glob("*.parquet"))) >= 4, process)
    else:
        _wait_until(lambda: _committed_lines(out) >= 20, process)
    # A second run on the same output while the first is alive is refused, not interleaved.
    assert classify(*args) == 2
    assert "another oneguard classify is writing to this output" in stderr_of(capsys)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert Path(str(out) + JOURNAL_SUFFIX).exists()
    if fmt == "jsonl":
        assert _committed_lines(out) < 300  # the kill landed mid-run

    done = _rerun(args)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    if fmt == "jsonl":
        got = read_jsonl(out)
    elif fmt == "csv":
        with out.open(newline="", encoding="utf-8") as stream:
            got = list(csv.DictReader(stream))
    else:
        got = pq.read_table(out).to_pylist()
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    want = expected_rows(rows)
    if fmt == "csv":
        want = [{k: cell_text(v) for k, v in r.items()} for r in want]
    assert got == want
    assert not Path(str(out) + JOURNAL_SUFFIX).exists()


def test_resume_after_ctrl_c(tmp_path):
    rows = make_rows(200)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "--batch-size", "4"]
    process = _start(args, sleep=0.02)
    _wait_until(lambda: _committed_lines(out) >= 12, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    assert "interrupted" in err.decode() and "rerun the same command" in err.decode()
    assert "Traceback" not in err.decode()
    assert _committed_lines(out) < 200

    done = _rerun([*args, "--resume"])
    assert done.returncode == 0, done.stderr
    assert read_jsonl(out) == expected_rows(rows)
