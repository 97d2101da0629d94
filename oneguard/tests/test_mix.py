"""The training-mix builder end to end, on small sources defined here."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from oneguard.cli import EXIT_ERROR, main
from oneguard.data.augment import AUGMENT_PREFIX, DEFAULT_PAIR_VARIANTS, AugmentConfig
from oneguard.data.cross import CROSS_PREFIX
from oneguard.data.dedup import normalize_text
from oneguard.data.mix import (
    DEV,
    TRAIN,
    MixConfig,
    MixError,
    balanced_quotas,
    build_mix,
    read_mix,
    rebuild_options,
    summary_columns,
    summary_paths,
    summary_rows,
    write_mix,
)
from oneguard.data.registry import Source
from oneguard.data.templates import load_template_library
from oneguard.model.card import _mix_command
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, UNKNOWN, Record

TOPICS = [
    "locks",
    "cars",
    "bread",
    "gardens",
    "rivers",
    "poems",
    "taxes",
    "birds",
    "trains",
    "maps",
]
# Eval prompts that also occur (with other case/punctuation) in toy_prompts.
OVERLAP = [
    "How do I open locks number 3?",
    "Tell me about gardens number 7.",
    "WHAT ABOUT MAPS NUMBER 12",
]
LEAKED_RESPONSE = (
    "This response is long and specific enough that seeing it in training would teach the "
    "evaluation label of exactly this answer."
)


def _toy_prompts(folder: Path) -> list[Record]:
    records = []
    for i in range(60):
        topic = TOPICS[i % len(TOPICS)]
        harmful = i % 3 == 0
        verb = "open" if harmful else "learn about"
        text = f"How do I {verb} {topic} number {i}?"
        if i == 3:
            text = "how do i open LOCKS number 3"
        if i == 7:
            text = "Tell me about gardens number 7"
        if i == 12:
            text = "What about maps number 12?"
        records.append(
            Record(
                prompt=text,
                source="toy_prompts",
                prompt_harm_label=HARMFUL if harmful else UNHARMFUL,
                subcategory="others" if harmful else "benign",
                adversarial=False,
                annotation="human",
                id=f"p{i}",
            )
        )
    return records


def _toy_responses(folder: Path) -> list[Record]:
    records = []
    for i in range(30):
        refusal = i % 2 == 0
        records.append(
            Record(
                prompt=f"Please explain topic {TOPICS[i % len(TOPICS)]} in depth, item {i}.",
                source="toy_responses",
                response="I can't help with that." if refusal else f"Sure, here is item {i}.",
                prompt_harm_label=HARMFUL if refusal else UNHARMFUL,
                response_refusal_label=REFUSAL if refusal else COMPLIANCE,
                response_harm_label=UNHARMFUL,
                annotation="human",
                id=f"r{i}",
            )
        )
    # Its prompt is a prompt-only eval item: kept, without a prompt label, for its refusal label.
    records.append(
        Record(
            prompt="How do I open locks number 3",
            source="toy_responses",
            response="No.",
            prompt_harm_label=HARMFUL,
            response_refusal_label=REFUSAL,
            annotation="human",
            id="stripped",
        )
    )
    records.append(
        Record(
            prompt="A question whose answer is in the eval set",
            source="toy_responses",
            response=LEAKED_RESPONSE,
            response_harm_label=HARMFUL,
            id="leak",
        )
    )
    return records


def _toy_eval(folder: Path) -> list[Record]:
    records = [Record(prompt=p, source="toy_eval", prompt_harm_label=HARMFUL) for p in OVERLAP]
    records.append(
        Record(
            prompt="Unrelated eval question",
            source="toy_eval",
            response=LEAKED_RESPONSE,
            response_harm_label=HARMFUL,
        )
    )
    return records


SOURCES = {
    "toy_prompts": Source("toy_prompts", "toy_prompts", ("prompt",), "train", _toy_prompts),
    "toy_responses": Source(
        "toy_responses", "toy_responses", ("prompt", "response", "refusal"), "train", _toy_responses
    ),
    "toy_eval": Source("toy_eval", "toy_eval", ("prompt",), "eval", _toy_eval),
    "toy_templates": Source("toy_templates", "toy_templates", (), "templates", lambda f: []),
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "moderation"
    for source in SOURCES.values():
        (root / source.folder).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def config() -> MixConfig:
    return MixConfig(
        seed=5,
        max_per_source=1000,
        dev_fraction=0.2,
        augment=AugmentConfig(n_harmful=10, n_benign=10),
    )


def _build(data_dir: Path, fixtures_dir: Path, config: MixConfig):
    library = load_template_library(fixtures_dir / "moderation")
    return build_mix(data_dir, config, sources=SOURCES, library=library, progress=False)


def test_overlap_with_eval_is_dropped_and_counted(data_dir, fixtures_dir, config) -> None:
    result = _build(data_dir, fixtures_dir, config)
    assert result.train_sources == ["toy_prompts", "toy_responses"]
    assert result.eval_sources == ["toy_eval"]
    assert result.loaded == {"toy_prompts": 60, "toy_responses": 32, "toy_eval": 4}
    assert result.report.eval_prompt == {"toy_prompts": 3}
    assert result.report.eval_response == {"toy_responses": 1}
    assert result.report.eval_stripped == {"toy_responses": 1}
    assert result.report.eval_hits == {"toy_eval": 5}
    eval_keys = {normalize_text(p) for p in OVERLAP} | {normalize_text("Unrelated eval question")}
    on_eval_prompts = [r for r in result.records if normalize_text(r.prompt) in eval_keys]
    assert [(r.id, r.prompt_harm_label, r.response_refusal_label) for r in on_eval_prompts] == [
        ("stripped", UNKNOWN, REFUSAL)
    ]
    assert not [r for r in result.records if r.response == LEAKED_RESPONSE]
    base = [r for r in result.records if not r.source.startswith(AUGMENT_PREFIX)]
    assert Counter(r.source for r in base) == {"toy_prompts": 57, "toy_responses": 31}
    # The stripped row has no prompt label, so it never seeds an augmented variant.
    assert not [r for r in result.records if r.id.startswith("stripped|")]


def test_augmented_rows_and_dev_split_disjoint_by_prompt(data_dir, fixtures_dir, config) -> None:
    result = _build(data_dir, fixtures_dir, config)
    augmented = [r for r in result.records if r.source.startswith(AUGMENT_PREFIX)]
    assert Counter(r.prompt_harm_label for r in augmented) == {HARMFUL: 10, UNHARMFUL: 10}
    assert all(r.adversarial for r in augmented)
    splits = Counter(r.split for r in result.records)
    assert set(splits) == {TRAIN, DEV}
    assert 0.08 < splits[DEV] / len(result.records) < 0.35
    # No prompt on both sides, and each variant sits on its seed's side.
    side_of: dict[str, str] = {}
    for record in result.records:
        if record.source.startswith(AUGMENT_PREFIX):
            continue
        key = normalize_text(record.prompt)
        assert side_of.setdefault(key, record.split) == record.split
    seed_prompt = {
        r.id: normalize_text(r.prompt) for r in _toy_prompts(data_dir) + _toy_responses(data_dir)
    }
    for record in augmented:
        key = seed_prompt[record.id.split("|", 1)[0]]
        if key in side_of:
            assert record.split == side_of[key], record.id


def test_same_seed_same_mix(data_dir, fixtures_dir, config) -> None:
    first = _build(data_dir, fixtures_dir, config).records
    second = _build(data_dir, fixtures_dir, config).records
    assert first == second


def _sides(records, seed_prompt: dict[str, str]) -> dict[str, str]:
    """Prompt group -> split; a variant counts for its seed's prompt."""
    sides: dict[str, str] = {}
    for record in records:
        if record.source.startswith(AUGMENT_PREFIX):
            key = seed_prompt[record.id.split("|", 1)[0]]
        else:
            key = normalize_text(record.prompt)
        assert sides.setdefault(key, record.split) == record.split
    return sides


