"""``oneguard proxy``: an OpenAI chat-completions proxy that guards any upstream server.

A harmful prompt is answered with the policy's refusal and never reaches the upstream. A harmful
response is replaced by the refusal. A streamed response is moderated in windows
(:class:`~oneguard.guard.StreamWindow`): events are held until the text so far has passed a
check, and the stream is cut with the refusal (``finish_reason: "content_filter"``) as soon as
it turns harmful.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from oneguard import __version__
from oneguard.api import Guard
from oneguard.guard import StreamWindow, conversation_item
from oneguard.policy import Policy
from oneguard.serve.http_common import ERROR_RESPONSES, api_key_dependency, install_common
from oneguard.serve.service import ModerationService
from oneguard.serve.settings import ServerSettings

CONTENT_FILTER = "content_filter"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields the proxy reads; everything else is forwarded untouched."""

    model_config = ConfigDict(extra="allow")
    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    stream: bool = False


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def _conversation(request: ChatRequest) -> list[dict[str, str]]:
    return [
        {"role": m.role, "content": _text(m.content)}
        for m in request.messages
        if m.role in ("system", "user", "assistant")
    ]


def _completion(model: str, text: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
    }


def _chunk_event(model: str, chunk_id: str, text: str, finish_reason: str | None) -> str:
    chunk = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def create_proxy_app(
    guard: Guard,
    upstream: str,
    *,
    settings: ServerSettings | None = None,
    policy: Policy | None = None,
    upstream_api_key: str | None = None,
    window_chars: int = 256,
    upstream_timeout_s: float = 120.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Guard ``upstream`` (an OpenAI-compatible base URL such as ``http://host:8000/v1``)."""
    settings = settings or ServerSettings()
    policy = policy or Policy()
    guard = policy.bind(guard)  # scores the policy's custom categories, if any
    service = ModerationService(guard, settings)
    metrics = service.metrics
    upstream_url = upstream.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {upstream_api_key}"} if upstream_api_key else {}
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        await service.start()
        async with httpx.AsyncClient(
            timeout=upstream_timeout_s, transport=transport, headers=headers
        ) as client:
            state["client"] = client
            yield
        await service.stop()

    app = FastAPI(
        title="OneGuard proxy",
        version=__version__,
        description=f"OpenAI chat completions, guarded by OneGuard, forwarded to {upstream}.",
        lifespan=lifespan,
    )
    install_common(app, settings, metrics)
    require_api_key = api_key_dependency(settings)

    async def response_blocked(conversation: list[dict[str, str]], text: str) -> bool:
        (result,) = await service.classify([conversation_item(conversation, text)])
        return policy.blocks_response(result)

    async def forward(body: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = await state["client"].post(upstream_url, json=body)
        except httpx.HTTPError as exc:
            raise HTTPException(502, f"upstream unreachable: {exc.__class__.__name__}") from None
        if reply.status_code >= 400:
            raise HTTPException(reply.status_code, f"upstream error: {reply.text[:500]}")
        return reply.json()

    async def stream(
        body: dict[str, Any], conversation: list[dict[str, str]], model: str
    ) -> AsyncIterator[str]:
        window: StreamWindow[str] = StreamWindow(window_chars)
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            async with state["client"].stream("POST", upstream_url, json=body) as reply:
                if reply.status_code >= 400:
                    detail = (await reply.aread()).decode("utf-8", "replace")[:500]
                    yield f"data: {json.dumps({'error': {'message': detail}})}\n\n"
                    return
                async for line in reply.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    chunk_id = event.get("id", chunk_id)
                    delta = (event.get("choices") or [{}])[0].get("delta") or {}
                    if not window.add(delta.get("content") or "", f"data: {data}\n\n"):
                        continue
                    if await response_blocked(conversation, window.candidate):
                        metrics.blocked.labels("stream").inc()
                        yield _chunk_event(model, chunk_id, policy.refusal_message, CONTENT_FILTER)
                        yield "data: [DONE]\n\n"
                        return
                    for held in window.release():
                        yield held
        except httpx.HTTPError as exc:
            message = f"upstream failed: {exc.__class__.__name__}"
            yield f"data: {json.dumps({'error': {'message': message}})}\n\n"
            return
        if window.pending and await response_blocked(conversation, window.candidate):
            metrics.blocked.labels("stream").inc()
            yield _chunk_event(model, chunk_id, policy.refusal_message, CONTENT_FILTER)
        else:
            for held in window.release():
                yield held
        yield "data: [DONE]\n\n"

    def refusal_reply(request: ChatRequest, model: str) -> JSONResponse | StreamingResponse:
        if request.stream:

            async def one_chunk() -> AsyncIterator[str]:
                chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
                yield _chunk_event(model, chunk_id, policy.refusal_message, CONTENT_FILTER)
                yield "data: [DONE]\n\n"

            return StreamingResponse(one_chunk(), media_type="text/event-stream")
        return JSONResponse(_completion(model, policy.refusal_message, CONTENT_FILTER))

    @app.post(
        "/v1/chat/completions",
        responses=ERROR_RESPONSES,
        dependencies=[Depends(require_api_key)],
        summary="Guarded OpenAI chat completions",
    )
    async def chat_completions(request: ChatRequest) -> Any:
        conversation = _conversation(request)
        if not any(m["role"] == "user" for m in conversation):
            raise HTTPException(422, "messages: no user message to moderate")
        model = request.model or "upstream"
        (prompt_result,) = await service.classify([conversation_item(conversation)])
        if policy.blocks_prompt(prompt_result):
            metrics.blocked.labels("prompt").inc()
            return refusal_reply(request, model)
        body = request.model_dump(exclude_none=True)
        if request.stream:
            return StreamingResponse(
                stream(body, conversation, model), media_type="text/event-stream"
            )
        completion = await forward(body)
        choices = completion.get("choices") or []
        text = _text((choices[0].get("message") or {}).get("content")) if choices else ""
        if text and await response_blocked(conversation, text):
            metrics.blocked.labels("response").inc()
            choices[0]["message"]["content"] = policy.refusal_message
            choices[0]["finish_reason"] = CONTENT_FILTER
        return JSONResponse(completion)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "upstream": upstream, "version": __version__}

    return app
