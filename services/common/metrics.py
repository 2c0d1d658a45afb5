"""Prometheus metrics: ``/metrics`` on every service, and the HTTP metrics they all share.

Each service defines its own metrics next to the code they count; this module holds the
router and the request middleware. A gauge read from the database (the projector's open dead
letters) can be refreshed just before each scrape: pass the refresh as ``before_scrape``.
Names follow Prometheus conventions (``_total`` counters,
``_seconds`` histograms), labelled with the route template, never the raw path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[None]]
#: A refresh slower than this is abandoned: the scrape answers with the values it has.
REFRESH_TIMEOUT_S = 2.0

HTTP_REQUESTS = Counter(
    "parley_http_requests_total",
    "HTTP requests answered, by service, method, route and status code.",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "parley_http_request_seconds",
    "Time to answer an HTTP request (to the first byte of a stream), by route and outcome.",
    ["service", "method", "route", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def metrics_router(before_scrape: Sequence[Refresh] = ()) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Every metric of this process, in the Prometheus text format."""
        for refresh in before_scrape:
            try:
                await asyncio.wait_for(refresh(), REFRESH_TIMEOUT_S)
            except Exception as exc:  # a stale gauge beats no metrics at all
                log.warning("could not refresh a metric before the scrape: %r", exc)
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return router


def exposition() -> bytes:
    """The metrics in the text format: this process's, or, when the service runs several
    worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as ``services.ingest.serve`` does),
    every worker's added up."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


class MeasureRequests:
    """Pure ASGI middleware counting and timing each request to its first byte.

    Not Starlette's ``BaseHTTPMiddleware``: that one passes every chunk of a streamed
    response through a memory stream and an extra task, which dominated the cost of
    ``/v1/stream`` with hundreds of clients.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        def observe(status: int) -> None:
            route = getattr(scope.get("route"), "path", "unmatched")
            if route in ("/metrics", "/healthz", "/readyz"):
                return
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_SECONDS.labels(self.service, method, route, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )

        async def measured_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        except BaseException:
            if not answered:
                observe(500)  # what the server answers for an exception
            raise


def instrument(app: FastAPI, service: str, *, before_scrape: Sequence[Refresh] = ()) -> None:
    """Count and time every request of ``app``, and serve ``/metrics``, awaiting each of
    ``before_scrape`` (at most 2 s each) before answering it."""
    app.add_middleware(MeasureRequests, service=service)
    app.include_router(metrics_router(before_scrape))