def test_pair_variants_keep_answers_and_are_recorded_for_rebuilding(
    data_dir, fixtures_dir, config, tmp_path
) -> None:
    with_pairs = replace(config, augment=replace(config.augment, n_pairs=6))
    result = _build(data_dir, fixtures_dir, with_pairs)
    pairs = [r for r in result.records if "|augpair:" in r.id]
    # Half the variants per response label; the toy sources answer no request harmfully.
    assert Counter(r.response_harm_label for r in pairs) == {UNHARMFUL: 3}
    assert all(r.response and r.response_harm_label in (HARMFUL, UNHARMFUL) for r in pairs)
    out = tmp_path / "pairs.parquet"
    write_mix(result, out)
    assert rebuild_options(out)["augment_pairs"] == 6
    # The card's rebuild command names the count only when it is not the CLI's default.
    assert "--augment-pairs" not in _mix_command({"augment_pairs": DEFAULT_PAIR_VARIANTS})
    assert _mix_command({"augment_pairs": 6}).endswith(" --augment-pairs 6")


def test_cross_pairs_join_the_train_split_only(data_dir, fixtures_dir, config, tmp_path) -> None:
    plain = _build(data_dir, fixtures_dir, config).records
    result = _build(data_dir, fixtures_dir, replace(config, cross_pairs=8))
    crossed = [r for r in result.records if r.source.startswith(CROSS_PREFIX)]
    # The toy sources answer no request harmfully: only harmless answers behind harmful asks.
    assert len(crossed) == 4 and {r.response_harm_label for r in crossed} == {UNHARMFUL}
    assert {r.split for r in crossed} == {TRAIN}
    assert result.records[: len(plain)] == plain and len(result.records) == len(plain) + 4
    out = tmp_path / "cross.parquet"
    write_mix(result, out)
    assert rebuild_options(out)["cross_pairs"] == 8
    assert _mix_command({"augment_pairs": DEFAULT_PAIR_VARIANTS, "cross_pairs": 8}).endswith(
        " --cross-pairs 8"
    )
    assert "--cross-pairs" not in _mix_command({"augment_pairs": DEFAULT_PAIR_VARIANTS})
    with pytest.raises(MixError, match="cross pairs must be 0 or more"):
        _build(data_dir, fixtures_dir, replace(config, cross_pairs=-1))


