"""Prometheus metrics of one server instance (its own registry, so apps don't share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "oneguard_requests_total",
            "HTTP requests",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "oneguard_request_latency_seconds",
            "Request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "oneguard_batch_size",
            "Items per model call",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter("oneguard_items_total", "Items classified", registry=self.registry)
        self.flagged = Counter(
            "oneguard_flagged_total",
            "Items judged harmful / refusals",
            ["task"],
            registry=self.registry,
        )
        self.blocked = Counter(
            "oneguard_proxy_blocked_total",
            "Proxy replies replaced by a refusal",
            ["stage"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
