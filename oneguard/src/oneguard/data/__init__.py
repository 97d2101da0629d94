"""Moderation data: one record type (:class:`oneguard.schema.Record`), a loader per source,
deduplication against evaluation sets, adversarial augmentation, and the training mix."""

from oneguard.data.registry import Source, all_sources, get_source, load_source, register_source

__all__ = ["Source", "all_sources", "get_source", "load_source", "register_source"]
