"""A tiny rule-based backend for service and guard tests: fast, deterministic, no model.

Prompt harmful iff it mentions "bomb" (category violence_and_physical_harm) or "hack"
(cyberattack); response harmful iff it contains "STEP"; refusal iff it starts with "I'm sorry".
``delay_s`` sleeps per batch so tests can make requests overlap; every batch size is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Item, Result
from oneguard.taxonomy import CATEGORY_CLASSES


class KeywordBackend:
    name = "keyword-test"
    default_batch_size = 64

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.batch_sizes: list[int] = []
        self.seen: list[Item] = []

    def _category(self, text: str) -> str | None:
        if "bomb" in text:
            return "violence_and_physical_harm"
        if "hack" in text:
            return "cyberattack"
        return None

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        self.batch_sizes.append(len(items))
        self.seen.extend(items)
        if self.delay_s:
            time.sleep(self.delay_s)
        results = []
        for item in items:
            category = self._category(item.prompt.lower())
            harmful_response = item.response is not None and "STEP" in item.response
            category = category or ("violence_and_physical_harm" if harmful_response else None)
            scores = dict.fromkeys(CATEGORY_CLASSES, 0.0)
            if category:
                scores[category] = 1.0
            refusal = item.response is not None and item.response.startswith("I'm sorry")
            results.append(
                Result(
                    prompt_harmfulness=HARMFUL
                    if self._category(item.prompt.lower())
                    else UNHARMFUL,
                    response_harmfulness=None
                    if item.response is None
                    else (HARMFUL if harmful_response else UNHARMFUL),
                    response_refusal=None
                    if item.response is None
                    else (REFUSAL if refusal else COMPLIANCE),
                    prompt_harmfulness_score=0.9 if self._category(item.prompt.lower()) else 0.1,
                    response_harmfulness_score=None
                    if item.response is None
                    else (0.95 if harmful_response else 0.05),
                    response_refusal_score=None if item.response is None else float(refusal),
                    category=category,
                    category_scores=scores,
                )
            )
        return results
