"""Prometheus metrics, one registry per application so that several apps can live in one process (tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _OpenIncidents(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("tocsin_open_incidents", "Incidents not yet resolved, by status", labels=["status"])
        counts = self._counts()
        for status in ("triggered", "acknowledged"):
            family.add_metric([status], counts.get(status, 0))
        yield family


class _EngineStats(Collector):
    """Per-module engine timing and failures, and the outbox by status."""

    def __init__(self, stats: Callable[[], tuple[dict[str, float], dict[str, int], dict[str, int]]]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        seconds, failures, outbox = self._stats()
        busy = CounterMetricFamily(
            "tocsin_engine_module_seconds", "Time spent in each engine module", labels=["module"]
        )
        failed = CounterMetricFamily(
            "tocsin_engine_module_failures", "Failed passes per engine module", labels=["module"]
        )
        for name, value in seconds.items():
            busy.add_metric([name], value)
            failed.add_metric([name], failures.get(name, 0))
        queue = GaugeMetricFamily("tocsin_notifications", "Notifications in the outbox by status", labels=["status"])
        for status, n in outbox.items():
            queue.add_metric([status], n)
        yield busy
        yield failed
        yield queue


class Metrics:
    def __init__(self, open_counts: Callable[[], dict[str, int]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "tocsin_events_received",
            "Inbound events by integration type and outcome",
            ["integration_type", "outcome"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "tocsin_ingest_batch_submissions",
            "Submissions committed together by the ingest writer",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "tocsin_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if open_counts is not None:
            self.registry.register(_OpenIncidents(open_counts))

    def watch_engine(self, stats: Callable[[], tuple[dict[str, float], dict[str, int], dict[str, int]]]) -> None:
        self.registry.register(_EngineStats(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Times every HTTP request, labelled by route template (not raw path, which would explode cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.request_latency.labels(scope["method"], template, str(status["code"])).observe(
                time.perf_counter() - started
            )
