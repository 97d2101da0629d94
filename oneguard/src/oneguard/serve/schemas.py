"""Typed request and response bodies (the HTTP boundary)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


# ---------------------------------------------------------------------------- /v1/moderations
class ModerationRequest(BaseModel):
    """OpenAI's moderation request (text input)."""

    input: str | list[str] = Field(description="A text or a list of texts to moderate.")
    model: str | None = Field(default=None, description="Accepted and echoed; one model serves.")


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# ---------------------------------------------------------------------------- /v1/classify
class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class ClassifyItem(BaseModel):
    """A prompt with an optional response, or a conversation."""

    model_config = ConfigDict(extra="forbid")
    prompt: str | None = None
    response: str | None = None
    messages: list[Message] | None = None


class ClassifyRequest(BaseModel):
    items: list[ClassifyItem] = Field(min_length=1)


class ClassifyResult(BaseModel):
    prompt_harmfulness: str | None
    response_harmfulness: str | None
    response_refusal: str | None
    is_parsing_error: bool
    prompt_harmfulness_score: float | None
    response_harmfulness_score: float | None
    response_refusal_score: float | None
    category: str | None
    category_scores: dict[str, float] | None
    #: The policy's custom categories (only when it defines some).
    prompt_custom_scores: dict[str, float] | None = None
    response_custom_scores: dict[str, float] | None = None


class ClassifyResponse(BaseModel):
    model: str
    results: list[ClassifyResult]


class ErrorResponse(BaseModel):
    detail: str
