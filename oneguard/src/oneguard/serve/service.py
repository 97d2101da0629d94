"""The moderation core of both HTTP apps: limits, validation, dynamic batching, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException

from oneguard.api import Guard
from oneguard.schema import HARMFUL, REFUSAL, Item, Result, to_items
from oneguard.serve.batching import DynamicBatcher
from oneguard.serve.metrics import ServerMetrics
from oneguard.serve.settings import ServerSettings


def apply_length_policy(items: Sequence[dict[str, Any]], settings: ServerSettings) -> list[dict]:
    """Apply the per-text length policy: reject (413) or truncate texts over the limit."""
    limit = settings.max_text_chars
    checked = []
    for index, item in enumerate(items):
        item = dict(item)
        texts: list[tuple[str, str]] = [
            (key, item[key]) for key in ("prompt", "response") if isinstance(item.get(key), str)
        ]
        messages: list[dict[str, Any]] = []
        given_messages = item.get("messages")
        if given_messages:
            messages = [dict(m) for m in given_messages]
            item["messages"] = messages
            texts += [(f"messages[{j}].content", m["content"]) for j, m in enumerate(messages)]
        for field, text in texts:
            if len(text) <= limit:
                continue
            if settings.long_text == "reject":
                raise HTTPException(
                    413, f"item {index}: {field} is {len(text)} characters; the limit is {limit}"
                )
            if field.startswith("messages["):
                j = int(field[len("messages[") : field.index("]")])
                messages[j]["content"] = text[:limit]
            else:
                item[field] = text[:limit]
        checked.append(item)
    return checked


class ModerationService:
    """A loaded guard behind a dynamic batcher, with the server's limits applied."""

    def __init__(self, guard: Guard, settings: ServerSettings) -> None:
        self.guard = guard
        self.settings = settings
        self.metrics = ServerMetrics()
        self.batcher = DynamicBatcher(
            guard.classify,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            on_batch=self.metrics.batch_size.observe,
        )

    async def start(self) -> None:
        await self.batcher.start()

    async def stop(self) -> None:
        await self.batcher.stop()

    async def classify(self, raw_items: Sequence[dict[str, Any]]) -> list[Result]:
        """Validate and classify; limits answer 413, bad items 422, a slow model 504."""
        settings = self.settings
        if len(raw_items) > settings.max_items:
            raise HTTPException(
                413, f"{len(raw_items)} items in one request; the limit is {settings.max_items}"
            )
        checked = apply_length_policy(raw_items, settings)
        try:
            items: list[Item] = to_items(checked)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            results = await asyncio.wait_for(self.batcher.submit(items), settings.request_timeout_s)
        except TimeoutError:
            raise HTTPException(504, "timed out waiting for the model") from None
        self.metrics.items.inc(len(results))
        for result in results:
            if result.prompt_harmfulness == HARMFUL:
                self.metrics.flagged.labels("prompt").inc()
            if result.response_harmfulness == HARMFUL:
                self.metrics.flagged.labels("response").inc()
            if result.response_refusal == REFUSAL:
                self.metrics.flagged.labels("refusal").inc()
        return results
