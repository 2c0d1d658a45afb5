"""Appending records to a Kafka topic, returning once the broker acknowledged every one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from services.projector.records import Headers


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to append; ``partition`` ``None`` lets the key choose it."""

    value: bytes
    key: bytes | None = None
    headers: Headers = ()
    partition: int | None = None


class KafkaAppender:
    """An idempotent producer (``acks=all``) for one topic; order is kept per partition."""

    def __init__(self, bootstrap_servers: str, topic: str, client_id: str) -> None:
        self.topic = topic
        self._bootstrap, self._client_id = bootstrap_servers, client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
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

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()  # flushes what is in flight
            self._producer = None

    async def partitions(self) -> set[int]:
        """The topic's partitions."""
        return set(await self._require().partitions_for(self.topic))

    async def append(self, records: Sequence[Outgoing]) -> None:
        """Send ``records`` in order and wait until every one is acknowledged."""
        producer = self._require()
        sent = [
            await producer.send(
                self.topic,
                value=r.value,
                key=r.key,
                headers=list(r.headers),
                partition=r.partition,
            )
            for r in records
        ]
        await asyncio.gather(*sent)

    def _require(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError(f"the producer for {self.topic} is not started")
        return self._producer
