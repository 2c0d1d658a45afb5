"""The worker's consumer loop: fetch batches in its own group and queue their deliveries.

As in the projector, the log's committed positions are informational: every batch starts where
the positions stored with the outbox rows say.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from services.common.eventlog import EventLog, open_log
from services.webhooks.deliveries import LaneKey
from services.webhooks.outbox import Outbox, TopicRecord
from services.webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)


class WebhookLoop:
    """Consumes the topic until stopped; tells ``on_queued`` which lanes got new rows."""

    def __init__(
        self,
        settings: WebhookSettings,
        outbox: Outbox,
        on_queued: Callable[[set[LaneKey]], None],
        log: EventLog | None = None,
    ) -> None:
        self._settings = settings
        self._outbox = outbox
        self._on_queued = on_queued
        self._log = log or open_log(settings, "parley-webhooks")
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stopping.set()

    async def run(self) -> None:
        s = self._settings
        consumer = await self._log.consumer(
            s.topic, s.webhook_consumer_group, self._outbox.positions, s.max_batch
        )
        try:
            while not self._stopping.is_set():
                delivered = await consumer.fetch(s.poll_timeout_ms / 1000, s.max_batch)
                if not delivered:
                    continue
                records = [
                    TopicRecord(d.partition, d.offset, d.value, d.headers) for d in delivered
                ]
                lanes = await self._outbox.record(records, datetime.now(UTC))
                self._on_queued(lanes)
                positions: dict[int, int] = {}
                for d in delivered:
                    positions[d.partition] = max(positions.get(d.partition, 0), d.offset + 1)
                await consumer.commit(positions)
        finally:
            await consumer.close()
