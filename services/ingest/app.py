"""Composition root of the ingest: builds the publisher and the receipts and hands them on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.common.database import create_engine
from services.common.health import health_router
from services.ingest.publisher import EventPublisher, KafkaPublisher
from services.ingest.receipts import ReceiptStore, SqlReceipts
from services.ingest.routes import router
from services.ingest.settings import IngestSettings, get_settings


def _sql_receipts(settings: IngestSettings) -> ReceiptStore:
    return SqlReceipts(create_engine(settings.database_url, pool_size=10))


def create_app(
    settings: IngestSettings | None = None,
    publisher_factory: Callable[[IngestSettings], EventPublisher] = KafkaPublisher,
    receipts_factory: Callable[[IngestSettings], ReceiptStore] = _sql_receipts,
) -> FastAPI:
    """The ingest application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        publisher = publisher_factory(settings)
        receipts = receipts_factory(settings)
        await publisher.start()
        app.state.publisher, app.state.receipts = publisher, receipts
        try:
            yield {"settings": settings, "publisher": publisher, "receipts": receipts}
        finally:
            await publisher.stop()

    app = FastAPI(title="Parley ingest", version="0.1.0", lifespan=lifespan)
    app.include_router(router)
    app.include_router(
        health_router(
            lambda: {"kafka": app.state.publisher.ping, "database": app.state.receipts.ping}
        )
    )
    return app
