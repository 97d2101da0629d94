"""Server limits and security settings, shared by the moderation API and the proxy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

API_KEYS_ENV = "ONEGUARD_API_KEYS"


def api_keys_from_env() -> frozenset[str]:
    """Comma-separated keys in ``$ONEGUARD_API_KEYS`` (empty: no auth)."""
    raw = os.environ.get(API_KEYS_ENV, "")
    return frozenset(k.strip() for k in raw.split(",") if k.strip())


@dataclass(frozen=True)
class ServerSettings:
    #: Accepted bearer tokens; empty means the server is open (bind it to localhost then).
    api_keys: frozenset[str] = field(default_factory=frozenset)
    #: Largest request body accepted (413 above).
    max_body_bytes: int = 1_000_000
    #: Most items (or input strings) per request (413 above).
    max_items: int = 64
    #: Longest text (prompt, response or message) accepted.
    max_text_chars: int = 32_000
    #: What to do with a longer text: "reject" (413) or "truncate" (keep the first
    #: ``max_text_chars``; the model then applies its own window policy).
    long_text: str = "reject"
    #: A request still waiting for the model after this many seconds gets 504.
    request_timeout_s: float = 30.0
    #: Dynamic batching: most items per model call, and longest wait for more to arrive.
    max_batch_size: int = 32
    max_wait_ms: float = 5.0

    def __post_init__(self) -> None:
        if self.long_text not in ("reject", "truncate"):
            raise ValueError("long_text must be 'reject' or 'truncate'")
        for name in ("max_body_bytes", "max_items", "max_text_chars", "max_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
