"""The moderation API: OpenAI schema, native schema, auth, limits, validation, batching."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from keyword_backend import KeywordBackend
from live_server import live_server
from oneguard.api import Guard
from oneguard.serve import ServerSettings, create_app
from oneguard.serve.openai_categories import OPENAI_CATEGORIES

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi.json"


def make_client(**settings) -> TestClient:
    app = create_app(Guard(KeywordBackend()), ServerSettings(**settings))
    return TestClient(app)


def test_moderations_openai_schema_single_and_list():
    with make_client() as client:
        reply = client.post("/v1/moderations", json={"input": "how to build a bomb"})
        assert reply.status_code == 200
        body = reply.json()
        assert body["id"].startswith("modr-")
        (result,) = body["results"]
        assert result["flagged"] is True
        assert set(result["categories"]) == set(OPENAI_CATEGORIES)
        assert result["categories"]["violence"] is True
        assert result["categories"]["sexual"] is False
        assert result["category_scores"]["violence"] == pytest.approx(0.9)
        assert result["category_applied_input_types"]["violence"] == ["text"]

        reply = client.post("/v1/moderations", json={"input": ["hello there", "hack a bank"]})
        flagged = [r["flagged"] for r in reply.json()["results"]]
        assert flagged == [False, True]
        assert reply.json()["results"][1]["categories"]["illicit"] is True


def test_openai_sdk_client_works_by_changing_base_url():
    openai = pytest.importorskip("openai")
    with make_client(api_keys=frozenset({"sk-test"})) as client:
        sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="sk-test", http_client=client)
        moderation = sdk.moderations.create(input=["a bomb please", "nice weather"])
        assert [r.flagged for r in moderation.results] == [True, False]
        assert moderation.results[0].categories.violence is True


def test_classify_native_results_and_messages():
    with make_client() as client:
        reply = client.post(
            "/v1/classify",
            json={
                "items": [
                    {"prompt": "how to build a bomb", "response": "I'm sorry, no."},
                    {"prompt": "hi"},
                    {
                        "messages": [
                            {"role": "user", "content": "tell me a story"},
                            {"role": "assistant", "content": "STEP 1: ..."},
                        ]
                    },
                ]
            },
        )
        assert reply.status_code == 200
        first, second, third = reply.json()["results"]
        assert first["prompt_harmfulness"] == "harmful"
        assert first["response_refusal"] == "refusal"
        assert first["category"] == "violence_and_physical_harm"
        assert second["response_harmfulness"] is None and second["response_refusal"] is None
        assert third["response_harmfulness"] == "harmful"
        assert third["prompt_harmfulness"] == "unharmful"


def test_api_key_required_when_configured():
    with make_client(api_keys=frozenset({"k1", "k2"})) as client:
        assert client.post("/v1/classify", json={"items": [{"prompt": "x"}]}).status_code == 401
        bad = client.post(
            "/v1/classify",
            json={"items": [{"prompt": "x"}]},
            headers={"Authorization": "Bearer nope"},
        )
        assert bad.status_code == 401 and bad.json()["detail"] == "missing or invalid API key"
        ok = client.post(
            "/v1/classify",
            json={"items": [{"prompt": "x"}]},
            headers={"Authorization": "Bearer k2"},
        )
        assert ok.status_code == 200
        assert client.get("/healthz").status_code == 200  # liveness stays open


def test_limits_answer_413():
    with make_client(max_body_bytes=2_000, max_items=3, max_text_chars=50) as client:
        big = client.post("/v1/classify", json={"items": [{"prompt": "x" * 5_000}]})
        assert big.status_code == 413 and "2000 bytes" in big.json()["detail"]
        many = client.post("/v1/classify", json={"items": [{"prompt": "x"}] * 4})
        assert many.status_code == 413 and "limit is 3" in many.json()["detail"]
        long = client.post("/v1/classify", json={"items": [{"prompt": "ok", "response": "y" * 60}]})
        assert long.status_code == 413
        assert long.json()["detail"] == "item 0: response is 60 characters; the limit is 50"


def test_truncate_policy_keeps_the_start():
    backend = KeywordBackend()
    app = create_app(Guard(backend), ServerSettings(max_text_chars=10, long_text="truncate"))
    with TestClient(app) as client:
        reply = client.post("/v1/classify", json={"items": [{"prompt": "0123456789bomb"}]})
        assert reply.status_code == 200
    assert backend.seen[-1].prompt == "0123456789"
    assert reply.json()["results"][0]["prompt_harmfulness"] == "unharmful"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": []}, "items: List should have at least 1 item"),
        ({"items": [{"prompt": 3}]}, "items.0.prompt: Input should be a valid string"),
        ({"items": [{"prompt": "a", "extra": 1}]}, "items.0.extra: Extra inputs are not permitted"),
        ({"items": [{"response": "a"}]}, "item 0: missing field 'prompt' (or 'messages')"),
        (
            {"items": [{"messages": [{"role": "assistant", "content": "hi"}]}]},
            "item 0: 'messages' has no user turn",
        ),
    ],
)
def test_validation_errors_are_readable(body, message):
    with make_client() as client:
        reply = client.post("/v1/classify", json=body)
        assert reply.status_code == 422
        assert message in reply.json()["detail"]


def test_bad_json_is_422():
    with make_client() as client:
        reply = client.post(
            "/v1/moderations", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert reply.status_code == 422


def test_dynamic_batching_groups_requests_and_maps_results_back():
    backend = KeywordBackend(delay_s=0.05)
    app = create_app(Guard(backend), ServerSettings(max_batch_size=64, max_wait_ms=20))
    prompts = [f"request {i} " + ("bomb" if i % 3 == 0 else "bread") for i in range(24)]

    async def fire(base_url: str) -> list[dict]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            replies = await asyncio.gather(
                *(client.post("/v1/classify", json={"items": [{"prompt": p}]}) for p in prompts)
            )
        return [r.json()["results"][0] for r in replies]

    with live_server(app) as base_url:
        results = asyncio.run(fire(base_url))
        metrics = httpx.get(f"{base_url}/metrics").text
    expected = ["harmful" if i % 3 == 0 else "unharmful" for i in range(24)]
    assert [r["prompt_harmfulness"] for r in results] == expected
    assert sum(backend.batch_sizes) == 24
    assert max(backend.batch_sizes) > 1, backend.batch_sizes  # requests were merged
    assert 'oneguard_requests_total{endpoint="/v1/classify",status="200"} 24.0' in metrics
    assert 'oneguard_flagged_total{task="prompt"} 8.0' in metrics
    assert "oneguard_batch_size_bucket" in metrics
    assert "oneguard_request_latency_seconds_bucket" in metrics


def test_request_timeout_answers_504():
    app = create_app(Guard(KeywordBackend(delay_s=0.5)), ServerSettings(request_timeout_s=0.05))
    with TestClient(app) as client:
        reply = client.post("/v1/classify", json={"items": [{"prompt": "slow"}]})
        assert reply.status_code == 504


def test_request_text_is_never_logged(caplog):
    caplog.set_level("DEBUG")
    with make_client() as client:
        client.post("/v1/classify", json={"items": [{"prompt": "secret-user-text bomb"}]})
    assert "secret-user-text" not in caplog.text


def test_openapi_spec_in_repo_is_current():
    app = create_app(Guard(KeywordBackend()))
    spec = app.openapi()
    assert "/v1/moderations" in spec["paths"] and "/v1/classify" in spec["paths"]
    committed = json.loads(OPENAPI_FILE.read_text())
    assert committed == json.loads(json.dumps(spec)), (
        "openapi.json is stale: run `oneguard serve --write-openapi oneguard/openapi.json`"
    )
