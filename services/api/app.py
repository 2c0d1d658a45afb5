"""Composition root of the API: builds the database engine and hands it to the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.admin_routes import router as admin_router
from services.api.contract_routes import router as contract_router
from services.api.engine import create_state_engine
from services.api.routes import router
from services.api.settings import ApiSettings, get_settings
from services.api.stream.hub import StreamHub
from services.api.stream.sse import router as stream_router
from services.api.subscriptions_routes import router as subscriptions_router
from services.api.validation import HANDLERS
from services.api.web_routes import router as web_router
from services.common.auth import Keys, require
from services.common.database import create_engine
from services.common.eventlog import EventLog, open_log
from services.common.health import health_router
from services.common.metrics import instrument


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API application; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = create_engine(settings.database_url)
        state_engine = create_state_engine(settings.database_url)
        log = open_log(settings, "parley-api-stream")
        await log.start()
        try:
            async with serving(app, settings, engine, log, state_engine) as state:
                yield state
        finally:
            await log.stop()
            await state_engine.dispose()
            await engine.dispose()

    app = FastAPI(title="Parley API", version="0.1.0", lifespan=lifespan)
    include_routes(app, settings)
    instrument(app, "api")
    return app


@asynccontextmanager
async def serving(
    app: FastAPI,
    settings: ApiSettings,
    engine: AsyncEngine,
    log: EventLog,
    state_engine: AsyncEngine | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The API's lifespan state on ``engine`` and ``log``: the stream hub runs meanwhile.

    ``state_engine`` serves the state read (``services.api.engine``); ``engine`` by default.
    """
    hub = StreamHub(log, settings.topic, settings.stream_queue_size)
    await hub.start()
    app.state.engine, app.state.hub, app.state.log = engine, hub, log
    try:
        keys = Keys(engine, settings.bootstrap_key)
        yield {
            "settings": settings,
            "engine": engine,
            "state_engine": state_engine or engine,
            "hub": hub,
            "keys": keys,
        }
    finally:
        await hub.stop()


def include_routes(app: FastAPI, settings: ApiSettings, health: bool = True) -> None:
    """The API's routes and health checks (the lifespan provides what they use)."""

    async def database() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def the_log() -> None:
        await app.state.log.ping()

    async def stream() -> None:
        if not app.state.hub.ready:
            raise RuntimeError("the stream hub has not reached the topic yet")

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
    if health:
        app.include_router(
            health_router(lambda: {"database": database, settings.mode: the_log, "stream": stream})
        )
    app.include_router(web_router)  # the timeline page at / and /ui: public, no key
