"""Prometheus metrics of one server: requests by route and status, latency, batch sizes, queue depth.

Each app gets its own registry, so several apps in one process (tests) do not
collide. Labels hold route templates and status codes only: never headers,
bodies or keys.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 65536)
KNOWN_ROUTES = ("/v1/embeddings", "/v1/models", "/search", "/healthz", "/readyz", "/metrics", "/ping",
                "/invocations", "/info", "/", "/docs", "/openapi.json")
CONTENT_TYPE = CONTENT_TYPE_LATEST


def route_label(path: str) -> str:
    """A bounded label: known routes as they are, the page's files as /static, anything else as other."""
    if path in KNOWN_ROUTES:
        return path
    return "/static" if path.startswith("/static/") else "other"


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("densefit_requests", "HTTP requests by route and status code.",
                                ["route", "status"], registry=r)
        self.latency = Histogram("densefit_request_seconds", "HTTP request latency by route.", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_texts = Histogram("densefit_batch_texts", "Texts per forward pass.", buckets=BATCH_BUCKETS,
                                     registry=r)
        self.batch_requests = Histogram("densefit_batch_requests", "Requests per forward pass.",
                                        buckets=BATCH_BUCKETS, registry=r)
        self.batch_tokens = Histogram("densefit_batch_padded_tokens", "Padded tokens per forward pass.",
                                      buckets=TOKEN_BUCKETS, registry=r)
        self.queue_depth = Gauge("densefit_queue_depth", "Texts waiting for the model.", registry=r)
        self.ready = Gauge("densefit_ready", "1 when the model is loaded, warmed up and its last pass worked.",
                           registry=r)
        self.model_failures = Counter("densefit_model_failures", "Failed forward passes.", registry=r)

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        route = route_label(path)
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_batch(self, stats) -> None:
        self.batch_texts.observe(stats.texts)
        self.batch_requests.observe(stats.jobs)
        self.batch_tokens.observe(stats.padded_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
