"""A fast, deterministic backend for tests (no model): harmful iff the text mentions "bomb",
a refusal iff the response starts with "I can't" or "Sorry".

``ONEGUARD_FAKE_SLEEP`` (seconds per batch) slows it down so a test can kill a run mid-way;
``ONEGUARD_FAKE_CRASH_ON`` makes a batch fail when a prompt contains that text.
Register it with :func:`register`; a subprocess gets it through :data:`CLI_MAIN`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Item, Result

NAME = "fake"
TARGET = "fake_backend:FakeBackend"
HARM_CATEGORY = "violence_and_physical_harm"

#: ``python -c CLI_MAIN classify ...`` runs the oneguard CLI with this backend registered.
CLI_MAIN = (
    "import sys; import fake_backend; fake_backend.register(); "
    "from oneguard.cli import main; sys.exit(main())"
)


def register() -> None:
    from oneguard.backends import register_backend

    register_backend(NAME, TARGET)


def _harmful(text: str) -> bool:
    return "bomb" in text.lower()


def expected(prompt: str, response: str | None) -> dict[str, Any]:
    """The result fields the fake backend gives for this input (for assertions)."""
    response = response or None
    prompt_harmful = _harmful(prompt)
    result: dict[str, Any] = {
        "prompt_harmfulness": HARMFUL if prompt_harmful else UNHARMFUL,
        "response_harmfulness": None,
        "response_refusal": None,
        "is_parsing_error": False,
        "prompt_harmfulness_score": 0.9 if prompt_harmful else 0.1,
        "response_harmfulness_score": None,
        "response_refusal_score": None,
        "category": HARM_CATEGORY if prompt_harmful else "benign",
        "category_scores": {HARM_CATEGORY: 0.9 if prompt_harmful else 0.1},
    }
    if response is not None:
        refused = response.startswith(("I can't", "Sorry"))
        response_harmful = _harmful(response)
        result["response_harmfulness"] = HARMFUL if response_harmful else UNHARMFUL
        result["response_harmfulness_score"] = 0.8 if response_harmful else 0.2
        result["response_refusal"] = REFUSAL if refused else COMPLIANCE
        result["response_refusal_score"] = 0.7 if refused else 0.3
    return result


class FakeBackend:
    name = NAME
    default_batch_size = 4

    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        self.model = model
        self.sleep = float(os.environ.get("ONEGUARD_FAKE_SLEEP", "0"))
        self.crash_on = os.environ.get("ONEGUARD_FAKE_CRASH_ON")
        self.batches = 0

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        if self.sleep:
            time.sleep(self.sleep)
        self.batches += 1
        if self.crash_on and any(self.crash_on in item.prompt for item in items):
            raise RuntimeError(f"fake backend told to fail on {self.crash_on!r}")
        return [Result(**expected(item.prompt, item.response)) for item in items]
