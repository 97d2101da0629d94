"""The held-out benchmark script: it reads only eval-only sources and reports margins."""

from __future__ import annotations

import json

import pytest
from benchmark_scripts import load_benchmark_script

from oneguard import Guard


@pytest.fixture(scope="module")
def bench():
    return load_benchmark_script("bench_out_of_suite")


def test_held_out_sets_load_from_eval_only_sources(bench, fixtures_dir):
    benchmarks = bench.load_held_out(str(fixtures_dir))
    assert [b.name for b in benchmarks] == [name for name, _, _ in bench.HELD_OUT]
    assert {b.task for b in benchmarks} == {"prompt", "response"}
    assert all(b.records for b in benchmarks)


def test_a_training_source_is_refused(bench, fixtures_dir, monkeypatch):
    monkeypatch.setattr(bench, "HELD_OUT", (("diasafety_train", "response", "train split"),))
    with pytest.raises(RuntimeError, match="diasafety_train is registered as 'train'"):
        bench.load_held_out(str(fixtures_dir))


def test_report_gives_per_set_and_average_margins(bench, fixtures_dir, tmp_path):
    benchmarks = bench.load_held_out(str(fixtures_dir))
    guard = Guard.load()
    result = bench.measure({"model": guard, "same model": guard}, benchmarks)
    markdown = bench.write_report(result, benchmarks, "cmd", out_dir=tmp_path).read_text()
    payload = json.loads((tmp_path / "out_of_suite.json").read_text())
    assert payload["command"] == "cmd"
    for b in benchmarks:
        assert f"| `{b.name}`:" in markdown
        assert payload["runs"]["model"]["benchmarks"][b.name]["n"] == len(b.records)
    for task in ("prompt", "response"):
        f1s = [payload["runs"]["model"]["benchmarks"][b.name]["f1"] for b in benchmarks]
        f1s = [f for b, f in zip(benchmarks, f1s, strict=True) if b.task == task]
        assert payload["averages"][task]["model"] == pytest.approx(sum(f1s) / len(f1s))
        # The same model on both sides: every margin is zero.
        average_row = next(line for line in markdown.splitlines() if line.startswith(f"| {task} |"))
        assert average_row.endswith("| +0.0 |")
    assert "-0." not in markdown.split("| Average |")[1]


def test_missing_data_is_a_clear_error(bench, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--tfidf", str(tmp_path), "--data-dir", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    assert "not found" in capsys.readouterr().err
