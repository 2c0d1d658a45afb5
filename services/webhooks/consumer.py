"""The worker's consumer loop: fetch batches in its own group and queue their deliveries.

As in the projector, Kafka's committed offsets are informational: on every assignment the
consumer seeks to the positions stored with the outbox rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from services.common.rebalance import SeekToStoredPositions
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
    ) -> None:
        self._settings = settings
        self._outbox = outbox
        self._on_queued = on_queued
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stopping.set()

    async def run(self) -> None:
        s = self._settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.webhook_consumer_group,
            client_id="parley-webhooks",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=s.max_batch,
        )
        consumer.subscribe(
            [s.topic], listener=SeekToStoredPositions(consumer, self._outbox.positions)
        )
        await consumer.start()
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(
                    timeout_ms=s.poll_timeout_ms, max_records=s.max_batch
                )
                records = [
                    TopicRecord(
                        tp.partition, message.offset, message.value or b"", tuple(message.headers)
                    )
                    for tp, messages in batch.items()
                    for message in messages
                ]
                if not records:
                    continue
                lanes = await self._outbox.record(records, datetime.now(UTC))
                self._on_queued(lanes)
                await self._commit_to_kafka(consumer, batch)
        finally:
            await consumer.stop()

    async def _commit_to_kafka(self, consumer: AIOKafkaConsumer, batch: dict) -> None:
        offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "") for tp, msgs in batch.items()}
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # informational only: the database holds the truth
            log.warning("could not commit offsets to Kafka (lag metrics only): %s", exc)
