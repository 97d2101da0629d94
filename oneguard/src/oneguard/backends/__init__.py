"""Backend registry. Entries are import paths so optional heavy dependencies (vLLM, openai)
are imported only when that backend is asked for."""

from __future__ import annotations

import importlib
from typing import Any

from oneguard.backends.base import Backend

_REGISTRY: dict[str, str] = {
    "embedded": "oneguard.backends.embedded:EmbeddedBackend",
    "tfidf": "oneguard.backends.baselines:TfidfBackend",
    "keyword": "oneguard.backends.baselines:KeywordRefusalBackend",
    "hf": "oneguard.backends.wildguard_hf:WildGuardHF",
    "vllm": "oneguard.backends.wildguard_vllm:WildGuardVLLM",
    "openai": "oneguard.backends.openai_compatible:OpenAICompatibleBackend",
}


def available_backends() -> list[str]:
    return sorted(_REGISTRY)


def register_backend(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (for third-party backends)."""
    _REGISTRY[name] = target


def create_backend(name: str, **kwargs: Any) -> Backend:
    """Instantiate backend ``name`` with ``kwargs``; unknown names raise ``ValueError``."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; choose one of {', '.join(available_backends())}"
        ) from None
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)


__all__ = ["Backend", "available_backends", "create_backend", "register_backend"]
