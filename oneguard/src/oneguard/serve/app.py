"""``oneguard serve``: the moderation API (OpenAI-compatible and native) and a playground page."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from oneguard import __version__
from oneguard.api import Guard
from oneguard.policy import Policy
from oneguard.schema import Result
from oneguard.serve.http_common import ERROR_RESPONSES, api_key_dependency, install_common
from oneguard.serve.openai_categories import openai_categories, openai_category_scores
from oneguard.serve.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ClassifyResult,
    ModerationRequest,
    ModerationResponse,
    ModerationResult,
)
from oneguard.serve.service import ModerationService
from oneguard.serve.settings import ServerSettings


def _result_model(result: Result) -> ClassifyResult:
    return ClassifyResult(**result.to_dict())


def create_app(
    guard: Guard,
    settings: ServerSettings | None = None,
    policy: Policy | None = None,
    model_name: str | None = None,
) -> FastAPI:
    """The moderation service around a loaded :class:`~oneguard.api.Guard`."""
    settings = settings or ServerSettings()
    policy = policy or Policy()
    guard = policy.bind(guard)  # scores the policy's custom categories, if any
    model_name = model_name or f"oneguard-{guard.backend.name}"
    service = ModerationService(guard, settings)
    metrics = service.metrics

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        await service.start()
        yield
        await service.stop()

    app = FastAPI(
        title="OneGuard",
        version=__version__,
        description=(
            "Moderation for LLM interactions: prompt harm, response harm, refusal, with scores "
            "and a WildGuard risk category. `/v1/moderations` speaks OpenAI's moderation schema."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    install_common(app, settings, metrics)
    require_api_key = api_key_dependency(settings)

    @app.post(
        "/v1/moderations",
        response_model=ModerationResponse,
        responses=ERROR_RESPONSES,
        dependencies=[Depends(require_api_key)],
        summary="OpenAI-compatible moderation",
    )
    async def moderations(body: ModerationRequest) -> ModerationResponse:
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        if not texts:
            raise HTTPException(422, "input: must contain at least one text")
        results = await service.classify([{"prompt": text} for text in texts])
        out = []
        for result in results:
            flagged = policy.blocks_prompt(result)
            categories = openai_categories(result, flagged)
            category_scores = openai_category_scores(result)
            fired = policy.custom_fired(result, "prompt")  # the policy's custom categories
            for name, score in (result.prompt_custom_scores or {}).items():
                categories[name] = name in fired
                category_scores[name] = score
            out.append(
                ModerationResult(
                    flagged=flagged,
                    categories=categories,
                    category_scores=category_scores,
                    category_applied_input_types={
                        name: ["text"] if value else [] for name, value in categories.items()
                    },
                )
            )
        return ModerationResponse(
            id=f"modr-{uuid.uuid4().hex}", model=body.model or model_name, results=out
        )

    @app.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        responses=ERROR_RESPONSES,
        dependencies=[Depends(require_api_key)],
        summary="Native classification: three verdicts, scores and a risk category",
    )
    async def classify_endpoint(body: ClassifyRequest) -> ClassifyResponse:
        raw = [item.model_dump(exclude_none=True) for item in body.items]
        results = await service.classify(raw)
        return ClassifyResponse(model=model_name, results=[_result_model(r) for r in results])

    @app.get("/healthz", summary="Liveness and model name")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "model": model_name, "version": __version__}

    playground = resources.files("oneguard.serve").joinpath("playground.html").read_text("utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def playground_page() -> HTMLResponse:
        return HTMLResponse(playground)

    return app


class _SchemaOnlyBackend:
    """Lets the app be built to render its OpenAPI schema without loading a model."""

    name = "default"
    default_batch_size = 1

    def classify_batch(self, items):  # type: ignore[no-untyped-def]
        raise RuntimeError("this app instance only renders the OpenAPI schema")


def openapi_spec() -> dict:
    """The service's OpenAPI schema (kept in the repo as ``oneguard/openapi.json``)."""
    return create_app(Guard(_SchemaOnlyBackend())).openapi()
