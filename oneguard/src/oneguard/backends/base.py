"""The one protocol every classifier backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from oneguard.schema import Item, Result


@runtime_checkable
class Backend(Protocol):
    """Classify a batch of validated items.

    A backend receives items already validated by :func:`oneguard.schema.to_items`, never
    mutates them, and returns exactly one :class:`Result` per item, in order. It loads its
    model once, in its constructor, and keeps it.
    """

    #: Short name used by the CLI, caches and reports (e.g. ``"embedded"``, ``"wildguard-hf"``).
    name: str
    #: Batch size the backend runs best at on its device.
    default_batch_size: int

    def classify_batch(self, items: Sequence[Item]) -> list[Result]: ...
