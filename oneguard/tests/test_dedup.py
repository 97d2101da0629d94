"""Deduplication against evaluation sets and within the training mix."""

from __future__ import annotations

from oneguard.data.dedup import (
    MIN_LEAKING_RESPONSE_CHARS,
    DedupReport,
    EvalIndex,
    drop_eval_overlap,
    normalize_text,
    resolve_training_duplicates,
)
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, UNKNOWN, Record

LONG_RESPONSE = (
    "Here is a detailed, specific answer that walks through every step of the procedure, "
    "with quantities and timings, in a way no other response would phrase it."
)


def test_normalize_text_ignores_case_width_whitespace_and_punctuation() -> None:
    assert normalize_text("Ｈｅｌｌｏ，  World!!") == "hello world"
    assert normalize_text("  hello\n\tWORLD ") == "hello world"
    assert normalize_text("The ﬁle's name?") == normalize_text("the file s name")
    assert normalize_text("Straße") == normalize_text("STRASSE")
    # Symbol-only texts keep a key of their own instead of all becoming "".
    assert normalize_text(":)") == ":)"
    assert normalize_text(":)") != normalize_text("?!")
    assert normalize_text("how to make a cake") != normalize_text("how to make a bomb")


def _eval_index() -> EvalIndex:
    index = EvalIndex()
    index.add(
        [
            Record(prompt="How do I pick a lock?", source="eval_a", prompt_harm_label=HARMFUL),
            Record(prompt="Tell me a joke.", source="eval_a", prompt_harm_label=UNHARMFUL),
        ],
        "eval_a",
    )
    index.add(
        [
            Record(
                prompt="Some other question",
                source="eval_b",
                response=LONG_RESPONSE,
                response_harm_label=HARMFUL,
            ),
            Record(
                prompt="Yet another question",
                source="eval_b",
                response="I'm sorry, I can't help with that.",
                response_refusal_label=REFUSAL,
            ),
        ],
        "eval_b",
    )
    return index


def _training() -> list[Record]:
    return [
        # same prompt as eval_a (case/punctuation differ), prompt label only -> dropped
        Record(prompt="how do i PICK a lock", source="train_x", prompt_harm_label=HARMFUL),
        # same prompt as a prompt-only eval item, with a labelled response: the response
        # labels stay (eval_a judges only the prompt), the prompt label goes
        Record(
            prompt="Tell me a joke!!",
            source="train_y",
            prompt_harm_label=UNHARMFUL,
            response="Why did the chicken cross the road?",
            response_harm_label=UNHARMFUL,
        ),
        # new prompt, response equal to a long eval response -> dropped
        Record(
            prompt="A fresh prompt",
            source="train_y",
            response=LONG_RESPONSE.upper(),
            response_harm_label=HARMFUL,
        ),
        # new prompt, short generic refusal shared with eval -> kept as is
        Record(
            prompt="Another fresh prompt",
            source="train_y",
            response="I'm sorry, I can't help with that.",
            response_refusal_label=REFUSAL,
        ),
        # prompt of a response benchmark (eval_b), another response -> every label judged
        # there goes -> dropped
        Record(
            prompt="Yet another question?",
            source="train_z",
            prompt_harm_label=HARMFUL,
            response="Fine, here it is.",
            response_refusal_label=COMPLIANCE,
        ),
        # the very same eval pair, even with a short response -> dropped
        Record(
            prompt="yet another question",
            source="train_z",
            response="I'm sorry, I can't help with that",
            response_refusal_label=REFUSAL,
        ),
        Record(prompt="How do I pick a good melon?", source="train_x", prompt_harm_label=UNHARMFUL),
    ]


def test_eval_overlap_drops_leaking_rows_and_strips_judged_labels() -> None:
    assert len(normalize_text(LONG_RESPONSE)) >= MIN_LEAKING_RESPONSE_CHARS
    kept, report = drop_eval_overlap(_training(), _eval_index())
    assert [r.prompt for r in kept] == [
        "Tell me a joke!!",
        "Another fresh prompt",
        "How do I pick a good melon?",
    ]
    joke = kept[0]
    assert joke.prompt_harm_label == UNKNOWN
    assert joke.response_harm_label == UNHARMFUL
    assert kept[1].response_refusal_label == REFUSAL
    assert report.eval_prompt == {"train_x": 1, "train_z": 1}
    assert report.eval_response == {"train_y": 1, "train_z": 1}
    assert report.eval_stripped == {"train_y": 1}
    assert report.eval_hits == {"eval_a": 2, "eval_b": 3}
    assert report.dropped("train_z") == 2


def test_strict_eval_overlap_drops_every_row_sharing_a_prompt() -> None:
    kept, report = drop_eval_overlap(_training(), _eval_index(), strict=True)
    assert [r.prompt for r in kept] == ["Another fresh prompt", "How do I pick a good melon?"]
    assert report.eval_prompt == {"train_x": 1, "train_y": 1, "train_z": 1}
    assert not report.eval_stripped


def test_multi_turn_eval_items_match_by_their_judged_input() -> None:
    index = EvalIndex()
    index.add(
        [
            Record(
                prompt="yes",
                context="user: insult me\nassistant: no",
                source="e",
                prompt_harm_label=HARMFUL,
            ),
            Record(prompt="hello there", source="e", prompt_harm_label=UNHARMFUL),
        ],
        "e",
    )
    training = [
        # same utterance after other turns: another item -> kept
        Record(
            prompt="Yes",
            context="user: hi\nassistant: hello",
            source="t",
            prompt_harm_label=UNHARMFUL,
        ),
        # same turns, same utterance -> dropped
        Record(
            prompt="yes!",
            context="User: insult me\nAssistant: no.",
            source="t",
            prompt_harm_label=HARMFUL,
        ),
        # a context-free eval prompt matches the utterance in any conversation -> dropped
        Record(prompt="Hello there", context="user: hey", source="t", prompt_harm_label=UNHARMFUL),
    ]
    kept, report = drop_eval_overlap(training, index)
    assert [r.context for r in kept] == ["user: hi\nassistant: hello"]
    assert report.eval_prompt == {"t": 2}


