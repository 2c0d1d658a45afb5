"""The Kafka adapter of the log: aiokafka consumers and an idempotent producer (acks=all)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from services.common.eventlog.port import (
    Appended,
    Delivered,
    LogUnavailable,
    Outgoing,
    Positions,
    StoredPositions,
)
from services.common.kafka import ensure_topic, probe_kafka, topic_partitions
from services.common.rebalance import SeekToStoredPositions

log = logging.getLogger(__name__)


class KafkaLog:
    """Topics on a Kafka cluster. The producer starts on the first append."""

    def __init__(self, bootstrap_servers: str, client_id: str, replication: int = 1) -> None:
        self.bootstrap = bootstrap_servers
        self._client_id = client_id
        self._replication = replication
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._retired: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Nothing connects until it is needed: Kafka may come up later."""

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()  # flushes what is in flight
            self._producer = None

    async def ping(self) -> None:
        await probe_kafka(self.bootstrap)

    async def ensure_topic(self, topic: str, partitions: int) -> None:
        await ensure_topic(self.bootstrap, topic, partitions, self._replication)

    async def partitions(self, topic: str) -> list[int]:
        return await topic_partitions(self.bootstrap, topic)

    async def end_offsets(self, topic: str) -> Positions:
        partitions = [TopicPartition(topic, p) for p in await self.partitions(topic)]
        if not partitions:
            return {}
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        return {tp.partition: offset for tp, offset in ends.items()}

    async def append(self, topic: str, records: Sequence[Outgoing]) -> list[Appended]:
        producer = await self._started_producer()
        try:
            sent = [
                await producer.send(
                    topic, value=r.value, key=r.key, headers=list(r.headers), partition=r.partition
                )
                for r in records
            ]
            metadata = await asyncio.gather(*sent)
        except KafkaError as exc:
            # An idempotent producer whose sequence broke refuses every later send: the next
            # append starts a new one, with a new producer id.
            if self._producer is producer:
                self._producer = None
                self._retired.append(asyncio.create_task(_stop(producer)))
            raise LogUnavailable(f"Kafka did not acknowledge: {exc!r}") from exc
        return [Appended(m.partition, m.offset) for m in metadata]

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:  # first append, or the last one broke the producer
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    client_id=self._client_id,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def consumer(
        self, topic: str, group: str, stored: StoredPositions, max_records: int
    ) -> KafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=max_records,
        )
        consumer.subscribe([topic], listener=SeekToStoredPositions(consumer, stored))
        await consumer.start()
        return KafkaConsumer(consumer, topic)

    async def reader(self, topic: str, start: Positions | None) -> KafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, client_id=self._client_id
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in await self.partitions(topic)]
            consumer.assign(partitions)
            if start is None:
                await consumer.seek_to_end(*partitions)
            else:
                first = await consumer.beginning_offsets(partitions)
                for tp in partitions:
                    consumer.seek(tp, max(start.get(tp.partition, 0), first[tp]))
        except BaseException:
            await consumer.stop()
            raise
        return KafkaConsumer(consumer, topic)


class KafkaConsumer:
    """An aiokafka consumer behind the port's :class:`Consumer`."""

    def __init__(self, consumer: AIOKafkaConsumer, topic: str) -> None:
        self._consumer = consumer
        self._topic = topic

    async def positions(self) -> Positions:
        """Where each assigned partition will be read next."""
        return {
            tp.partition: await self._consumer.position(tp) for tp in self._consumer.assignment()
        }

    async def fetch(self, timeout_s: float, max_records: int) -> list[Delivered]:
        batch = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        return [
            Delivered(tp.partition, m.offset, m.value or b"", tuple(m.headers or ()), m.key)
            for tp, messages in batch.items()
            for m in messages
        ]

    async def commit(self, positions: Positions) -> None:
        offsets = {
            TopicPartition(self._topic, p): OffsetAndMetadata(o, "") for p, o in positions.items()
        }
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:  # informational only: the database holds the truth
            log.warning("could not commit offsets to Kafka (lag metrics only): %s", exc)

    def lag(self, partition: int, next_offset: int) -> int | None:
        end = self._consumer.highwater(TopicPartition(self._topic, partition))
        return None if end is None else max(0, end - next_offset)

    async def close(self) -> None:
        await self._consumer.stop()


async def _stop(producer: AIOKafkaProducer) -> None:
    await producer.stop()
