"""Cross pairs: prompts and responses from different records, labelled by the response."""

from __future__ import annotations

from collections import Counter

from oneguard.data.cross import CROSS_PREFIX, cross_pairs
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, UNKNOWN, Record


def _request(i: int, label: str, **fields) -> Record:
    return Record(
        prompt=f"{label} request number {i}, asked plainly",
        source="requests",
        prompt_harm_label=label,
        id=f"q{label[0]}{i}",
        **fields,
    )


def _answer(i: int, harm: str, refusal: str = COMPLIANCE, source: str = "answers") -> Record:
    return Record(
        prompt=f"the question answer {i} was written for",
        source=source,
        response=f"{harm} answer number {i}",
        response_harm_label=harm,
        response_refusal_label=refusal,
        annotation="human",
        id=f"a{harm[0]}{i}",
    )


def _records() -> list[Record]:
    records = [_request(i, HARMFUL) for i in range(6)] + [_request(i, UNHARMFUL) for i in range(6)]
    records += [_answer(i, UNHARMFUL) for i in range(6)] + [_answer(i, HARMFUL) for i in range(6)]
    # Never used: a refusal (not a harmless *compliant* answer), a reply whose harm depends on
    # the post before it, and prompts that are not plain single-turn requests.
    records += [
        _answer(90, UNHARMFUL, refusal=REFUSAL),
        _answer(91, HARMFUL, source="diasafety_train"),
        _request(92, HARMFUL, adversarial=True),
        _request(93, UNHARMFUL, context=[{"role": "user", "content": "earlier turn"}]),
        Record(prompt="short", source="requests", prompt_harm_label=HARMFUL, id="short"),
        Record(
            prompt="a wrapped request from the augmenter",
            source="augment:requests",
            prompt_harm_label=UNHARMFUL,
            id="wrapped",
        ),
    ]
    return records


def test_half_each_kind_labelled_by_the_response_only() -> None:
    crossed = cross_pairs(_records(), 8, seed=3)
    assert Counter(r.response_harm_label for r in crossed) == {UNHARMFUL: 4, HARMFUL: 4}
    for record in crossed:
        assert record.source == CROSS_PREFIX + "answers"
        assert (record.prompt_harm_label, record.response_refusal_label) == (UNKNOWN, UNKNOWN)
        assert record.subcategory == UNKNOWN and record.annotation == "human"
        # A harmless answer goes behind a harmful request, a harmful one behind a benign one.
        asked = "harmful" if record.response_harm_label == UNHARMFUL else "unharmful"
        assert record.prompt.startswith(f"{asked} request")
        assert record.response.startswith(f"{record.response_harm_label} answer")


def test_each_text_used_once_and_excluded_records_never_used() -> None:
    crossed = cross_pairs(_records(), 100, seed=0)
    # The pools run out: six of each kind, no prompt or response twice.
    assert len(crossed) == 12
    assert len({r.prompt for r in crossed}) == len({r.response for r in crossed}) == 12
    used = " ".join(f"{r.prompt} {r.response} {r.id}" for r in crossed)
    for excluded in ("number 90", "number 91", "number 92", "number 93", "short", "wrapped"):
        assert excluded not in used


def test_deterministic_for_a_seed() -> None:
    records = _records()
    assert cross_pairs(records, 8, seed=1) == cross_pairs(records, 8, seed=1)
    assert cross_pairs(records, 8, seed=1) != cross_pairs(records, 8, seed=2)
    assert cross_pairs(records, 0) == []
