"""The public-suite loader on the hand-written fixture files (same format as the real ones)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from oneguard.data import get_source, load_source
from oneguard.data.sources.guardreasoner import BENCHMARK_NAMES, BenchmarkFileError
from oneguard.eval.suites import PUBLIC_BENCHMARKS
from oneguard.schema import HARMFUL, REFUSAL, UNKNOWN


@pytest.fixture
def moderation(fixtures_dir):
    return fixtures_dir / "moderation"


def test_source_is_registered_as_eval_only():
    source = get_source("guardreasoner_benchmarks")
    assert source.role == "eval"
    assert source.tasks == ("prompt", "response", "refusal")


def test_loads_every_benchmark_with_its_task_label(moderation):
    records = load_source("guardreasoner_benchmarks", moderation)
    counts = Counter(r.source for r in records)
    assert set(counts) == set(BENCHMARK_NAMES)
    assert counts["toxicchat"] == 4 and counts["saferlhf"] == 2
    assert all(r.split == "test" for r in records)
    toxic = [r for r in records if r.source == "toxicchat"]
    assert toxic[0].prompt_harm_label == HARMFUL and toxic[0].response is None
    assert toxic[0].id == "0_8_toxic_chat-0"
    harm = [r for r in records if r.source == "xstest_response_harm"]
    assert [r.response_harm_label for r in harm] == ["unharmful", "harmful", "unharmful"]
    assert all(r.prompt_harm_label == UNKNOWN for r in harm)
    refusal = [r for r in records if r.source == "xstest_response_refusal"]
    assert [r.response_refusal_label == REFUSAL for r in refusal] == [False, True, False, True]


def test_suite_and_loader_agree_on_names():
    assert tuple(b.name for b in PUBLIC_BENCHMARKS) == BENCHMARK_NAMES


def test_bad_label_names_file_line_and_field(moderation, tmp_path):
    copy = tmp_path / "guardreasoner_benchmarks"
    shutil.copytree(moderation / "guardreasoner_benchmarks", copy)
    path = copy / "normalized" / "xstest_response_refusal.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"refusal"}', '"maybe"}')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        BenchmarkFileError, match=r"xstest_response_refusal\.jsonl:2: field 'label'"
    ):
        load_source("guardreasoner_benchmarks", tmp_path)


def test_missing_file_is_named(moderation, tmp_path):
    copy = tmp_path / "guardreasoner_benchmarks"
    shutil.copytree(moderation / "guardreasoner_benchmarks", copy)
    (copy / "normalized" / "safe_rlhf.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="safe_rlhf.jsonl"):
        load_source("guardreasoner_benchmarks", tmp_path)
