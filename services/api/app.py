"""Composition root of the API: builds the database engine and hands it to the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from services.api.routes import router
from services.api.settings import ApiSettings, get_settings
from services.api.validation import HANDLERS
from services.common.database import create_engine
from services.common.health import health_router
from services.common.kafka import probe_kafka


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        try:
            yield {"settings": settings, "engine": engine}
        finally:
            await engine.dispose()

    async def database() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def kafka() -> None:
        await probe_kafka(settings.kafka_bootstrap_servers)

    app = FastAPI(title="Parley API", version="0.1.0", lifespan=lifespan)
    for exception, handler in HANDLERS.items():
        app.add_exception_handler(exception, handler)
    app.include_router(router)
    app.include_router(health_router(lambda: {"database": database, "kafka": kafka}))
    return app
