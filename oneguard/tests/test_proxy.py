"""The guarded proxy against a real local upstream (scripted completions, streamed or not)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from keyword_backend import KeywordBackend
from live_server import live_server
from oneguard.api import Guard
from oneguard.policy import DEFAULT_REFUSAL
from oneguard.serve import ServerSettings, create_proxy_app


def scripted_upstream(reply_chunks: list[str]) -> tuple[FastAPI, list[dict]]:
    """An OpenAI-like server that answers every request with ``reply_chunks``."""
    app = FastAPI()
    calls: list[dict] = []

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        calls.append(body)
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-up",
                    "object": "chat.completion",
                    "model": body.get("model", "up"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(reply_chunks)},
                            "finish_reason": "stop",
                        }
                    ],
                }
            )

        async def events():
            for i, chunk in enumerate(reply_chunks):
                delta = {"content": chunk} if i else {"role": "assistant", "content": chunk}
                event = {
                    "id": "chatcmpl-up",
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                yield f"data: {json.dumps(event)}\n\n"
            done = {
                "id": "chatcmpl-up",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            yield f"data: {json.dumps(done)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app, calls


def read_stream(response: httpx.Response) -> tuple[str, list[str | None]]:
    text, reasons = "", []
    for line in response.iter_lines():
        if not line.startswith("data:") or line.strip() == "data: [DONE]":
            continue
        choice = json.loads(line[5:])["choices"][0]
        text += choice["delta"].get("content") or ""
        reasons.append(choice.get("finish_reason"))
    return text, reasons


@pytest.fixture
def proxy():
    """Yields a function (reply_chunks, **proxy options) -> (proxy base URL, upstream calls)."""
    stack = []

    def start(reply_chunks: list[str], **options):
        upstream_app, calls = scripted_upstream(reply_chunks)
        upstream = live_server(upstream_app)
        upstream_url = upstream.__enter__()
        stack.append(upstream)
        app = create_proxy_app(Guard(KeywordBackend()), f"{upstream_url}/v1", **options)
        server = live_server(app)
        stack.append(server)
        return server.__enter__(), calls

    yield start
    for server in reversed(stack):
        server.__exit__(None, None, None)


def chat(base_url: str, content: str, stream: bool = False, **kw) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": content}], "stream": stream},
        timeout=30,
        **kw,
    )


def test_clean_exchange_passes_through(proxy):
    base_url, calls = proxy(["Once upon ", "a time."])
    reply = chat(base_url, "tell me a story")
    assert reply.status_code == 200
    choice = reply.json()["choices"][0]
    assert choice["message"]["content"] == "Once upon a time."
    assert choice["finish_reason"] == "stop"
    assert len(calls) == 1 and calls[0]["messages"][0]["content"] == "tell me a story"


def test_harmful_prompt_never_reaches_upstream(proxy):
    base_url, calls = proxy(["anything"])
    reply = chat(base_url, "how to build a bomb")
    choice = reply.json()["choices"][0]
    assert choice["message"]["content"] == DEFAULT_REFUSAL
    assert choice["finish_reason"] == "content_filter"
    streamed = chat(base_url, "how to build a bomb", stream=True)
    assert read_stream(streamed) == (DEFAULT_REFUSAL, ["content_filter"])
    assert calls == []


def test_harmful_response_is_replaced(proxy):
    base_url, calls = proxy(["Sure. STEP 1: ", "do it."])
    choice = chat(base_url, "tell me a story").json()["choices"][0]
    assert choice["message"]["content"] == DEFAULT_REFUSAL
    assert choice["finish_reason"] == "content_filter"
    assert len(calls) == 1


def test_stream_is_cut_off_when_it_turns_harmful(proxy):
    chunks = ["Here is a long and nice story. ", "It goes on nicely. ", "Then STEP 1: ", "bad."]
    base_url, _ = proxy(chunks, window_chars=16)
    with httpx.stream(
        "POST",
        f"{base_url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "a story"}], "stream": True},
        timeout=30,
    ) as reply:
        text, reasons = read_stream(reply)
    assert text == "Here is a long and nice story. It goes on nicely. " + DEFAULT_REFUSAL
    assert "STEP" not in text
    assert reasons[-1] == "content_filter"


def test_clean_stream_is_forwarded_whole(proxy):
    chunks = ["one ", "two ", "three ", "four"]
    base_url, _ = proxy(chunks, window_chars=5)
    with httpx.stream(
        "POST",
        f"{base_url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "count"}], "stream": True},
        timeout=30,
    ) as reply:
        text, reasons = read_stream(reply)
    assert text == "one two three four"
    assert reasons[-1] == "stop"


def test_proxy_auth_and_metrics(proxy):
    base_url, _ = proxy(["hi"], settings=ServerSettings(api_keys=frozenset({"key"})))
    assert chat(base_url, "hello").status_code == 401
    ok = chat(base_url, "hello", headers={"Authorization": "Bearer key"})
    assert ok.status_code == 200
    chat(base_url, "a bomb", headers={"Authorization": "Bearer key"})
    time.sleep(0.05)
    metrics = httpx.get(f"{base_url}/metrics").text
    assert 'oneguard_proxy_blocked_total{stage="prompt"} 1.0' in metrics


def test_unreachable_upstream_is_502():
    from fastapi.testclient import TestClient
    from live_server import free_port

    app = create_proxy_app(Guard(KeywordBackend()), f"http://127.0.0.1:{free_port()}/v1")
    with TestClient(app) as client:
        reply = client.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}
        )
    assert reply.status_code == 502
    assert "upstream unreachable" in reply.json()["detail"]
