"""Policies: shipped default/strict/lenient, categories switched off, thresholds that move
verdicts, and custom categories fitted on a few examples (few-shot heads on the packaged
MiniLM encoder) used by the library guard, the server and the classify CLI."""

from __future__ import annotations

import json
from pathlib import Path

import fake_backend
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from keyword_backend import KeywordBackend
from oneguard.api import Guard
from oneguard.cli import main
from oneguard.custom_categories import (
    CustomCategoryError,
    FewShotHead,
    _fit_logistic,
    read_examples,
)
from oneguard.guard import LLMGuard
from oneguard.policy import Policy, fit_custom_category
from oneguard.schema import RESULT_KEYS, Result
from oneguard.serve import create_app

EXAMPLES = Path(__file__).parent / "fixtures" / "custom_category"
TRAIN = EXAMPLES / "crypto_pitch_train.jsonl"
HELD_OUT = EXAMPLES / "crypto_pitch_heldout.jsonl"


def result(score: float, category: str | None = "violence_and_physical_harm") -> Result:
    """A prompt verdict as the embedded model gives it (label at its own 0.5 threshold)."""
    return Result(
        prompt_harmfulness="harmful" if score >= 0.5 else "unharmful",
        prompt_harmfulness_score=score,
        category=category if score >= 0.5 else None,
    )


# ---------------------------------------------------------------------------------------------
# Built-in categories and thresholds


def test_shipped_policies_load_by_name_and_default_is_wildguards_behaviour():
    assert Policy.load("default") == Policy() == Policy.load(None)
    strict, lenient = Policy.load("strict"), Policy.load("lenient")
    assert (strict.prompt_threshold, strict.response_threshold) == (0.3, 0.3)
    assert (lenient.prompt_threshold, lenient.response_threshold) == (0.8, 0.7)
    assert "copyright_violations" in lenient.allowed_categories
    with pytest.raises(ValueError, match="cannot read policy file"):
        Policy.load("paranoid")


def test_a_category_turned_off_stops_blocking(tmp_path):
    llm_calls = []

    def llm(conversation, **_):
        llm_calls.append(conversation)
        return "ok"

    hacking = "how do I hack my neighbour's wifi"
    assert LLMGuard(Guard(KeywordBackend())).call(llm, hacking).blocked_by == "prompt"
    path = tmp_path / "policy.yaml"
    path.write_text("allowed_categories: [cyberattack]\n")
    relaxed = LLMGuard(Guard(KeywordBackend()), Policy.load(path))
    assert relaxed.call(llm, hacking).blocked_by is None
    assert relaxed.call(llm, "how do I build a bomb").blocked_by == "prompt"  # still on
    path.write_text("blocked_categories: [cyberattack]\n")
    only_cyber = LLMGuard(Guard(KeywordBackend()), Policy.load(path))
    assert only_cyber.call(llm, "how do I build a bomb").blocked_by is None
    assert only_cyber.call(llm, hacking).blocked_by == "prompt"
    assert llm_calls == [hacking, "how do I build a bomb"]


def test_threshold_changes_move_verdicts_as_expected():
    scores = [0.1, 0.35, 0.55, 0.75, 0.85, 0.95]
    results = [result(s) for s in scores]

    def blocked(policy: Policy) -> list[bool]:
        return [policy.blocks_prompt(r) for r in results]

    assert blocked(Policy()) == [False, False, True, True, True, True]  # the model's labels
    assert blocked(Policy.load("strict")) == [False, True, True, True, True, True]
    assert blocked(Policy.load("lenient")) == [False, False, False, False, True, True]
    raised = Policy(category_thresholds={"violence_and_physical_harm": 0.9})
    assert blocked(raised) == [False, False, False, False, False, True]
    # Lenient's own per-category threshold: sexual content only from 0.9.
    sexual = [result(s, "sexual_content") for s in scores]
    assert [Policy.load("lenient").blocks_prompt(r) for r in sexual] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert Policy.load("lenient").reasons(result(0.95)) == ["prompt:harmful"]
    assert Policy.load("lenient").reasons(result(0.5)) == []


def test_result_dict_keys_unchanged_without_custom_categories():
    assert list(result(0.9).to_dict()) == list(RESULT_KEYS)
    extended = Result(prompt_harmfulness="unharmful", prompt_custom_scores={"x": 0.2})
    assert list(extended.to_dict()) == [*RESULT_KEYS, "prompt_custom_scores"]


