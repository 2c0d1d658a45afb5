"""Composition root of the ingest: builds the publisher and hands it to the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.common.health import health_router
from services.ingest.publisher import EventPublisher, KafkaPublisher
from services.ingest.routes import router
from services.ingest.settings import IngestSettings, get_settings


def create_app(
    settings: IngestSettings | None = None,
    publisher_factory: Callable[[IngestSettings], EventPublisher] = KafkaPublisher,
) -> FastAPI:
    """The ingest application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        publisher = publisher_factory(settings)
        await publisher.start()
        app.state.publisher = publisher
        try:
            yield {"settings": settings, "publisher": publisher}
        finally:
            await publisher.stop()

    app = FastAPI(title="Parley ingest", version="0.1.0", lifespan=lifespan)
    app.include_router(router)
    app.include_router(health_router(lambda: {"kafka": app.state.publisher.ping}))
    return app
