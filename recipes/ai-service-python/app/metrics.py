"""Prometheus metrics on a registry of the app's own (so tests can build apps side by side)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "HTTP requests by route template, method and status.", ["route", "method", "status"], registry=self.registry)
        self.agent_seconds = Histogram("agent_execution_seconds", "Agent run time by agent and outcome (completed, failed, timeout).", ["agent", "outcome"],
                                       buckets=(0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60), registry=self.registry)