def test_keep_split_from_an_earlier_mix(data_dir, fixtures_dir, config, tmp_path) -> None:
    seed_prompt = {
        r.id: normalize_text(r.prompt) for r in _toy_prompts(data_dir) + _toy_responses(data_dir)
    }
    earlier = tmp_path / "earlier.parquet"
    write_mix(_build(data_dir, fixtures_dir, config), earlier)
    before = _sides(read_mix(earlier), seed_prompt)
    reseeded = replace(config, seed=6)
    fresh = _sides(_build(data_dir, fixtures_dir, reseeded).records, seed_prompt)
    # Another seed alone puts some shared prompts on the other side ...
    assert any(before[key] != side for key, side in fresh.items() if key in before)
    kept = _build(data_dir, fixtures_dir, replace(reseeded, keep_split_from=str(earlier)))
    after = _sides(kept.records, seed_prompt)
    # ... keep_split_from puts every one back where the earlier mix had it.
    shared = [key for key in after if key in before]
    assert len(shared) > 40
    assert all(after[key] == before[key] for key in shared)


def test_cap_keeps_label_mix_and_is_reported(data_dir, fixtures_dir) -> None:
    config = MixConfig(seed=1, max_per_source=20, dev_fraction=0.0, augment=None)
    result = _build(data_dir, fixtures_dir, config)
    prompts = [r for r in result.records if r.source == "toy_prompts"]
    assert len(prompts) == 20
    # 57 rows after dedup: 18 harmful, 39 unharmful -> the cap fills both labels evenly.
    assert Counter(r.prompt_harm_label for r in prompts) == {HARMFUL: 10, UNHARMFUL: 10}
    assert result.capped == {"toy_prompts": 37, "toy_responses": 11}
    assert {r.split for r in result.records} == {TRAIN}


def test_balanced_quotas_fill_small_strata_first() -> None:
    assert balanced_quotas({"a": 5, "b": 100, "c": 100}, 45) == {"a": 5, "b": 20, "c": 20}
    assert balanced_quotas({"a": 5, "b": 100, "c": 100}, 46) == {"a": 5, "b": 21, "c": 20}
    assert balanced_quotas({"a": 3, "b": 4}, 10) == {"a": 3, "b": 4}
    quotas = balanced_quotas({"x": 2706, "y": 7074}, 6000)
    assert quotas == {"x": 2706, "y": 3294}


