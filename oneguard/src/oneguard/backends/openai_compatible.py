"""WildGuard served elsewhere behind an OpenAI-compatible completions endpoint (e.g.
``vllm serve allenai/wildguard``), reached by base URL and key.

Uses the raw ``/v1/completions`` endpoint, never chat: the WildGuard template is the whole
prompt and no chat template may wrap it. Each batch is one request (``prompt`` as a list).

Two ways to build the prompt:

* ``tokenizer=`` a local copy of the model's tokenizer (a folder or an offline-cached repo id):
  prompts go as token ids from :class:`WildGuardPromptEncoder` (exactly one BOS, special
  tokens in user text neutralised, token-exact truncation to ``max_input_tokens``).
* no tokenizer: prompts go as text; the server's tokenizer adds the BOS (vLLM's completions
  endpoint tokenizes with ``add_special_tokens=True``, and Mistral's tokenizer prepends
  ``<s>``). Inputs are then truncated by characters to ``max_input_chars`` with the same
  policy (prompt keeps its start, response its start and end).

Scores come from the per-token ``top_logprobs`` the server returns (``logprobs=k``):
``p(yes) / (p(yes) + p(no))`` at the token that writes each value; a side missing from the
top k counts as probability 0. ``top_logprobs=None`` asks for none and leaves scores empty.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from oneguard.backends.wildguard_format import (
    TRAINING_CONTEXT_TOKENS,
    WildGuardPromptEncoder,
    parse_wildguard_answer,
    render_wildguard_prompt,
    score_steps,
    truncate_text_inputs,
    with_scores,
    yes_probability,
)
from oneguard.schema import Item, Result

WILDGUARD_REPO = "allenai/wildguard"
DEFAULT_MAX_NEW_TOKENS = 32
#: Without a tokenizer: ~3 characters per token leaves room for the template in 4096 tokens.
DEFAULT_MAX_INPUT_CHARS = 11_000


def _normalise_token(token: str) -> str:
    """``" yes"``, ``"▁yes"``, ``"Ġyes"`` and ``"Yes"`` all name the same answer."""
    return token.replace("▁", " ").replace("Ġ", " ").strip().lower()


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _token_starts(logprobs: Any, text: str) -> list[int]:
    """Start of each returned token inside the completion text."""
    offsets = list(getattr(logprobs, "text_offset", None) or [])
    tokens = list(getattr(logprobs, "tokens", None) or [])
    if offsets and len(offsets) == len(tokens):
        base = offsets[0]  # OpenAI counts from the start of the prompt, vLLM from the completion
        return [offset - base for offset in offsets]
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token)
    return starts


class OpenAICompatibleBackend:
    """WildGuard behind an OpenAI-compatible ``/v1/completions`` server."""

    name = "wildguard-openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str = WILDGUARD_REPO,
        api_key: str | None = None,
        tokenizer: str | None = None,
        batch_size: int = 32,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        top_logprobs: int | None = 20,
        max_input_tokens: int | None = None,
        max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        try:
            import openai
        except ImportError as error:
            raise ImportError(
                f"the openai backend needs the `openai` package: pip install 'oneguard[openai]' "
                f"({error})"
            ) from error
        base_url = base_url or os.environ.get("ONEGUARD_OPENAI_BASE_URL")
        if not base_url:
            raise ValueError(
                "the openai backend needs base_url= (or ONEGUARD_OPENAI_BASE_URL), e.g. "
                "http://localhost:8000/v1 for `vllm serve allenai/wildguard`"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        api_key = api_key or os.environ.get("ONEGUARD_OPENAI_API_KEY") or "EMPTY"
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
        )
        self._api_error = openai.APIError
        self.base_url = base_url
        self.model = WILDGUARD_REPO if model == "wildguard" else model
        self.default_batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.top_logprobs = top_logprobs
        self.max_input_chars = max_input_chars
        self.encoder: WildGuardPromptEncoder | None = None
        if tokenizer is not None:
            from transformers import AutoTokenizer

            budget = max_input_tokens or TRAINING_CONTEXT_TOKENS - max_new_tokens
            self.encoder = WildGuardPromptEncoder(
                AutoTokenizer.from_pretrained(tokenizer, use_fast=True), budget
            )

    def _prompt(self, item: Item) -> str | list[int]:
        if self.encoder is not None:
            return self.encoder.encode(item.prompt, item.response).input_ids
        prompt, response, _ = truncate_text_inputs(item.prompt, item.response, self.max_input_chars)
        return render_wildguard_prompt(prompt, response)

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        results: list[Result] = []
        for start in range(0, len(items), self.default_batch_size):
            chunk = items[start : start + self.default_batch_size]
            results.extend(self._classify_chunk(chunk))
        return results

    def _classify_chunk(self, items: Sequence[Item]) -> list[Result]:
        request: dict[str, Any] = {
            "model": self.model,
            "prompt": [self._prompt(item) for item in items],
            "max_tokens": self.max_new_tokens,
            "temperature": 0.0,
            "top_p": 1.0,
        }
        if self.top_logprobs:
            request["logprobs"] = self.top_logprobs
        try:
            response = self.client.completions.create(**request)
        except self._api_error as error:
            raise RuntimeError(
                f"WildGuard server at {self.base_url} (model {self.model!r}) failed: {error}"
            ) from error
        choices = sorted(response.choices, key=lambda choice: choice.index)
        if len(choices) != len(items):
            raise RuntimeError(
                f"WildGuard server at {self.base_url} returned {len(choices)} completions for "
                f"{len(items)} prompts"
            )
        return [
            self._result(choice, item.response is not None)
            for choice, item in zip(choices, items, strict=True)
        ]

    def _result(self, choice: Any, has_response: bool) -> Result:
        text = choice.text or ""
        parsed = parse_wildguard_answer(text, has_response)
        logprobs = choice.logprobs if self.top_logprobs else None
        top = list(getattr(logprobs, "top_logprobs", None) or []) if logprobs else []
        if not top:
            return parsed.result
        scores: dict[str, float] = {}
        for name, step in score_steps(parsed, _token_starts(logprobs, text)).items():
            if step >= len(top) or not isinstance(top[step], Mapping):
                continue
            yes = [lp for token, lp in top[step].items() if _normalise_token(token) == "yes"]
            no = [lp for token, lp in top[step].items() if _normalise_token(token) == "no"]
            if yes or no:
                scores[name] = yes_probability(_logsumexp(yes), _logsumexp(no))
        return with_scores(parsed, scores)
