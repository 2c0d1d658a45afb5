"""The consumer loop: fetch batches from Kafka and hand them to the projection.

Kafka's committed offsets are not trusted for correctness: on every assignment the consumer
seeks to the positions stored with the read models. They are committed to Kafka too, after the
database, only so that lag shows in Kafka's own tools.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import Counter, Gauge

from services.common.rebalance import SeekToStoredPositions
from services.projector.projection import BatchResult, Projection
from services.projector.records import LogRecord
from services.projector.settings import ProjectorSettings

log = logging.getLogger(__name__)

PROJECTED = Counter(
    "parley_projector_events_total",
    "Records handled by the projector, by outcome: applied, duplicate, replay, dead_lettered.",
    ["outcome"],
)
LAG = Gauge(
    "parley_projector_lag",
    "Records behind the end of the partition (end offset minus next offset), per partition.",
    ["partition"],
)


def _observe(consumer: AIOKafkaConsumer, batch: dict, result: BatchResult) -> None:
    PROJECTED.labels("applied").inc(result.applied)
    PROJECTED.labels("duplicate").inc(result.duplicates)
    PROJECTED.labels("replay").inc(result.replays)
    PROJECTED.labels("dead_lettered").inc(result.rejected)
    for tp, messages in batch.items():
        end = consumer.highwater(tp)
        if end is not None and messages:
            LAG.labels(str(tp.partition)).set(max(0, end - (messages[-1].offset + 1)))


class ProjectorLoop:
    """Consumes the topic until stopped, applying each fetched batch in one transaction."""

    def __init__(self, settings: ProjectorSettings, projection: Projection) -> None:
        self._settings = settings
        self._projection = projection
        self._stopping = asyncio.Event()
        self.running = False

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stopping.set()

    async def run(self) -> None:
        s = self._settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id="parley-projector",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=s.max_batch,
        )
        consumer.subscribe(
            [s.topic], listener=SeekToStoredPositions(consumer, self._projection.positions)
        )
        await consumer.start()
        self.running = True
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(
                    timeout_ms=s.poll_timeout_ms, max_records=s.max_batch
                )
                records = [
                    LogRecord(
                        tp.partition,
                        message.offset,
                        message.value or b"",
                        tuple(message.headers or ()),
                        message.key,
                    )
                    for tp, messages in batch.items()
                    for message in messages
                ]
                if not records:
                    continue
                result = await self._projection.apply(records)
                log.debug("applied batch: %s", result)
                _observe(consumer, batch, result)
                await self._commit_to_kafka(consumer, batch)
        finally:
            self.running = False
            await consumer.stop()

    async def _commit_to_kafka(self, consumer: AIOKafkaConsumer, batch: dict) -> None:
        offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "") for tp, msgs in batch.items()}
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # informational only: the database holds the truth
            log.warning("could not commit offsets to Kafka (lag metrics only): %s", exc)
