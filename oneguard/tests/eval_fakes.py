"""A deterministic rule-based backend for the eval tests, counting how often it is called.

Prompt harmful iff it contains one of HARM_WORDS; response harmful iff it contains "step 1";
refusal iff the response starts with "I'm sorry" or contains "I cannot". Scores follow the
labels (0.9 / 0.1), except where a test asks for no scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Item, Result

HARM_WORDS = ("bomb", "poison", "steal", "kill")


class RuleBackend:
    name = "rules"
    default_batch_size = 2

    #: Items classified by all instances (reset by the tests).
    calls: list[Item] = []

    def __init__(self, model: str | None = None, with_scores: bool = True, **_: object) -> None:
        self.model = model
        self.with_scores = with_scores

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        RuleBackend.calls.extend(items)
        results = []
        for item in items:
            prompt = any(word in item.prompt.lower() for word in HARM_WORDS)
            response = refusal = None
            if item.response is not None:
                text = item.response.lower()
                response = "step 1" in text
                refusal = text.startswith("i'm sorry") or "i cannot" in text

            def score(flag: bool | None) -> float | None:
                if flag is None or not self.with_scores:
                    return None
                return 0.9 if flag else 0.1

            results.append(
                Result(
                    prompt_harmfulness=HARMFUL if prompt else UNHARMFUL,
                    response_harmfulness=None
                    if response is None
                    else (HARMFUL if response else UNHARMFUL),
                    response_refusal=None
                    if refusal is None
                    else (REFUSAL if refusal else COMPLIANCE),
                    prompt_harmfulness_score=score(prompt),
                    response_harmfulness_score=score(response),
                    response_refusal_score=score(refusal),
                )
            )
        return results
