"""Composition root of the projector: engine, projection, consumer loop and health routes."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import create_engine
from services.common.eventlog import EventLog, open_log
from services.common.health import health_router
from services.common.heap import frozen_heap
from services.common.metrics import instrument
from services.projector.consumer import ProjectorLoop
from services.projector.deadletters import DeadLetterBox
from services.projector.dlq import LogDeadLetterQueue, ensure_log_topics
from services.projector.letters import counts
from services.projector.projection import Projection
from services.projector.settings import ProjectorSettings

log = logging.getLogger(__name__)


def create_health_app(
    settings: ProjectorSettings, engine: AsyncEngine, projection: Projection, log: EventLog
) -> FastAPI:
    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    app = FastAPI(title="Parley projector", version="0.1.0")
    app.include_router(health_router(lambda: {"database": database, settings.mode: log.ping}))
    instrument(app, "projector", before_scrape=[projection.refresh_gauges])
    app.include_router(status_router(settings, engine, projection))
    return app


def status_router(
    settings: ProjectorSettings, engine: AsyncEngine, projection: Projection
) -> APIRouter:
    """``GET /status`` of the projector."""
    router = APIRouter()

    @router.get("/status", tags=["health"])
    async def status() -> dict[str, Any]:
        """Dead letters open and set aside since start, parked talks, consumed positions."""
        return {
            "consumer_group": settings.consumer_group,
            "topic": settings.topic,
            "dead_letter_topic": settings.dead_letter_topic,
            "poison_policy": settings.poison_policy,
            "dead_lettered_since_start": projection.dead_lettered,
            **await counts(engine, settings.consumer_group, settings.topic),
            "positions": {str(p): o for p, o in sorted((await projection.positions()).items())},
        }

    return router


def projector(
    settings: ProjectorSettings, engine: AsyncEngine, log: EventLog
) -> tuple[Projection, ProjectorLoop]:
    """The projection of ``log`` into ``engine``'s read models, and the loop that feeds it."""
    queue = LogDeadLetterQueue(log, settings.dead_letter_topic, settings.topic)
    projection = Projection(
        engine,
        settings.consumer_group,
        settings.topic,
        dead_letters=DeadLetterBox(
            settings.consumer_group, settings.topic, queue, settings.poison_policy
        ),
        cached_events=settings.item_cache_events,
    )
    return projection, ProjectorLoop(settings, projection, log)


async def run(settings: ProjectorSettings) -> None:
    """Run the projector until SIGINT/SIGTERM: the consumer loop, and HTTP for health."""
    engine = create_engine(settings.database_url, pool_size=5)
    log_ = open_log(settings, "parley-projector")
    projection, loop = projector(settings, engine, log_)
    server = uvicorn.Server(
        uvicorn.Config(
            create_health_app(settings, engine, projection, log_),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
        )
    )
    # uvicorn captures SIGINT/SIGTERM while it serves, then re-raises them to these handlers.
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)

    http = asyncio.create_task(server.serve(), name="health-http")
    with frozen_heap():
        consuming = asyncio.create_task(consume_forever(settings, loop, log_), name="consumer")
        await stop.wait()
    log.info("stopping: finishing the batch in hand")
    loop.stop()
    await finish(consuming)
    server.should_exit = True
    await http
    await log_.stop()
    await engine.dispose()


async def consume_forever(settings: ProjectorSettings, loop: ProjectorLoop, log_: EventLog) -> None:
    """Run the loop, reconnecting with back-off while the log is unreachable, until stopped."""
    delay = 0.5
    while not loop.stopping:
        try:
            await log_.start()
            await ensure_log_topics(log_, settings)
            await loop.run()
            return
        except Exception as exc:  # keep the process up: report, back off, seek to stored positions
            if loop.stopping:
                return
            log.error("consumer stopped (%r); restarting in %.1fs", exc, delay)
            await loop.wait_stopping(delay)
            delay = min(delay * 2, 10.0)


async def finish(consuming: asyncio.Task[None], timeout_s: float = 30) -> None:
    """Wait for the consumer to finish its batch; past ``timeout_s``, cancel it (the batch in
    hand is rolled back and read again on the next start)."""
    try:
        await asyncio.wait_for(consuming, timeout_s)
    except (TimeoutError, asyncio.CancelledError):
        log.warning("the consumer did not stop within %.0f s; its batch is rolled back", timeout_s)