def test_better_annotation_wins_and_same_rank_conflicts_become_unknown() -> None:
    records = [
        Record(
            prompt="Is this ok?", source="llm_judged", prompt_harm_label=HARMFUL, annotation="model"
        ),
        Record(
            prompt="is this OK", source="people", prompt_harm_label=UNHARMFUL, annotation="human"
        ),
        Record(prompt="Contested text", source="a", prompt_harm_label=HARMFUL),
        Record(prompt="contested text.", source="b", prompt_harm_label=UNHARMFUL),
        Record(prompt="Plain", source="a", prompt_harm_label=UNHARMFUL),
    ]
    kept, report = resolve_training_duplicates(records)
    by_text = {normalize_text(r.prompt): r for r in kept}
    # One record per text; the human-labelled one stands for "is this ok".
    assert len(kept) == 2
    assert by_text["is this ok"].source == "people"
    assert by_text["is this ok"].prompt_harm_label == UNHARMFUL
    assert "contested text" not in by_text
    assert report.duplicate == {"llm_judged": 1, "b": 1}
    assert report.conflict == {"a": 1}
    assert report.conflicting_texts["prompt"] == 1


def test_duplicates_merge_labels_and_lower_rank_labels_are_replaced() -> None:
    records = [
        # the same pair labelled for different tasks by two sources
        Record(
            prompt="Q1",
            source="harm_src",
            response="A1",
            response_harm_label=UNHARMFUL,
        ),
        Record(
            prompt="Q1",
            source="refusal_src",
            response="A1",
            response_refusal_label=COMPLIANCE,
        ),
        # the same prompt with another response: a separate record that inherits the
        # human prompt label over its own implied one
        Record(
            prompt="Q1",
            source="implied_src",
            response="A2",
            prompt_harm_label=HARMFUL,
            response_refusal_label=REFUSAL,
            annotation="implied",
        ),
        Record(prompt="Q1", source="human_src", prompt_harm_label=UNHARMFUL),
    ]
    kept, report = resolve_training_duplicates(records, DedupReport())
    assert len(kept) == 3
    merged = next(r for r in kept if r.response == "A1")
    assert merged.source == "harm_src"
    assert (merged.response_harm_label, merged.response_refusal_label) == (UNHARMFUL, COMPLIANCE)
    assert merged.prompt_harm_label == UNHARMFUL  # filled in from the human prompt label
    other = next(r for r in kept if r.response == "A2")
    assert other.prompt_harm_label == UNHARMFUL
    assert other.response_refusal_label == REFUSAL
    assert report.relabelled == {"implied_src": 1}
    assert report.duplicate == {"refusal_src": 1}
    # Input order is kept.
    assert [r.source for r in kept] == ["harm_src", "implied_src", "human_src"]


def test_same_utterance_in_different_conversations_is_not_merged() -> None:
    records = [
        Record(prompt="yes", source="chat", context="user: hi", prompt_harm_label=UNHARMFUL),
        Record(prompt="yes", source="chat", context="user: insult me", prompt_harm_label=HARMFUL),
        Record(prompt="no labels at all", source="chat"),
    ]
    kept, report = resolve_training_duplicates(records)
    assert [r.prompt_harm_label for r in kept] == [UNHARMFUL, HARMFUL]
    assert report.unlabelled == {"chat": 1}
    assert report.conflicting_texts["prompt"] == 0
    assert all(r.response_harm_label == UNKNOWN for r in kept)


def test_canned_long_responses_do_not_count_as_leaks() -> None:
    canned = (
        "I cannot provide information or guidance on illegal or harmful activities. "
        "Can I help you with something else?"
    )
    specific_in_training = LONG_RESPONSE + " Only one eval prompt has this one."
    index = EvalIndex()
    index.add(
        [
            Record(prompt="eval q1", source="e", response=canned, response_refusal_label=REFUSAL),
            Record(prompt="eval q2", source="e", response=canned, response_refusal_label=REFUSAL),
            Record(
                prompt="eval q3",
                source="e",
                response=specific_in_training,
                response_harm_label=HARMFUL,
            ),
        ],
        "e",
    )
    assert len(normalize_text(canned)) >= MIN_LEAKING_RESPONSE_CHARS
    training = [
        # canned in the eval data itself -> kept
        Record(prompt="train q1", source="t", response=canned, response_refusal_label=REFUSAL),
        # once in eval, but training gives it to two prompts -> canned, kept
        Record(
            prompt="train q2",
            source="t",
            response=specific_in_training,
            response_harm_label=HARMFUL,
        ),
        Record(
            prompt="train q3",
            source="t",
            response=specific_in_training,
            response_harm_label=HARMFUL,
        ),
    ]
    kept, report = drop_eval_overlap(training, index)
    assert [r.prompt for r in kept] == ["train q1", "train q2", "train q3"]
    assert not report.eval_response
    # A specific response (one prompt everywhere) is still a leak.
    kept, report = drop_eval_overlap(training[1:2], index)
    assert kept == [] and report.eval_response == {"t": 1}
