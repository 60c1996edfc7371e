"""Prometheus metrics of one gateway app, kept in the app's own registry.

Each app gets a fresh ``CollectorRegistry``: tests build several apps in one process, and the
global default registry would refuse the second set of metrics with the same names.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# The endpoints reported by name; everything else is "static" (the page) or "other" (404s and
# such), so unknown paths cannot grow the number of time series.
API_ENDPOINTS = (
    "/detect_objects",
    "/v1/detect",
    "/v1/vision/detection",
    "/v1/labels",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def endpoint_label(path: str, status: int) -> str:
    trimmed = path.rstrip("/") or "/"
    if trimmed in API_ENDPOINTS:
        return trimmed
    return "static" if status < 400 else "other"


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "HTTP requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "gateway_request_duration_seconds",
            "Time from receiving a request to the end of its answer, by endpoint.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "gateway_requests_in_flight",
            "HTTP requests being handled right now.",
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_duration_seconds",
            "Time of calls to the model Space, by Space API and outcome.",
            ["api", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_in_flight = Gauge(
            "gateway_upstream_in_flight",
            "Detection calls to the model Space running right now.",
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Failed or refused calls to the model Space, by kind: unreachable, timeout, "
            "rejected (the Space refused the input), bad_answer (contract break), "
            "overloaded (the in-flight limit was reached).",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("unreachable", "timeout", "rejected", "bad_answer", "overloaded"):
            self.upstream_errors.labels(kind=kind)

    def render(self) -> bytes:
        return generate_latest(self.registry)
