"""`/healthz` (alive) and `/readyz` (dependencies answer) for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[None]]


def health_router(checks: Callable[[], Mapping[str, Check]], timeout_s: float = 3.0) -> APIRouter:
    """Routes for liveness and readiness; ``checks`` names each dependency's probe."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive and serving HTTP."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Every dependency of this service answers; 503 names the ones that do not."""
        probes = checks()
        results = await asyncio.gather(
            *(asyncio.wait_for(probe(), timeout_s) for probe in probes.values()),
            return_exceptions=True,
        )
        report = {
            name: "ok" if not isinstance(result, BaseException) else f"unavailable: {result!r}"
            for name, result in zip(probes, results, strict=True)
        }
        ready = all(value == "ok" for value in report.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return router
