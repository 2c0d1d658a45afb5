"""Composition root of the webhook worker: engine, HTTP client, consumer loop, delivery lanes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import create_engine
from services.common.eventlog import EventLog, open_log
from services.common.health import health_router
from services.common.metrics import instrument
from services.webhooks.consumer import WebhookLoop
from services.webhooks.deliverer import HttpDeliverer
from services.webhooks.lanes import Dispatcher
from services.webhooks.outbox import Outbox
from services.webhooks.retries import RetryPolicy
from services.webhooks.settings import WebhookSettings
from services.webhooks.store import SqlDeliveryStore

log = logging.getLogger(__name__)


def create_health_app(settings: WebhookSettings, engine: AsyncEngine, log: EventLog) -> FastAPI:
    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    app = FastAPI(title="Parley webhooks", version="0.1.0")
    app.include_router(health_router(lambda: {"database": database, settings.mode: log.ping}))
    instrument(app, "webhooks")
    return app


def retry_policy(settings: WebhookSettings) -> RetryPolicy:
    return RetryPolicy(
        max_failures=settings.webhook_max_failures,
        base_s=settings.webhook_backoff_base_s,
        max_s=settings.webhook_backoff_max_s,
    )


class WebhookWorker:
    """The worker's parts: the consumer loop that queues deliveries, and the delivery lanes."""

    def __init__(self, settings: WebhookSettings, engine: AsyncEngine, log: EventLog) -> None:
        self.settings, self.log = settings, log
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s,
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
            headers={"User-Agent": "Parley-Webhooks/0.1"},
        )
        self.dispatcher = Dispatcher(
            SqlDeliveryStore(engine, settings.topic),
            HttpDeliverer(self.client),
            retry_policy(settings),
            concurrency=settings.webhook_concurrency,
            scan_interval_s=settings.webhook_scan_interval_s,
            lease_s=settings.webhook_timeout_s + 5,  # an attempt cannot outlive its lease
        )
        outbox = Outbox(engine, settings.webhook_consumer_group, settings.topic)
        self.loop = WebhookLoop(settings, outbox, self.dispatcher.notify, log)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(_consume_forever(self.settings, self.loop, self.log), name="hooks"),
            asyncio.create_task(self.dispatcher.run(), name="lanes"),
        ]

    async def stop(self) -> None:
        """Finish the batch and the deliveries in hand."""
        consuming, scanning = self._tasks
        self.loop.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(consuming, 30)
        await self.dispatcher.stop(timeout_s=self.settings.webhook_timeout_s + 5)
        await scanning
        await self.client.aclose()


async def run(settings: WebhookSettings) -> None:
    """Run the worker until SIGINT/SIGTERM: consumer, delivery lanes, and HTTP for health."""
    engine = create_engine(settings.database_url, pool_size=10)
    log_ = open_log(settings, "parley-webhooks")
    worker = WebhookWorker(settings, engine, log_)
    server = uvicorn.Server(
        uvicorn.Config(
            create_health_app(settings, engine, log_),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
        )
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)

    http = asyncio.create_task(server.serve(), name="health-http")
    worker.start()
    await stop.wait()
    log.info("stopping: finishing the batch and the deliveries in hand")
    await worker.stop()
    server.should_exit = True
    await http
    await log_.stop()
    await engine.dispose()


async def _consume_forever(settings: WebhookSettings, loop: WebhookLoop, log_: EventLog) -> None:
    """Run the loop, reconnecting with back-off while the log is unreachable."""
    delay = 0.5
    while True:
        try:
            await log_.start()
            await log_.ensure_topic(settings.topic, settings.topic_partitions)
            await loop.run()
            return
        except Exception as exc:  # keep the process up: report, back off, seek to stored positions
            log.error("consumer stopped (%r); restarting in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
