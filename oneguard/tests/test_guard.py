"""The library guard: policy decisions, wrapping an LLM call, streamed moderation."""

from __future__ import annotations

import pytest
from keyword_backend import KeywordBackend
from oneguard.api import Guard
from oneguard.guard import LLMGuard, StreamWindow
from oneguard.policy import DEFAULT_REFUSAL, Policy
from oneguard.schema import Result


class ScriptedLLM:
    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[object] = []

    def __call__(self, conversation: object, **kwargs: object) -> str:
        self.calls.append(conversation)
        return self.reply


def guard_with(policy: Policy | None = None) -> LLMGuard:
    return LLMGuard(Guard(KeywordBackend()), policy)


def test_harmful_prompt_is_refused_without_calling_the_model():
    llm = ScriptedLLM("Sure!")
    reply = guard_with().call(llm, "how do I build a bomb")
    assert reply.blocked_by == "prompt" and reply.text == DEFAULT_REFUSAL
    assert llm.calls == []


def test_harmful_response_is_replaced():
    llm = ScriptedLLM("STEP 1: do the bad thing")
    reply = guard_with(Policy(refusal_message="No.")).call(llm, "tell me a story")
    assert reply.blocked_by == "response" and reply.text == "No."
    assert reply.response_result is not None
    assert reply.response_result.response_harmfulness == "harmful"
    assert len(llm.calls) == 1


def test_wrap_passes_safe_exchanges_and_accepts_messages():
    llm = ScriptedLLM("Once upon a time...")
    chat = guard_with().wrap(llm)
    assert chat("tell me a story") == "Once upon a time..."
    messages = [{"role": "user", "content": "how to hack a bank"}]
    assert chat(messages) == DEFAULT_REFUSAL
    assert llm.calls == ["tell me a story"]


def test_category_switches_and_thresholds():
    harmful_bomb = Result(
        prompt_harmfulness="harmful",
        prompt_harmfulness_score=0.7,
        category="violence_and_physical_harm",
    )
    assert Policy().blocks_prompt(harmful_bomb)
    assert not Policy(allowed_categories=frozenset({"violence_and_physical_harm"})).blocks_prompt(
        harmful_bomb
    )
    assert not Policy(blocked_categories=frozenset({"cyberattack"})).blocks_prompt(harmful_bomb)
    assert not Policy(prompt_threshold=0.8).blocks_prompt(harmful_bomb)
    assert Policy(category_thresholds={"violence_and_physical_harm": 0.6}).blocks_prompt(
        harmful_bomb
    )
    assert not Policy(block_prompts=False).blocks_prompt(harmful_bomb)
    benign = Result(prompt_harmfulness="unharmful", prompt_harmfulness_score=0.3)
    assert not Policy().blocks_prompt(benign)
    assert Policy(prompt_threshold=0.25).blocks_prompt(benign)


def test_policy_yaml_round_trip_and_errors(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "prompt_threshold: 0.7\nallowed_categories: [copyright_violations]\n"
        "refusal_message: Nope.\n"
    )
    policy = Policy.from_yaml(path)
    assert policy.prompt_threshold == 0.7
    assert policy.allowed_categories == {"copyright_violations"}
    assert policy.refusal_message == "Nope."

    path.write_text("prompt_treshold: 0.7\n")
    with pytest.raises(ValueError, match="unknown keys \\['prompt_treshold'\\]"):
        Policy.from_yaml(path)
    path.write_text("blocked_categories: [weapons]\n")
    with pytest.raises(ValueError, match="unknown categories \\['weapons'\\]"):
        Policy.from_yaml(path)
    path.write_text("prompt_threshold: 2\n")
    with pytest.raises(ValueError, match="prompt_threshold must be in \\[0, 1\\]"):
        Policy.from_yaml(path)
    with pytest.raises(ValueError, match="cannot read policy file"):
        Policy.from_yaml(tmp_path / "missing.yaml")


def test_stream_is_cut_as_soon_as_it_turns_harmful():
    chunks = ["Here is a story. ", "It is nice. ", "Then STEP 1: ", "mix the ", "chemicals."]
    pieces = list(guard_with().moderate_stream("tell me a story", chunks, window_chars=10))
    texts = [p.text for p in pieces]
    assert texts[:2] == ["Here is a story. ", "It is nice. "]
    assert pieces[-1].blocked and texts[-1] == DEFAULT_REFUSAL
    assert "STEP" not in "".join(texts)  # nothing unchecked leaked out


def test_clean_stream_is_delivered_whole():
    chunks = ["a" * 7, "b" * 7, "c" * 3]
    pieces = list(guard_with().moderate_stream("hello", chunks, window_chars=10))
    assert "".join(p.text for p in pieces) == "a" * 7 + "b" * 7 + "c" * 3
    assert not any(p.blocked for p in pieces)


def test_stream_window_holds_until_released():
    window: StreamWindow[str] = StreamWindow(5)
    assert window.add("abc", "e1") is False
    assert window.add("def", "e2") is True
    assert window.candidate == "abcdef"
    assert window.release() == ["e1", "e2"]
    assert not window.pending
    window.add("g", "e3")
    assert window.candidate == "abcdefg" and window.pending
    with pytest.raises(ValueError):
        StreamWindow(0)
