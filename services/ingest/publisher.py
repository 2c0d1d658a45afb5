"""The port through which the ingest publishes events, and its Kafka adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)
from prometheus_client import Histogram

from services.common.kafka import ensure_topic, probe_kafka
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

#: Errors after which an idempotent producer must be replaced to send again.
BROKEN_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerIdMapping)

PRODUCE_SECONDS = Histogram(
    "parley_ingest_produce_seconds",
    "Time from handing an event to the producer to the broker's acknowledgement (acks=all).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where the log put an event once the broker acknowledged it."""

    partition: int
    offset: int


class PublisherUnavailable(Exception):
    """The log cannot take events now; nothing was acknowledged, the client should retry."""


class EventPublisher(Protocol):
    """Appends events to the log and returns only after the log acknowledged them."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        """Append ``value`` under ``key``; raise :class:`PublisherUnavailable` when it cannot."""
        ...

    async def ping(self) -> None:
        """Raise unless the log is reachable."""
        ...


def producer_options(settings: IngestSettings) -> dict[str, Any]:
    """The producer's settings: ``acks=all`` and idempotence always, batching from settings."""
    return {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.producer_linger_ms,
        "max_batch_size": settings.producer_max_batch_size,
        "compression_type": settings.producer_compression,
        "request_timeout_ms": int(settings.produce_timeout_s * 1000),
    }


class KafkaPublisher:
    """Publishes to a Kafka topic with an idempotent producer and ``acks=all``.

    The broker may be down when the service starts: the producer then connects in the
    background, and until it has, :meth:`publish` raises :class:`PublisherUnavailable`.
    """

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._retired: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_up(), name="kafka-connect")

    async def _connect_until_up(self) -> None:
        s = self._settings
        delay = 0.5
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=s.kafka_bootstrap_servers,
                client_id="parley-ingest",
                **producer_options(s),
            )
            try:
                await ensure_topic(
                    s.kafka_bootstrap_servers,
                    s.topic,
                    s.topic_partitions,
                    s.topic_replication_factor,
                )
                await producer.start()
            except (KafkaError, OSError) as exc:
                await producer.stop()
                log.warning(
                    "Kafka at %s not reachable (%s); retrying", s.kafka_bootstrap_servers, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self._producer = producer
            log.info("connected to Kafka at %s", s.kafka_bootstrap_servers)
            return

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            await self._producer.stop()  # flushes what is in flight
            self._producer = None

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        producer = self._producer
        if producer is None:
            raise PublisherUnavailable("not connected to Kafka yet")
        started = time.perf_counter()
        try:
            metadata = await asyncio.wait_for(
                producer.send_and_wait(
                    self._settings.topic, value=value, key=key.encode(), headers=headers
                ),
                self._settings.produce_timeout_s,
            )
        except (KafkaError, TimeoutError) as exc:
            if isinstance(exc, BROKEN_PRODUCER):
                self._replace(producer)
            raise PublisherUnavailable(f"Kafka did not acknowledge: {exc!r}") from exc
        PRODUCE_SECONDS.observe(time.perf_counter() - started)
        return Receipt(partition=metadata.partition, offset=metadata.offset)

    def _replace(self, broken: AIOKafkaProducer) -> None:
        """An idempotent producer whose sequence broke (a send in flight when the broker went
        away, aio-libs/aiokafka#1017) refuses every later send: start a new one, with a new
        producer id. Until it is up, publishing answers unavailable."""
        current = self._producer
        if current is None or current is not broken:
            return  # another request already replaced it
        log.warning("the Kafka producer's sequence broke; starting a new producer")
        self._producer = None
        self._retired.append(asyncio.create_task(current.stop()))
        self._connecting = asyncio.create_task(self._connect_until_up(), name="kafka-reconnect")

    async def ping(self) -> None:
        if self._producer is None:
            raise PublisherUnavailable("not connected to Kafka yet")
        await probe_kafka(self._settings.kafka_bootstrap_servers)
