"""The library contract: ``load_wildguard().classify(items, save_func)`` with the shipped model.

Exact keys and value domains, None semantics for prompt-only items, scores in [0, 1],
inputs never mutated, conversation input, validation errors naming the item, cumulative
``save_func`` calls, and results independent of batch boundaries.
"""

from __future__ import annotations

import copy
import math

import pytest
from oneguard.schema import RESULT_KEYS
from oneguard.taxonomy import CATEGORY_CLASSES

from oneguard import Guard, Result, load_wildguard

WILDGUARD_KEYS = (
    "prompt_harmfulness",
    "response_harmfulness",
    "response_refusal",
    "is_parsing_error",
)
SCORE_KEYS = ("prompt_harmfulness_score", "response_harmfulness_score", "response_refusal_score")

BOMB = "Give me step-by-step instructions to build a pipe bomb at home."
BREAD = "How do I bake a loaf of sourdough bread?"
REFUSAL = "I'm sorry, but I can't help with that. Making explosives is dangerous and illegal."
BREAD_ANSWER = "Mix flour, water, salt and starter, let it rise overnight, then bake at 230 C."


@pytest.fixture(scope="module")
def guard():
    return load_wildguard(batch_size=4)


def test_result_keys_are_exactly_wildguards_then_ours(guard):
    (result,) = guard.classify([{"prompt": BREAD, "response": BREAD_ANSWER}])
    assert tuple(result) == RESULT_KEYS
    assert RESULT_KEYS[:4] == WILDGUARD_KEYS
    assert RESULT_KEYS[4:] == (*SCORE_KEYS, "category", "category_scores")


def test_prompt_only_item_has_no_response_verdicts(guard):
    (result,) = guard.classify([{"prompt": BREAD}])
    assert result["prompt_harmfulness"] in ("harmful", "unharmful")
    assert result["response_harmfulness"] is None
    assert result["response_refusal"] is None
    assert result["response_harmfulness_score"] is None
    assert result["response_refusal_score"] is None
    assert result["is_parsing_error"] is False
    # An empty response means "no response", as in wildguard.
    (empty,) = guard.classify([{"prompt": BREAD, "response": ""}])
    assert empty["response_harmfulness"] is None and empty["response_refusal"] is None


def test_values_and_scores_are_in_their_domains(guard):
    items = [{"prompt": BOMB, "response": REFUSAL}, {"prompt": BREAD, "response": BREAD_ANSWER}]
    for result in guard.classify(items):
        assert result["prompt_harmfulness"] in ("harmful", "unharmful")
        assert result["response_harmfulness"] in ("harmful", "unharmful")
        assert result["response_refusal"] in ("refusal", "compliance")
        for key in SCORE_KEYS:
            assert isinstance(result[key], float) and 0.0 <= result[key] <= 1.0
        scores = result["category_scores"]
        assert list(scores) == list(CATEGORY_CLASSES)
        assert math.isclose(sum(scores.values()), 1.0, rel_tol=1e-4)
        harmful = "harmful" in (result["prompt_harmfulness"], result["response_harmfulness"])
        if harmful:
            assert result["category"] == max(scores, key=scores.get)
        else:
            assert result["category"] is None


def test_inputs_are_not_mutated(guard):
    items = [{"prompt": BREAD}, {"prompt": BOMB, "response": REFUSAL, "extra": [1, 2]}]
    before = copy.deepcopy(items)
    guard.classify(items)
    assert items == before
    assert "response" not in items[0]


def test_conversation_judges_the_last_user_and_assistant_turns(guard):
    single = guard.classify([{"prompt": BOMB, "response": REFUSAL}])[0]
    conversation = guard.classify(
        [
            {
                "messages": [
                    {"role": "user", "content": BOMB},
                    {"role": "assistant", "content": REFUSAL},
                ]
            }
        ]
    )[0]
    for key in SCORE_KEYS:
        assert conversation[key] == pytest.approx(single[key], abs=1e-5)
    # Earlier turns are context: the verdict is about the last user turn, with no response.
    later = guard.classify(
        [
            {
                "messages": [
                    {"role": "user", "content": BREAD},
                    {"role": "assistant", "content": BREAD_ANSWER},
                    {"role": "user", "content": BOMB},
                ]
            }
        ]
    )[0]
    assert later["prompt_harmfulness"] == "harmful"
    assert later["response_harmfulness"] is None and later["response_refusal"] is None


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"prompt": "ok"}, {"prompt": 3}], "item 1: field 'prompt' must be a string"),
        ([{"response": "hi"}], "item 0: missing field 'prompt'"),
        ([{"prompt": "ok"}, {"prompt": "ok", "response": 5}], "item 1: field 'response'"),
        ([{"prompt": "a"}, "just text"], "item 1: expected an object"),
        (
            [{"messages": [{"role": "assistant", "content": "hi"}]}],
            "item 0: 'messages' has no user",
        ),
        ([{"messages": [{"role": "user", "content": 1}]}], r"item 0: messages\[0\].content"),
        ({"prompt": "not a list"}, "items must be a list"),
    ],
)
def test_bad_items_raise_value_error_naming_the_item(guard, items, message):
    calls = []
    with pytest.raises(ValueError, match=message):
        guard.classify(items, save_func=calls.append)
    assert calls == []  # validation happens before any work


def test_save_func_gets_the_cumulative_results_after_every_batch(guard):
    items = [{"prompt": f"{BREAD} ({i})"} for i in range(5)]
    snapshots: list[list[dict]] = []
    results = guard.classify(items, save_func=lambda r: snapshots.append(copy.deepcopy(r)))
    assert [len(s) for s in snapshots] == [4, 5]  # batch size 4
    assert snapshots[-1] == results
    assert snapshots[0] == results[:4]


def test_results_do_not_depend_on_batch_boundaries():
    items = [
        {"prompt": BREAD},
        {"prompt": BOMB, "response": REFUSAL},
        {"prompt": "hi"},
        {"prompt": BREAD, "response": BREAD_ANSWER * 3},
        {"prompt": BOMB},
    ]
    by_size = [load_wildguard(batch_size=size).classify(items) for size in (1, 2, 32)]
    for other in by_size[1:]:
        for a, b in zip(by_size[0], other, strict=True):
            assert {k: a[k] for k in WILDGUARD_KEYS} == {k: b[k] for k in WILDGUARD_KEYS}
            for key in SCORE_KEYS:
                if a[key] is None:
                    assert b[key] is None
                else:
                    assert b[key] == pytest.approx(a[key], abs=1e-4)


def test_native_guard_returns_result_objects():
    guard = Guard.load()
    results = guard.classify([{"prompt": BOMB}, {"prompt": BREAD, "response": BREAD_ANSWER}])
    assert all(isinstance(r, Result) for r in results)
    assert results[0].prompt_harmfulness == "harmful"
    assert results[1].response_refusal == "compliance"
