"""Prometheus metrics: the registry plumbing, the ``/metrics`` view and HTTP request metrics.

Every process of the exchange (web workers, Celery workers, beat, settle shards) counts into
``prometheus_client``. With ``PROMETHEUS_MULTIPROC_DIR`` set (``make run`` and the production
layout set it; it must be an empty directory at start) each process writes its samples to files
there and ``/metrics`` merges them, so one scrape sees the whole machine; without it (tests, a
shell) the process's own registry is served.

Apps declare their own metrics in ``<app>/metrics.py`` with the ``prometheus_client`` classes;
state that is cheaper to read than to count (backlogs, lag, feed age) is read at scrape time by
collectors the apps register with ``scrape_collector_register``.

``/metrics`` answers only a request with ``Authorization: Bearer <METRICS_TOKEN>`` when the
setting is set, else only a direct loopback peer with no forwarding headers; nginx answers
404 for it (nginx/tradehive.conf)."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

# Buckets for request and task latencies: 1 ms to 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUEST_SECONDS = Histogram(
    "tradehive_http_request_duration_seconds",
    "HTTP requests by route pattern, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

_scrape_collectors: list[Callable[[], Iterable[Metric]]] = []


def scrape_collector_register(collect: Callable[[], Iterable[Metric]]) -> None:
    """Add a function whose metrics are read when ``/metrics`` is scraped (in the web
    process that answers). Registered from an app's ``ready()``."""
    if collect not in _scrape_collectors:
        _scrape_collectors.append(collect)


class _ScrapeTime(Collector):
    def collect(self) -> Iterable[Metric]:
        for collect in _scrape_collectors:
            try:
                yield from collect()
            except Exception:  # a broken collector must not take /metrics down
                logger.exception("metrics: collector %s failed", collect.__qualname__)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return registry


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
    # A proxy on this host is a loopback peer too: a forwarded request is never "local".
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_X_REAL_IP" in request.META
    return not forwarded and request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    registry = _registry()
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTime())
    body = generate_latest(registry) + generate_latest(scrape)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request, labelled by the matched route pattern (bounded: never the raw
    path), method and status. Outermost, so refusals by other middleware count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        HTTP_REQUEST_SECONDS.labels(
            route=route or "/", method=_method(request), status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(request: HttpRequest) -> str:
    method = request.method or "GET"
    return method if method in _METHODS else "other"


def gauge(name: str, documentation: str, samples: Iterable[tuple[dict[str, str], Any]]) -> Metric:
    """A gauge metric family for a scrape-time collector: ``samples`` of (labels, value)."""
    family = Metric(name, documentation, "gauge")
    for labels, value in samples:
        family.add_sample(name, labels, float(value))
    return family
