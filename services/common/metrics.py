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
import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

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
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def instrument(app: FastAPI, service: str, *, before_scrape: Sequence[Refresh] = ()) -> None:
    """Count and time every request of ``app``, and serve ``/metrics``, awaiting each of
    ``before_scrape`` (at most 2 s each) before answering it."""

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        if route not in ("/metrics", "/healthz", "/readyz"):
            outcome = f"{response.status_code // 100}xx"
            HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
            HTTP_SECONDS.labels(service, request.method, route, outcome).observe(
                time.perf_counter() - started
            )
        return response

    app.include_router(metrics_router(before_scrape))
