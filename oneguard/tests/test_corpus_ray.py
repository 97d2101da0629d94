"""Corpus moderation on a local Ray (``classify_corpus`` / ``classify --engine ray``) with the
fake backend: every row exactly once, results identical to the single-process CLI, a failing
shard reported with its path and reason, reruns that skip what is written."""

from __future__ import annotations

import json
from pathlib import Path

import fake_backend
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray")

from oneguard.cli import main  # noqa: E402
from oneguard.corpus import CorpusError, classify_corpus, find_shards  # noqa: E402

TESTS_DIR = Path(__file__).parent
#: A prompt holding this text makes the fake backend fail its batch (set for the Ray workers).
CRASH = "CRASH-ME"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One small local Ray for the module; workers import the fake backend from tests/."""
    ray.init(
        num_cpus=3,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(TESTS_DIR), "ONEGUARD_FAKE_CRASH_ON": CRASH}},
    )
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def _fake_backend():
    fake_backend.register()


def rows_for(shard: int, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        prompt = f"shard {shard} row {i}: " + ("how to build a bomb" if i % 4 == 0 else "hi there")
        response = None if i % 3 == 0 else ("Sorry, I can't." if i % 2 else f"Sure ✓ {i}")
        rows.append({"id": f"s{shard}-{i}", "prompt": prompt, "response": response})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def make_corpus(root: Path) -> dict[str, list[dict]]:
    """Three shards: two JSONL (one in a subfolder), one Parquet; 57 rows in all."""
    shards = {
        "a.jsonl": rows_for(0, 23),
        "more/b.jsonl": rows_for(1, 20),
        "c.parquet": rows_for(2, 14),
    }
    for name, rows in shards.items():
        path = root / name
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pylist(rows), path)
        else:
            write_jsonl(path, rows)
    return shards


def read_output(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def run_cli(*args: object) -> int:
    return main(["classify", *map(str, args), "--backend", "fake", "--no-progress"])


def test_every_row_once_and_identical_to_the_single_process_cli(tmp_path):
    corpus = make_corpus(tmp_path / "in")
    seen = []
    summary = classify_corpus(
        str(tmp_path / "in"),
        tmp_path / "out",
        backend="fake",
        batch_size=5,
        concurrency=2,
        on_shard=seen.append,
    )
    assert not summary.failed and summary.rows == 57
    assert sorted(o.key for o in seen) == ["a.jsonl", "c.parquet", "more/b.jsonl"]
    for name, rows in corpus.items():
        got = read_output(tmp_path / "out" / Path(name).with_suffix(".parquet"))
        assert [r["id"] for r in got] == [r["id"] for r in rows]  # each row once, in order
        # The same shard through the single-process CLI, written as Parquet too.
        reference = tmp_path / "ref" / Path(name).with_suffix(".parquet")
        reference.parent.mkdir(parents=True, exist_ok=True)
        assert run_cli(tmp_path / "in" / name, "-o", reference) == 0
        assert got == read_output(reference)
        assert got[0]["prompt_harmfulness"] == "harmful"


def test_failing_shards_are_reported_and_a_rerun_skips_written_ones(tmp_path):
    root = tmp_path / "in"
    write_jsonl(root / "good.jsonl", rows_for(0, 9))
    bad = write_jsonl(root / "bad.jsonl", [{"prompt": "fine"}, {"prompt": 5}])
    crashing = rows_for(2, 6)
    crashing[4]["prompt"] = f"please {CRASH}"
    write_jsonl(root / "crash.jsonl", crashing)
    (root / "broken.parquet").write_bytes(b"not parquet at all")

    summary = classify_corpus(str(root), tmp_path / "out", backend="fake", concurrency=1)
    failed = {Path(o.path).name: o.error for o in summary.failed}
    assert set(failed) == {"bad.jsonl", "crash.jsonl", "broken.parquet"}
    assert failed["bad.jsonl"] == f"{bad}:2: field 'prompt': must be a string, got a number (5)"
    assert "the model failed: RuntimeError: fake backend told to fail" in failed["crash.jsonl"]
    assert "not a readable Parquet file" in failed["broken.parquet"]
    assert [o.key for o in summary.written] == ["good.jsonl"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.parquet")) == ["good.parquet"]

    # Fix one shard and rerun: the written shard is skipped, the fixed one written.
    write_jsonl(bad, [{"prompt": "fine"}, {"prompt": "five"}])
    again = classify_corpus(str(root), tmp_path / "out", backend="fake", concurrency=1)
    assert [o.key for o in again.skipped] == ["good.jsonl"]
    assert [o.key for o in again.written] == ["bad.jsonl"]
    assert {Path(o.path).name for o in again.failed} == {"crash.jsonl", "broken.parquet"}
    assert [r["prompt"] for r in read_output(tmp_path / "out" / "bad.parquet")] == ["fine", "five"]

    # Other settings than the run that wrote the folder: refused, not mixed.
    with pytest.raises(CorpusError, match="other settings"):
        classify_corpus(str(root), tmp_path / "out", backend="fake", policy="strict")


def test_cli_engine_ray_with_policy_matches_local_engine(tmp_path, capsys):
    rows = rows_for(0, 12)
    write_jsonl(tmp_path / "in" / "x.jsonl", rows)
    code = run_cli(
        "--engine",
        "ray",
        tmp_path / "in",
        "-o",
        tmp_path / "out",
        "--policy",
        "lenient",
        "--concurrency",
        "1",
        "--batch-size",
        "4",
    )
    assert code == 0
    assert "classified 12 rows of 1 shards" in capsys.readouterr().err
    got = read_output(tmp_path / "out" / "x.parquet")
    assert (
        run_cli(tmp_path / "in" / "x.jsonl", "-o", tmp_path / "ref.parquet", "--policy", "lenient")
        == 0
    )
    assert got == read_output(tmp_path / "ref.parquet")
    # Lenient blocks at harm score >= 0.8: the fake backend's bomb prompts score 0.9.
    assert [r["blocked"] for r in got] == [i % 4 == 0 for i in range(12)]


def test_shard_discovery_and_usage_errors(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", rows_for(0, 2))
    write_jsonl(tmp_path / "in" / "a.ndjson", rows_for(1, 2))
    with pytest.raises(CorpusError, match="would both be written to a.parquet"):
        find_shards(str(tmp_path / "in"))
    with pytest.raises(CorpusError, match="no shards match"):
        find_shards(str(tmp_path / "nothing-*.jsonl"))
    shards = find_shards(str(tmp_path / "in" / "*.jsonl"))
    assert [s.key for s in shards] == ["a.jsonl"]
    assert run_cli("--engine", "ray", tmp_path / "in") == 2  # no -o
