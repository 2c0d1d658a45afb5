"""Composition root of the embedded mode: the same parts as the services, wired in one process.

The log is the embedded adapter of the log port (a SQLite file) and the read models live in
SQLite, through the same SQLAlchemy tables and Alembic migrations as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from services.api.app import include_routes as include_api_routes
from services.api.app import serving as serving_api
from services.common.auth import Keys
from services.common.database import create_engine
from services.common.eventlog import EmbeddedLog
from services.common.health import health_router
from services.common.metrics import instrument
from services.embedded.settings import EmbeddedSettings, get_settings
from services.ingest.app import include_routes as include_ingest_routes
from services.ingest.app import serving as serving_ingest
from services.ingest.log_publisher import LogPublisher
from services.ingest.receipts import SqlReceipts
from services.projector.app import consume_forever, finish, projector, status_router
from services.projector.dlq import ensure_log_topics
from services.projector.migrate import upgrade_to_head
from services.webhooks.app import WebhookWorker

log = logging.getLogger(__name__)


def create_app(settings: EmbeddedSettings | None = None) -> FastAPI:
    """Parley in one application; nothing opens until the lifespan starts."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    the_log = EmbeddedLog(settings.log_path)
    projection, loop = projector(settings, engine, the_log)
    worker = WebhookWorker(settings, engine, the_log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(upgrade_to_head, settings.database_url)
        await the_log.start()
        await ensure_log_topics(the_log, settings)
        consuming = asyncio.create_task(consume_forever(settings, loop, the_log), name="projector")
        worker.start()
        keys = Keys(engine, settings.bootstrap_key)
        publisher = LogPublisher(settings, the_log, owns=False)
        try:
            async with (
                serving_ingest(app, settings, publisher, SqlReceipts(engine), keys) as ingest,
                serving_api(app, settings, engine, the_log) as api,
            ):
                yield {**ingest, **api}
        finally:
            log.info("stopping: finishing the batch in hand and the deliveries")
            loop.stop()
            await finish(consuming)
            await worker.stop()
            await the_log.stop()
            await engine.dispose()

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def projecting() -> None:
        if not loop.running:
            raise RuntimeError("the projector is not consuming")

    async def stream() -> None:
        if not app.state.hub.ready:
            raise RuntimeError("the stream hub has not reached the topic yet")

    app = FastAPI(title="Parley (embedded)", version="0.1.0", lifespan=lifespan)
    include_ingest_routes(app, settings, health=False)
    include_api_routes(app, settings, health=False)
    app.include_router(status_router(settings, engine, projection))
    app.include_router(
        health_router(
            lambda: {
                "database": database,
                "embedded": the_log.ping,
                "projector": projecting,
                "stream": stream,
            }
        )
    )
    instrument(app, "embedded", before_scrape=[projection.refresh_gauges])
    return app
