"""The public face: :class:`Guard` (native) and :func:`load_wildguard` (wildguard-compatible)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from oneguard.backends import Backend, create_backend
from oneguard.schema import Item, Result, to_items

#: Model names that mean "the original 7B WildGuard weights".
WILDGUARD_MODEL_NAMES = frozenset({"wildguard", "allenai/wildguard"})


def _batches(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Guard:
    """A loaded moderation model: classify items into :class:`~oneguard.schema.Result`."""

    def __init__(self, backend: Backend, batch_size: int | None = None) -> None:
        self.backend = backend
        self.batch_size = batch_size or backend.default_batch_size
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    @classmethod
    def load(
        cls,
        model: str | None = None,
        *,
        backend: str | None = None,
        batch_size: int | None = None,
        **backend_kwargs: Any,
    ) -> Guard:
        """Load a model. ``model=None`` is the embedded default (offline, CPU); a directory is
        an embedded-model artifact or HF checkpoint; ``"allenai/wildguard"`` is the 7B model
        through ``backend="hf"`` (default for it) or ``"vllm"``."""
        if backend is None:
            backend = "hf" if model in WILDGUARD_MODEL_NAMES else "embedded"
        if model is not None:
            backend_kwargs["model"] = model
        return cls(create_backend(backend, **backend_kwargs), batch_size=batch_size)

    def iter_results(self, items: Sequence[Any]) -> Iterator[list[Result]]:
        """Validate every item first, then yield results batch by batch."""
        parsed = to_items(items)
        for batch in _batches(parsed, self.batch_size):
            results = self.backend.classify_batch(batch)
            if len(results) != len(batch):
                raise RuntimeError(
                    f"backend {self.backend.name!r} returned {len(results)} results "
                    f"for {len(batch)} items"
                )
            yield results

    def classify(self, items: Sequence[Any]) -> list[Result]:
        return [r for batch in self.iter_results(items) for r in batch]


class WildGuard:
    """Drop-in for ``wildguard.WildGuard``: ``classify(items, save_func)`` -> list of dicts."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def classify(
        self,
        items: Sequence[dict[str, Any]],
        save_func: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Classify ``items`` (``{"prompt", "response"?}`` or ``{"messages"}``); inputs are not
        mutated. ``save_func`` gets the cumulative results after every batch, as in wildguard."""
        results: list[dict[str, Any]] = []
        for batch in self.guard.iter_results(items):
            results.extend(r.to_dict() for r in batch)
            if save_func is not None:
                save_func(results)
        return results


def load_wildguard(
    model: str | None = None,
    *,
    backend: str | None = None,
    use_vllm: bool | None = None,
    device: str | None = None,
    dtype: str | None = None,
    ephemeral_model: bool = False,
    batch_size: int | None = None,
    **backend_kwargs: Any,
) -> WildGuard:
    """Load a classifier with the call shape of allenai's ``load_wildguard``.

    With no arguments: the embedded default model, offline, on CPU. Passing ``use_vllm``
    (wildguard's own switch) selects the original 7B model, as wildguard does. The model is
    always kept loaded: ``ephemeral_model`` is accepted for compatibility and ignored.
    """
    del ephemeral_model
    if use_vllm is not None and backend is None:
        backend = "vllm" if use_vllm else "hf"
        model = model or "allenai/wildguard"
    if device is not None:
        backend_kwargs["device"] = device
    if dtype is not None:
        backend_kwargs["dtype"] = dtype
    guard = Guard.load(model, backend=backend, batch_size=batch_size, **backend_kwargs)
    return WildGuard(guard)
