"""How an item is fitted into the encoder's window (the stated truncation policy).

The encoder sees at most ``max_length`` tokens, special tokens included. Two inputs exist:

* **prompt input** (prompt harm, risk category): ``[CLS] (context [SEP]) prompt [SEP]``.
  The prompt keeps its **start**: the first ``max_length - 2`` tokens.
* **pair input** (response harm, refusal): ``[CLS] (context [SEP]) prompt [SEP] response [SEP]``.
  When both do not fit, the prompt keeps its **start**, at least ``pair_prompt_tokens`` tokens
  (more when the response is short); the response gets the rest of the window and keeps its
  **start and end**: ``response_head_fraction`` of its budget from the start, the remainder
  from the end (a refusal or a disclaimer tends to sit at either end; harmful content can
  follow a compliant opening or precede a closing warning).
* **earlier turns** of a conversation are context only: they enter only when at least
  ``min_context_tokens`` tokens of room remain after the judged texts, and then keep their
  **end** (the most recent turns). Features are pooled over the judged text, never over
  context, so context informs the judged tokens through attention only.

Before tokenising, raw text is cut to ``chars_per_token * max_length`` characters (prompt and
context: start resp. end; response: start and end), which keeps tokenising long inputs fast
without changing which tokens survive (a WordPiece token rarely spans 10 characters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: Segment ids: which part of the window a token belongs to (used for pooling masks).
SEGMENT_SPECIAL = 0
SEGMENT_CONTEXT = 1
SEGMENT_PROMPT = 2
SEGMENT_RESPONSE = 3

#: Joins the two ends of a response cut in the middle, before tokenising.
_ELISION = "\n...\n"


@dataclass(frozen=True)
class EncodedInput:
    """One encoder input: token ids, BERT token types and the segment of every token."""

    input_ids: list[int]
    token_type_ids: list[int]
    segments: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class TruncationPolicy:
    max_length: int = 256
    pair_prompt_tokens: int = 96
    response_head_fraction: float = 0.7
    min_context_tokens: int = 16
    chars_per_token: int = 10

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if not 0 < self.pair_prompt_tokens < self.max_length - 3:
            raise ValueError(
                f"pair_prompt_tokens must be in (0, {self.max_length - 3}), "
                f"got {self.pair_prompt_tokens}"
            )
        if not 0.0 <= self.response_head_fraction <= 1.0:
            raise ValueError("response_head_fraction must be in [0, 1]")

    # ---- raw text -----------------------------------------------------------------------
    @property
    def char_budget(self) -> int:
        return self.chars_per_token * self.max_length

    def clip_prompt(self, text: str) -> str:
        return text[: self.char_budget]

    def clip_response(self, text: str) -> str:
        budget = self.char_budget
        if len(text) <= 2 * budget:
            return text
        return text[:budget] + _ELISION + text[-budget:]

    def clip_context(self, text: str | None) -> str | None:
        return text[-self.char_budget :] if text else None

    # ---- token ids ----------------------------------------------------------------------
    def _with_context(
        self,
        judged: list[tuple[list[int], int, int]],
        context_ids: Sequence[int] | None,
        cls_id: int,
        sep_id: int,
    ) -> EncodedInput:
        """Lay out ``[CLS] (context [SEP]) part [SEP] part [SEP]...`` from (ids, type, segment)."""
        used = 1 + sum(len(ids) + 1 for ids, _, _ in judged)
        room = self.max_length - used - 1  # the context's own [SEP]
        input_ids, types, segments = [cls_id], [0], [SEGMENT_SPECIAL]
        if context_ids and room >= self.min_context_tokens:
            kept = list(context_ids[-room:])
            input_ids += kept + [sep_id]
            types += [0] * (len(kept) + 1)
            segments += [SEGMENT_CONTEXT] * len(kept) + [SEGMENT_SPECIAL]
        for ids, token_type, segment in judged:
            input_ids += ids + [sep_id]
            types += [token_type] * (len(ids) + 1)
            segments += [segment] * len(ids) + [SEGMENT_SPECIAL]
        return EncodedInput(input_ids, types, segments)

    def prompt_input(
        self,
        prompt_ids: Sequence[int],
        context_ids: Sequence[int] | None,
        *,
        cls_id: int,
        sep_id: int,
    ) -> EncodedInput:
        """``[CLS] (context [SEP]) prompt-start [SEP]``."""
        kept = list(prompt_ids[: self.max_length - 2])
        return self._with_context([(kept, 0, SEGMENT_PROMPT)], context_ids, cls_id, sep_id)

    def pair_budgets(self, prompt_len: int, response_len: int) -> tuple[int, int]:
        """Tokens kept from the prompt and from the response in a pair input."""
        room = self.max_length - 3
        if prompt_len + response_len <= room:
            return prompt_len, response_len
        prompt_keep = min(prompt_len, max(self.pair_prompt_tokens, room - response_len))
        return prompt_keep, min(response_len, room - prompt_keep)

    def cut_response(self, response_ids: Sequence[int], keep: int) -> list[int]:
        """The first ``head_fraction`` of ``keep`` tokens and the last of the rest."""
        if len(response_ids) <= keep:
            return list(response_ids)
        head = math.ceil(keep * self.response_head_fraction)
        tail = keep - head
        return list(response_ids[:head]) + (list(response_ids[-tail:]) if tail else [])

    def pair_input(
        self,
        prompt_ids: Sequence[int],
        response_ids: Sequence[int],
        context_ids: Sequence[int] | None,
        *,
        cls_id: int,
        sep_id: int,
    ) -> EncodedInput:
        """``[CLS] (context [SEP]) prompt-start [SEP] response-start+end [SEP]``."""
        prompt_keep, response_keep = self.pair_budgets(len(prompt_ids), len(response_ids))
        judged = [
            (list(prompt_ids[:prompt_keep]), 0, SEGMENT_PROMPT),
            (self.cut_response(response_ids, response_keep), 1, SEGMENT_RESPONSE),
        ]
        return self._with_context(judged, context_ids, cls_id, sep_id)

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TruncationPolicy:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"truncation policy: unknown fields {sorted(unknown)}")
        return cls(**data)
