"""Composition root of the API: builds the database engine and hands it to the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI

from services.api.admin_routes import router as admin_router
from services.api.contract_routes import router as contract_router
from services.api.routes import router
from services.api.settings import ApiSettings, get_settings
from services.api.stream.hub import StreamHub
from services.api.stream.sse import router as stream_router
from services.api.subscriptions_routes import router as subscriptions_router
from services.api.validation import HANDLERS
from services.api.web_routes import router as web_router
from services.common.auth import Keys, require
from services.common.database import create_engine
from services.common.health import health_router
from services.common.kafka import probe_kafka
from services.common.metrics import instrument


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = create_engine(settings.database_url)
        hub = StreamHub(
            settings.kafka_bootstrap_servers, settings.topic, settings.stream_queue_size
        )
        await hub.start()
        app.state.engine, app.state.hub = engine, hub
        try:
            keys = Keys(engine, settings.bootstrap_key)
            yield {"settings": settings, "engine": engine, "hub": hub, "keys": keys}
        finally:
            await hub.stop()
            await engine.dispose()

    async def database() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def kafka() -> None:
        await probe_kafka(settings.kafka_bootstrap_servers)

    async def stream() -> None:
        if not app.state.hub.ready:
            raise RuntimeError("the stream hub has not reached the topic yet")

    app = FastAPI(title="Parley API", version="0.1.0", lifespan=lifespan)
    for exception, handler in HANDLERS.items():
        app.add_exception_handler(exception, handler)
    reads = [Depends(require("read"))]  # a no-op unless PARLEY_REQUIRE_READ_KEY is set
    app.include_router(router, dependencies=reads)
    app.include_router(
        subscriptions_router, dependencies=[Depends(require("subscriptions:manage"))]
    )
    app.include_router(contract_router, dependencies=reads)
    app.include_router(stream_router, dependencies=reads)
    app.include_router(admin_router, dependencies=[Depends(require("admin"))])
    app.include_router(
        health_router(lambda: {"database": database, "kafka": kafka, "stream": stream})
    )
    app.include_router(web_router)  # the timeline page at / and /ui: public, no key
    instrument(app, "api")
    return app