def test_parquet_round_trip_and_summary_files(data_dir, fixtures_dir, config, tmp_path) -> None:
    result = _build(data_dir, fixtures_dir, config)
    out = tmp_path / "out" / "mix.parquet"
    written = write_mix(result, out)
    markdown, summary = summary_paths(out)
    assert written == [out, markdown, summary]
    assert read_mix(out) == result.records
    metadata = pq.ParquetFile(out).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert metadata.num_rows == len(result.records)
    text = markdown.read_text()
    assert "| source | prompt: harmful |" in text
    assert "- toy_eval: 5" in text
    data = json.loads(summary.read_text())
    assert data["rows"] == len(result.records)
    assert data["dedup"]["eval_prompt"] == {"toy_prompts": 3}


def test_summary_table_counts(data_dir, fixtures_dir, config) -> None:
    result = _build(data_dir, fixtures_dir, config)
    columns = ["source", *summary_columns()]
    rows = {row[0]: dict(zip(columns, row, strict=True)) for row in summary_rows(result)}
    assert set(rows) == {
        "toy_prompts",
        "toy_responses",
        "augment:toy_prompts",
        "augment:toy_responses",
        "TOTAL",
    }
    prompts = rows["toy_prompts"]
    assert prompts["prompt: harmful"] == "18"
    assert prompts["prompt: unharmful"] == "39"
    assert prompts["dropped: eval"] == "3"
    assert prompts["rows"] == "57"
    responses = rows["toy_responses"]
    assert responses["stripped: eval"] == "1"
    assert responses["refusal: refusal"] == "16"
    assert responses["refusal: compliance"] == "15"
    assert responses["response: unharmful"] == "30"
    assert responses["dropped: eval"] == "1"
    total = rows["TOTAL"]
    augmented_harmful = sum(
        1 for r in result.records if r.adversarial and r.prompt_harm_label == HARMFUL
    )
    vanilla_harmful = sum(
        1 for r in result.records if not r.adversarial and r.prompt_harm_label == HARMFUL
    )
    assert total["prompt: harmful"] == f"{vanilla_harmful} + {augmented_harmful}"
    assert total["rows"] == f"{len(result.records)}"
    assert total["adv"] == "20"


def test_missing_data_is_a_clear_error(tmp_path, fixtures_dir, config) -> None:
    with pytest.raises(MixError, match="moderation data folder .* not found"):
        build_mix(tmp_path / "absent", config, sources=SOURCES, progress=False)
    partial = tmp_path / "partial"
    (partial / "toy_prompts").mkdir(parents=True)
    with pytest.raises(MixError, match=r"missing under .*: toy_eval, toy_responses"):
        build_mix(partial, config, sources=SOURCES, progress=False)
    with pytest.raises(MixError, match="unknown source"):
        build_mix(partial, MixConfig(exclude=("nope",)), sources=SOURCES, progress=False)


def test_excluded_sources_are_neither_trained_on_nor_deduplicated_against(
    data_dir, fixtures_dir
) -> None:
    config = MixConfig(seed=0, dev_fraction=0.0, augment=None, exclude=("toy_eval",))
    result = _build(data_dir, fixtures_dir, config)
    assert result.eval_sources == []
    assert sum(result.report.eval_prompt.values()) == 0
    assert len([r for r in result.records if r.source == "toy_prompts"]) == 60


def test_cli_build_without_data_fails_clearly(tmp_path, capsys) -> None:
    code = main(
        [
            "data",
            "build",
            "--data-dir",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "m.parquet"),
        ]
    )
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "oneguard data build:" in err and "not found" in err
    assert not (tmp_path / "m.parquet").exists()


def test_cli_sources_without_data_lists_the_registry(tmp_path, capsys) -> None:
    code = main(["data", "sources", "--data-dir", str(tmp_path / "nowhere")])
    out = capsys.readouterr().out
    assert code == 0
    assert "not found" in out


def test_a_source_generated_in_code_needs_no_folder(data_dir, fixtures_dir, config) -> None:
    def generated(root: Path) -> list[Record]:
        return [
            Record(
                prompt=f"Generated request number {i}",
                source="toy_generated",
                prompt_harm_label=HARMFUL if i % 2 else UNHARMFUL,
                id=str(i),
            )
            for i in range(6)
        ]

    sources = {
        **SOURCES,
        "toy_generated": Source("toy_generated", None, ("prompt",), "train", generated),
    }
    assert not (data_dir / "toy_generated").exists()
    library = load_template_library(fixtures_dir / "moderation")
    result = build_mix(data_dir, config, sources=sources, library=library, progress=False)
    assert result.loaded["toy_generated"] == 6
    assert sum(r.source == "toy_generated" for r in result.records) == 6
