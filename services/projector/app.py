"""Composition root of the projector: engine, projection, consumer loop and health routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import create_engine
from services.common.health import health_router
from services.common.kafka import ensure_topic, probe_kafka
from services.projector.consumer import ProjectorLoop
from services.projector.projection import Projection
from services.projector.settings import ProjectorSettings

log = logging.getLogger(__name__)


def create_health_app(settings: ProjectorSettings, engine: AsyncEngine) -> FastAPI:
    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def kafka() -> None:
        await probe_kafka(settings.kafka_bootstrap_servers)

    app = FastAPI(title="Parley projector", version="0.1.0")
    app.include_router(health_router(lambda: {"database": database, "kafka": kafka}))
    return app


async def run(settings: ProjectorSettings) -> None:
    """Run the projector until SIGINT/SIGTERM: the consumer loop, and HTTP for health."""
    engine = create_engine(settings.database_url, pool_size=5)
    loop = ProjectorLoop(settings, Projection(engine, settings.consumer_group, settings.topic))
    server = uvicorn.Server(
        uvicorn.Config(
            create_health_app(settings, engine),
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
    consuming = asyncio.create_task(_consume_forever(settings, loop), name="consumer")
    await stop.wait()
    log.info("stopping: finishing the batch in hand")
    loop.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(consuming, 30)
    server.should_exit = True
    await http
    await engine.dispose()


async def _consume_forever(settings: ProjectorSettings, loop: ProjectorLoop) -> None:
    """Run the loop, reconnecting with back-off while Kafka is unreachable."""
    delay = 0.5
    while True:
        try:
            await ensure_topic(
                settings.kafka_bootstrap_servers,
                settings.topic,
                settings.topic_partitions,
                settings.topic_replication_factor,
            )
            await loop.run()
            return
        except Exception as exc:  # keep the process up: report, back off, seek to stored positions
            log.error("consumer stopped (%r); restarting in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