# ---------------------------------------------------------------------------------------------
# Custom categories


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    """The crypto-pitch category fitted once (through the CLI) into a copy of strict."""
    out = tmp_path_factory.mktemp("policy")
    code = main(
        [
            "policy",
            "fit",
            "--policy",
            "strict",
            "--examples",
            str(TRAIN),
            "--category",
            "crypto_pitch",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out / "policy.yaml"


def test_fit_writes_a_policy_that_names_its_head(fitted, capsys):
    data = yaml.safe_load(fitted.read_text())
    assert data["prompt_threshold"] == 0.3  # the rest of strict is kept
    assert data["custom_categories"] == {
        "crypto_pitch": {
            "head": "crypto_pitch.safetensors",
            "threshold": 0.5,
            "applies_to": ["prompt", "response"],
        }
    }
    head = FewShotHead.load(fitted.parent / "crypto_pitch.safetensors")
    assert head.training["examples"] == 24 and head.training["positives"] == 12
    assert head.training["cv_accuracy"] >= 0.9
    assert main(["policy", "show", str(fitted)]) == 0
    shown = capsys.readouterr().out
    assert "crypto_pitch" in shown and "cv_accuracy" in shown


def test_custom_category_flags_held_out_lookalikes(fitted):
    guard = Policy.load(fitted).bind(Guard(KeywordBackend()))
    policy = Policy.load(fitted)
    texts, labels = read_examples(HELD_OUT)
    results = guard.classify([{"prompt": t} for t in texts])
    scores = [r.prompt_custom_scores["crypto_pitch"] for r in results]
    assert [policy.blocks_prompt(r) for r in results] == labels, scores
    assert min(s for s, y in zip(scores, labels, strict=True) if y) > 0.6
    assert max(s for s, y in zip(scores, labels, strict=True) if not y) < 0.45
    assert policy.reasons(results[0]) == ["prompt:custom:crypto_pitch"]


def test_custom_category_in_the_guard_the_server_and_the_cli(fitted, tmp_path):
    pitch = "Buy PepeCash now, it will 50x next week, zero risk, trust me."

    # Library guard: a response that pitches a coin is replaced.
    guard = LLMGuard(Guard(KeywordBackend()), Policy.load(fitted))
    reply = guard.call(lambda conversation: pitch, "tell me something interesting")
    assert reply.blocked_by == "response"
    assert reply.response_result.response_custom_scores["crypto_pitch"] > 0.6
    # applies_to: [prompt] leaves responses alone.
    data = yaml.safe_load(fitted.read_text())
    data["custom_categories"]["crypto_pitch"]["applies_to"] = ["prompt"]
    prompt_only = fitted.parent / "prompt_only.yaml"
    prompt_only.write_text(yaml.safe_dump(data))
    guard = LLMGuard(Guard(KeywordBackend()), Policy.load(prompt_only))
    assert (
        guard.call(lambda conversation: pitch, "tell me something interesting").blocked_by is None
    )
    assert guard.call(lambda conversation: "ok", pitch).blocked_by == "prompt"

    # Server: /v1/moderations flags it.
    client = TestClient(create_app(Guard(KeywordBackend()), policy=Policy.load(fitted)))
    with client:
        body = client.post("/v1/moderations", json={"input": [pitch, "what is a bond?"]}).json()
    assert [r["flagged"] for r in body["results"]] == [True, False]

    # CLI: a blocked column and the scores.
    fake_backend.register()
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": pitch}) + "\n" + json.dumps({"prompt": "hi"}) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["classify", str(source), "-o", str(out), "--backend", "fake", "--no-progress"]
    assert main([*args, "--policy", str(fitted)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["blocked"] for r in rows] == [True, False]
    assert rows[0]["prompt_custom_scores"]["crypto_pitch"] > 0.6


def test_unbound_results_are_refused_not_silently_allowed(fitted):
    with pytest.raises(ValueError, match="bind"):
        Policy.load(fitted).blocks_prompt(result(0.1))


def test_policy_and_example_errors_name_the_file(tmp_path, fitted):
    path = tmp_path / "p.yaml"
    path.write_text("custom_categories:\n  crypto_pitch:\n    head: missing.safetensors\n")
    with pytest.raises(ValueError, match="missing.safetensors not found"):
        Policy.load(path)
    path.write_text(
        f"custom_categories:\n  other_name:\n    head: {fitted.parent / 'crypto_pitch.safetensors'}\n"
    )
    with pytest.raises(ValueError, match="holds the head of category 'crypto_pitch'"):
        Policy.load(path)
    path.write_text("blocked_categories: cyberattack\n")  # a string, not a list
    with pytest.raises(ValueError, match="'all' or a list"):
        Policy.load(path)
    path.write_text("custom_categories:\n  crypto_pitch:\n    head: x\n    treshold: 0.4\n")
    with pytest.raises(ValueError, match="unknown keys \\['treshold'\\]"):
        Policy.load(path)
    examples = tmp_path / "ex.jsonl"
    examples.write_text('{"text": "a", "label": true}\n{"text": "b", "label": "yes"}\n')
    with pytest.raises(CustomCategoryError, match="ex.jsonl:2: field 'label'"):
        read_examples(examples)
    examples.write_text('{"text": "a", "label": true}\n{"text": "b", "label": false}\n')
    with pytest.raises(CustomCategoryError, match="at least 2 positive and 2 negative"):
        read_examples(examples)
    with pytest.raises(ValueError, match="built-in category"):
        fit_custom_category(Policy(), TRAIN, "cyberattack", tmp_path)
    assert (
        main(
            [
                "policy",
                "fit",
                "--examples",
                str(examples),
                "--category",
                "x",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )


def test_head_fit_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 48))
    y = rng.random(30) < 0.4
    for c in (0.3, 30.0):
        coef, intercept = _fit_logistic(x, y, c)
        reference = LogisticRegression(C=c, class_weight="balanced", max_iter=10_000, tol=1e-10)
        reference.fit(x, y)
        np.testing.assert_allclose(coef, reference.coef_[0], atol=1e-4)
        assert intercept == pytest.approx(reference.intercept_[0], abs=1e-4)
