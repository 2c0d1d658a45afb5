"""Composition root of the ingest: builds the publisher, receipts and keys and hands them on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.auth import Keys
from services.common.database import create_engine
from services.common.eventlog import EmbeddedLog
from services.common.health import health_router
from services.common.metrics import instrument
from services.ingest.log_publisher import LogPublisher
from services.ingest.publisher import EventPublisher, KafkaPublisher
from services.ingest.receipts import ReceiptStore, SqlReceipts
from services.ingest.routes import router
from services.ingest.settings import IngestSettings, get_settings


def default_publisher(settings: IngestSettings) -> EventPublisher:
    """The publisher ``PARLEY_MODE`` chooses."""
    if settings.mode == "embedded":
        return LogPublisher(settings, EmbeddedLog(settings.log_path))
    return KafkaPublisher(settings)


def create_app(
    settings: IngestSettings | None = None,
    publisher_factory: Callable[[IngestSettings], EventPublisher] = default_publisher,
    receipts_factory: Callable[[IngestSettings, AsyncEngine], ReceiptStore] = lambda s, e: (
        SqlReceipts(e)
    ),
    keys_factory: Callable[[IngestSettings, AsyncEngine], Keys] = lambda s, e: Keys(
        e, s.bootstrap_key
    ),
) -> FastAPI:
    """The ingest application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = create_engine(settings.database_url, pool_size=10)
        try:
            async with serving(
                app,
                settings,
                publisher_factory(settings),
                receipts_factory(settings, engine),
                keys_factory(settings, engine),
            ) as state:
                yield state
        finally:
            await engine.dispose()

    app = FastAPI(title="Parley ingest", version="0.1.0", lifespan=lifespan)
    include_routes(app, settings)
    instrument(app, "ingest")
    return app


@asynccontextmanager
async def serving(
    app: FastAPI,
    settings: IngestSettings,
    publisher: EventPublisher,
    receipts: ReceiptStore,
    keys: Keys,
) -> AsyncIterator[dict[str, Any]]:
    """The ingest's lifespan state: the publisher is started meanwhile, and flushed at the end."""
    await publisher.start()
    app.state.publisher, app.state.receipts = publisher, receipts
    try:
        yield {"settings": settings, "publisher": publisher, "receipts": receipts, "keys": keys}
    finally:
        await publisher.stop()


def include_routes(app: FastAPI, settings: IngestSettings, health: bool = True) -> None:
    """The ingest's routes and health checks (the lifespan provides what they use)."""
    app.include_router(router)
    if health:
        app.include_router(
            health_router(
                lambda: {
                    settings.mode: app.state.publisher.ping,
                    "database": app.state.receipts.ping,
                }
            )
        )
