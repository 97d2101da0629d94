"""Cross pairs: one record's prompt with another record's response, labelled by the response.

In the training data, response harm nearly always follows prompt harm: a harmful request is
answered harmfully unless the answer is a refusal, and a benign one is answered harmlessly.
A response head can therefore score the *request* and still fit its labels, which is the
failure seen on answers to requests that only sound harmful. A cross pair breaks that link.
Half of them put a harmless, compliant answer behind a harmful request (response unharmful),
half a harmful answer behind a benign request (response harmful); on these rows neither the
request's harm nor the mismatch between request and answer tells the label, only the answer's
content does.

Cross pairs are made from train-split records only and always land in train, so the dev split
keeps measuring natural pairs. Only the response-harm label is set: the prompt label would
repeat the prompt head's data, and whether an answer to a different question is a refusal is
not defined. Deterministic given ``seed``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace

from oneguard.data.augment import AUGMENT_PREFIX, AugmentConfig, is_seed
from oneguard.schema import COMPLIANCE, HARMFUL, UNHARMFUL, UNKNOWN, Record

#: Source prefix of cross pairs (an augmented source, so the summary counts them apart).
CROSS_PREFIX = f"{AUGMENT_PREFIX}cross:"
#: Responses whose harm depends on the turn before them (DiaSafety's replies agreeing with a
#: toxic post), so moving them behind another prompt would change their label.
CONTEXT_BOUND_SOURCES = ("diasafety_train",)
#: What counts as a plain request: the augmenter's seed rule at its defaults.
_REQUEST_RULE = AugmentConfig()


def _unique(records: Sequence[Record], key: Callable[[Record], str | None]) -> list[Record]:
    seen: set[str | None] = set()
    out = []
    for record in records:
        if key(record) not in seen:
            seen.add(key(record))
            out.append(record)
    return out


def cross_pairs(records: Sequence[Record], n: int, seed: int = 0) -> list[Record]:
    """``n`` cross pairs (half of each kind, fewer when a pool runs out) made from ``records``
    (:func:`~oneguard.data.mix.build_mix` passes its train split), each on its prompt's split;
    each prompt and each response is used at most once."""
    harmful_requests = _unique(
        [r for r in records if is_seed(r, _REQUEST_RULE) and r.prompt_harm_label == HARMFUL],
        lambda r: r.prompt,
    )
    benign_requests = _unique(
        [r for r in records if is_seed(r, _REQUEST_RULE) and r.prompt_harm_label == UNHARMFUL],
        lambda r: r.prompt,
    )
    answered = [r for r in records if r.response and not r.source.startswith(AUGMENT_PREFIX)]
    harmless_answers = _unique(
        [
            r
            for r in answered
            if r.response_harm_label == UNHARMFUL and r.response_refusal_label == COMPLIANCE
        ],
        lambda r: r.response,
    )
    harmful_answers = _unique(
        [
            r
            for r in answered
            if r.response_harm_label == HARMFUL and r.source not in CONTEXT_BOUND_SOURCES
        ],
        lambda r: r.response,
    )
    rng = random.Random(f"oneguard-cross:{seed}")
    out: list[Record] = []
    plan = (
        (harmful_requests, harmless_answers, UNHARMFUL, n // 2),
        (benign_requests, harmful_answers, HARMFUL, n - n // 2),
    )
    for requests, answers, label, wanted in plan:
        prompts = rng.sample(requests, min(wanted, len(requests)))
        responses = rng.sample(answers, min(wanted, len(answers)))
        for i, (prompt, answer) in enumerate(zip(prompts, responses, strict=False)):
            out.append(
                replace(
                    prompt,
                    response=answer.response,
                    source=CROSS_PREFIX + answer.source,
                    prompt_harm_label=UNKNOWN,
                    response_harm_label=label,
                    response_refusal_label=UNKNOWN,
                    subcategory=UNKNOWN,
                    annotation=answer.annotation,
                    context=None,
                    id=f"cross{label[0]}{i}|{prompt.id}|{answer.id}",
                )
            )
    return out
