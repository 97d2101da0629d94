"""The stated truncation policy: what survives when an item does not fit the window."""

from __future__ import annotations

import pytest
from oneguard.model.truncation import (
    SEGMENT_CONTEXT,
    SEGMENT_PROMPT,
    SEGMENT_RESPONSE,
    SEGMENT_SPECIAL,
    TruncationPolicy,
)
from oneguard.schema import Record, context_text, context_turns

CLS, SEP = 101, 102


def ids(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def segment_tokens(encoded, segment: int) -> list[int]:
    return [t for t, s in zip(encoded.input_ids, encoded.segments, strict=True) if s == segment]


def test_short_pair_is_kept_whole_with_bert_layout():
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=8)
    enc = policy.pair_input(ids(1000, 5), ids(2000, 6), None, cls_id=CLS, sep_id=SEP)
    assert enc.input_ids == [CLS, *ids(1000, 5), SEP, *ids(2000, 6), SEP]
    assert enc.token_type_ids == [0] * 7 + [1] * 7
    assert enc.segments == [SEGMENT_SPECIAL] + [SEGMENT_PROMPT] * 5 + [SEGMENT_SPECIAL] + [
        SEGMENT_RESPONSE
    ] * 6 + [SEGMENT_SPECIAL]


def test_prompt_only_keeps_the_start_of_the_prompt():
    policy = TruncationPolicy(max_length=16, pair_prompt_tokens=4)
    enc = policy.prompt_input(ids(1000, 100), None, cls_id=CLS, sep_id=SEP)
    assert len(enc) == 16
    assert segment_tokens(enc, SEGMENT_PROMPT) == ids(1000, 14)


def test_long_pair_keeps_prompt_start_and_response_start_and_end():
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=8, response_head_fraction=0.75)
    prompt, response = ids(1000, 50), ids(2000, 100)
    enc = policy.pair_input(prompt, response, None, cls_id=CLS, sep_id=SEP)
    assert len(enc) == 32
    # The prompt gets its guaranteed budget, from its start.
    assert segment_tokens(enc, SEGMENT_PROMPT) == ids(1000, 8)
    # The response gets the other 21 tokens: 16 from its start, 5 from its end.
    assert segment_tokens(enc, SEGMENT_RESPONSE) == ids(2000, 16) + ids(2095, 5)


def test_short_response_leaves_its_room_to_the_prompt():
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=8)
    enc = policy.pair_input(ids(1000, 50), ids(2000, 4), None, cls_id=CLS, sep_id=SEP)
    assert len(enc) == 32
    assert segment_tokens(enc, SEGMENT_RESPONSE) == ids(2000, 4)
    assert segment_tokens(enc, SEGMENT_PROMPT) == ids(1000, 25)


def test_short_prompt_leaves_its_room_to_the_response():
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=8)
    enc = policy.pair_input(ids(1000, 3), ids(2000, 100), None, cls_id=CLS, sep_id=SEP)
    assert segment_tokens(enc, SEGMENT_PROMPT) == ids(1000, 3)
    assert len(segment_tokens(enc, SEGMENT_RESPONSE)) == 26


def test_context_enters_only_with_room_and_keeps_its_end():
    policy = TruncationPolicy(max_length=32, pair_prompt_tokens=8, min_context_tokens=4)
    context = ids(3000, 100)
    enc = policy.prompt_input(ids(1000, 10), context, cls_id=CLS, sep_id=SEP)
    assert len(enc) == 32
    # [CLS] context [SEP] prompt [SEP]: 32 - 1 - 11 - 1 = 19 context tokens, the latest.
    assert enc.input_ids[: 1 + 19 + 1] == [CLS, *ids(3081, 19), SEP]
    assert segment_tokens(enc, SEGMENT_CONTEXT) == ids(3081, 19)
    assert segment_tokens(enc, SEGMENT_PROMPT) == ids(1000, 10)
    # No room left: the judged texts fill the window, so the context is dropped.
    full = policy.pair_input(ids(1000, 50), ids(2000, 50), context, cls_id=CLS, sep_id=SEP)
    assert segment_tokens(full, SEGMENT_CONTEXT) == []
    # Room below min_context_tokens: dropped as well.
    tight = policy.prompt_input(ids(1000, 27), context, cls_id=CLS, sep_id=SEP)
    assert segment_tokens(tight, SEGMENT_CONTEXT) == []


def test_raw_text_clipping_keeps_both_ends_of_a_response():
    policy = TruncationPolicy(max_length=8, pair_prompt_tokens=2, chars_per_token=2)
    response = "a" * 20 + "b" * 20 + "c" * 20
    clipped = policy.clip_response(response)
    assert clipped.startswith("a" * 16) and clipped.endswith("c" * 16)
    assert "b" * 10 not in clipped
    assert policy.clip_prompt("x" * 100) == "x" * 16
    assert policy.clip_context("y" * 90 + "z" * 10) == "y" * 6 + "z" * 10


def test_context_text_formats_turns_as_role_lines():
    assert context_text([("user", "hi"), ("assistant", "hello")]) == "user: hi\nassistant: hello"
    assert context_text([]) is None


def test_context_turns_inverts_context_text_and_feeds_record_items():
    turns = (("user", "hi\nthere"), ("assistant", "hello"))
    assert context_turns(context_text(turns)) == turns
    assert context_turns(None) == ()
    record = Record(prompt="and now?", response="fine", source="t", context=context_text(turns))
    assert record.to_item().context == turns


@pytest.mark.parametrize(
    "kwargs",
    [{"max_length": 4}, {"pair_prompt_tokens": 0}, {"max_length": 16, "pair_prompt_tokens": 14}],
)
def test_invalid_policies_are_rejected(kwargs):
    with pytest.raises(ValueError):
        TruncationPolicy(**kwargs)


def test_policy_round_trips_through_a_dict():
    policy = TruncationPolicy(max_length=128, pair_prompt_tokens=40)
    assert TruncationPolicy.from_dict(policy.to_dict()) == policy
    with pytest.raises(ValueError, match="unknown fields"):
        TruncationPolicy.from_dict({**policy.to_dict(), "bogus": 1})
