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
    "cascade": "oneguard.backends.cascade:CascadeBackend",
}


def available_backends() -> list[str]:
    return sorted(_REGISTRY)


def register_backend(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (for third-party backends)."""
    _REGISTRY[name] = target


def backend_target(name: str) -> str:
    """The ``"module:Class"`` registered as ``name``: what another process (a Ray worker)
    imports to build the same backend, since registrations are per process."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; choose one of {', '.join(available_backends())}"
        ) from None


def create_backend_from_target(target: str, **kwargs: Any) -> Backend:
    """Instantiate the backend class at ``"module:Class"``."""
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)


def create_backend(name: str, **kwargs: Any) -> Backend:
    """Instantiate backend ``name`` with ``kwargs``; unknown names raise ``ValueError``."""
    return create_backend_from_target(backend_target(name), **kwargs)


__all__ = [
    "Backend",
    "available_backends",
    "backend_target",
    "create_backend",
    "create_backend_from_target",
    "register_backend",
]
