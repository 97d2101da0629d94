"""Every loader on the real shared data, checked against the counts in MANIFEST.md.

Skipped unless ``ONEGUARD_REAL_DATA=1``. The data root is ``$ONEGUARD_REAL_DATA_DIR``, else
the ``SHARED_DATA_DIR`` / ``../shared/data`` seen when this module is imported (the autouse
fixture in conftest.py points ``SHARED_DATA_DIR`` at an empty folder during each test)::

    ONEGUARD_REAL_DATA=1 SHARED_DATA_DIR=/work/shared/data \\
        .venv/bin/python -m pytest oneguard/tests/test_sources_real.py -q

Where a count differs from the manifest's, the comment says why.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from oneguard.data.registry import load_source
from oneguard.paths import shared_data_dir

REAL_DATA = Path(os.environ.get("ONEGUARD_REAL_DATA_DIR") or shared_data_dir()) / "moderation"

pytestmark = pytest.mark.skipif(
    os.environ.get("ONEGUARD_REAL_DATA") != "1" or not REAL_DATA.is_dir(),
    reason="set ONEGUARD_REAL_DATA=1 (and the shared data folder) to check the real data",
)

#: Rows per source. Manifest totals, except where noted.
ROWS = {
    "xstest_prompts": 450,
    "xstest_completions": 2250,
    "gptfuzz_train": 6160,
    "gptfuzz_eval": 1540,
    "jailbreakeval_saferlhf": 4000,
    "jbb_artifacts": 1637,  # 1,800 records minus the 163 with prompt: null
    "phtest_prompts": 1663,  # the benchmark half of 3,260 (split by a hash of the ID)
    "phtest_prompts_train": 1013,  # the training half's harmless prompts
    "phtest_responses": 9780,
    "openai_moderation": 1680,
    "wizard101_toxicchat_test": 5083,
    "wizard101_beavertails_test": 3021,
    "wizard101_guardreasoner_train": 5000,
    "wizard101_guardreasoner_3task": 5,
    "wizard101_jbb_behaviors": 200,
    "wizard101_harmless_alpaca": 400,
    "wizard101_wildguardmix_sample": 10,
    "jailbreak_itw_prompts": 2071,  # 1,405 + 666 rows (about 1,442 unique texts)
    "forbidden_questions": 390,
    "harmbench_behaviors": 400,
    "simplesafetytests": 100,
    "advbench": 520,
    "red_instruct_harmfulqa": 1960,
    "red_instruct_catqa": 550,
    "red_instruct_dangerousqa": 200,
    "red_instruct_adversarialqa": 500,
    "do_not_answer": 939,
    "tense_rewrites": 1420,
    # The manifest says 7 x 99 = 693 (``wc -l``); each file has 100 lines, the last one
    # without a trailing newline.
    "realtoxicityprompts_challenging": 700,
    "toxigen_statements": 722,
    # 2 x 2,312 transcripts minus 5 whose last human turn lost its "\n\n" separator.
    "hh_rlhf_harmless_test": 4619,
    "toxicchat_train": 2801,
    "dices_990": 990,
    "dices_350": 350,
    "dices_350_expert": 350,
    "diasafety_train": 9015 + 1097,  # train 9,017 minus 2 empty responses, + val
    "diasafety_test": 1094,  # 1,095 minus 1 empty response
    "chatgpt_refusals": 1721,
    "coconot_eval": 1001,
    "coconot_contrast_eval": 379,
    "coconot_pref": 927,
    "aegis2_sample": 900,
    "convabuse_train": 2501 + 831,
    "convabuse_test": 853,
    "tet": 2546,
    "safety_tuned_llamas_train": 2483,
    "safety_tuned_llamas_eval": 668,
    "jailbreakv_sample": 600,
    "refusal_direction_alpaca": 31323,
    "refusal_direction_tdc2023": 100,
    # 2,978 - 21 (16 system banners, 4 gpt turns, 1 empty) + 1,000 + 500.
    "sharegpt": 4457,
    "arena_hard_prompts": 500 + 750 + 300,
    "arena_hard_gpt4_answers": 500,
    "alpaca_eval_gpt4": 805,
    "oasst_prompts": 350,
}


def count(records, field: str) -> Counter:
    return Counter(getattr(r, field) for r in records)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_counts(name: str) -> None:
    assert len(load_source(name, data_dir=REAL_DATA)) == ROWS[name]


#: (source, record field, expected counts of that field) from the manifest's label counts.
LABEL_COUNTS = [
    ("xstest_prompts", "prompt_harm_label", {"unharmful": 250, "harmful": 200}),
    ("gptfuzz_train", "response_harm_label", {"harmful": 1694, "unharmful": 4466}),
    ("gptfuzz_eval", "response_harm_label", {"harmful": 545, "unharmful": 995}),
    ("jailbreakeval_saferlhf", "response_harm_label", {"harmful": 2302, "unharmful": 1698}),
    # Benchmark half of harmless 2,069 / controversial 1,191; the rest: phtest_prompts_train.
    ("phtest_prompts", "prompt_harm_label", {"unharmful": 1056, "unknown": 607}),
    # Refusals = full + partial: Claude 861 + 849, Llama-3 483 + 208, GPT-3.5 145 + 160.
    ("phtest_responses", "response_refusal_label", {"refusal": 2706, "compliance": 7074}),
    # Implied unharmful: 3 x 2,069 answers to harmless prompts + 792 full refusals of
    # controversial ones; the other answers to controversial prompts stay unknown.
    ("phtest_responses", "response_harm_label", {"unharmful": 6999, "unknown": 2781}),
    ("coconot_pref", "response_harm_label", {"unharmful": 927}),
    # 522 with a positive code; 337 with all 8 codes present and 0; 821 with codes missing.
    ("openai_moderation", "prompt_harm_label", {"harmful": 522, "unharmful": 337, "unknown": 821}),
    ("wizard101_toxicchat_test", "prompt_harm_label", {"harmful": 362, "unharmful": 4721}),
    ("wizard101_guardreasoner_train", "prompt_harm_label", {"harmful": 2500, "unharmful": 2500}),
    ("wizard101_jbb_behaviors", "prompt_harm_label", {"harmful": 100, "unharmful": 100}),
    ("harmbench_behaviors", "split", {"test": 320, "val": 80}),
    ("forbidden_questions", "prompt_harm_label", {"harmful": 210, "unknown": 180}),
    # Harmful areas: discrimination 176 + information hazard 248 + malicious uses 243.
    ("do_not_answer", "prompt_harm_label", {"harmful": 667, "unknown": 272}),
    ("tense_rewrites", "split", {"past_tense": 730, "future_tense": 690}),
    ("toxigen_statements", "prompt_harm_label", {"harmful": 425, "unharmful": 297}),
    ("toxicchat_train", "prompt_harm_label", {"harmful": 384, "unharmful": 2417}),
    ("toxicchat_train", "adversarial", {True: 113, False: 2688}),
    ("dices_990", "response_harm_label", {"harmful": 160, "unharmful": 830}),
    ("dices_350", "response_harm_label", {"harmful": 80, "unharmful": 270}),
    ("dices_350_expert", "response_harm_label", {"harmful": 175, "unharmful": 175}),
    ("diasafety_test", "response_harm_label", {"harmful": 501, "unharmful": 593}),
    # complied 1,060; rejected 346 + redirected 215 + contradicted 61 + disclaimed 21 +
    # counseling 3; dontknow 12 + incoherent 3.
    (
        "chatgpt_refusals",
        "response_refusal_label",
        {"compliance": 1060, "refusal": 646, "unknown": 15},
    ),
    ("chatgpt_refusals", "prompt_harm_label", {"unharmful": 400, "unknown": 1321}),
    # Implied unharmful: answers to the 400 sincere Quora questions + "rejected" elsewhere.
    ("chatgpt_refusals", "response_harm_label", {"unharmful": 727, "unknown": 994}),
    ("coconot_eval", "prompt_harm_label", {"harmful": 395, "unharmful": 606}),
    ("convabuse_test", "prompt_harm_label", {"harmful": 128, "unharmful": 694, "unknown": 31}),
    ("safety_tuned_llamas_eval", "prompt_harm_label", {"harmful": 518, "unharmful": 150}),
]


@pytest.mark.parametrize(("name", "field", "expected"), LABEL_COUNTS)
def test_label_counts(name: str, field: str, expected: dict) -> None:
    assert count(load_source(name, data_dir=REAL_DATA), field) == Counter(expected)


def test_xstest_gpt4_completions_match_manifest() -> None:
    gpt4 = [r for r in load_source("xstest_completions", data_dir=REAL_DATA) if r.split == "gpt4"]
    # 230 full compliance / 211 full refusal / 9 partial refusal.
    assert count(gpt4, "response_refusal_label") == Counter({"compliance": 230, "refusal": 220})


def test_convabuse_train_and_valid_majorities() -> None:
    # The manifest's 339/2,081/81 and 110/688/33 ignore annotators whose cells hold repeat
    # annotations ("1, 1"); counting each annotator's majority over their repeats moves a few
    # rows. The test split has no such difference.
    records = load_source("convabuse_train", data_dir=REAL_DATA)
    assert Counter((r.split, r.prompt_harm_label) for r in records) == Counter(
        {
            ("train", "harmful"): 338,
            ("train", "unharmful"): 2084,
            ("train", "unknown"): 79,
            ("valid", "harmful"): 112,
            ("valid", "unharmful"): 690,
            ("valid", "unknown"): 29,
        }
    )


def _words(text: str) -> str:
    """The dedup key (case and punctuation blind), also accent blind, padded with spaces for
    whole-word search."""
    import unicodedata

    from oneguard.data.dedup import normalize_text

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return f" {normalize_text(ascii_text)} "


def test_copyright_requests_name_no_work_of_any_eval_set() -> None:
    """The generated copyright requests must not paraphrase an evaluation item: no work whose
    title (long, or beside its creator) or creator appears in an eval-only source."""
    from oneguard.data.registry import all_sources
    from oneguard.data.sources.copyright_requests import all_works

    texts = [
        _words(r.prompt + " " + (r.response or ""))
        for source in all_sources().values()
        if source.role == "eval"
        for r in source.load(REAL_DATA)
    ]
    named = []
    for kind, title, creator in all_works():
        t, c = _words(title), _words(creator)
        # News "creators" are topics and software ones are vendors: match the title alone.
        by_creator = kind not in {"news", "software"} and len(c) >= 10
        for text in texts:
            if (t in text and (len(t) >= 16 or c in text)) or (by_creator and c in text):
                named.append(f"{kind}: {title} ({creator})")
                break
    assert not named, f"{len(named)} works appear in eval sets: {named}"
