"""The port through which the ingest publishes events, and its Kafka adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerIdMapping,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
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


def observe_many(histogram: Histogram, amount: float, count: int) -> None:
    """``histogram.observe(amount)`` ``count`` times, in one update of its sum and bucket:
    each observation is a locked write to a shared file in prometheus_client's multiprocess
    mode (several ingest workers), ~6 us, and a batch's events share their wait."""
    if count <= 0:
        return
    histogram._raise_if_not_observable()  # the same checks and fields as Histogram.observe
    histogram._sum.inc(amount * count)
    for i, bound in enumerate(histogram._upper_bounds):
        if amount <= bound:
            histogram._buckets[i].inc(count)
            break


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where the log put an event once the broker acknowledged it."""

    partition: int
    offset: int


class PublisherUnavailable(Exception):
    """The log cannot take events now; nothing was acknowledged, the client should retry."""


#: One record to append: its key, its value and its headers.
Record: TypeAlias = tuple[str, bytes, list[tuple[str, bytes]]]
#: Records handed to the producer: their partition, their indexes in order, and the future
#: of the first one's metadata (the others follow it at consecutive offsets).
Sent: TypeAlias = tuple[int, list[int], "asyncio.Future[Any]"]


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


async def publish_all(
    publisher: EventPublisher, records: Sequence[Record]
) -> list[Receipt | PublisherUnavailable]:
    """Append every record; for each, its receipt or why the log did not acknowledge it.

    A publisher with a ``publish_many`` (the Kafka adapter) hands the producer every record
    before waiting for any acknowledgement; any other publishes them concurrently.
    """
    many = getattr(publisher, "publish_many", None)
    if many is not None:
        result: list[Receipt | PublisherUnavailable] = await many(records)
        return result
    if len(records) == 1:
        [(key, value, headers)] = records
        try:
            return [await publisher.publish(key, value, headers)]
        except PublisherUnavailable as exc:
            return [exc]
    answers = await asyncio.gather(
        *(publisher.publish(*record) for record in records), return_exceptions=True
    )
    out: list[Receipt | PublisherUnavailable] = []
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, PublisherUnavailable):
            raise answer
        out.append(answer)
    return out


#: A partition's records of one call go in record batches of their own from this many; fewer
#: (a single event, say) go through ``send`` into the batch that concurrent requests share,
#: which a lone record's own batch would not wait for.
OWN_BATCH_FROM = 16

#: The largest record the producer sends (aiokafka's ``max_request_size`` default, as the
#: options below leave it); ``send`` refuses a larger one, and so does :meth:`publish_many`.
MAX_RECORD_BYTES = 1024 * 1024


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
        #: The producer's partitioner, also used by :meth:`publish_many` to place each key once.
        self._partitioner = DefaultPartitioner()

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_up(), name="kafka-connect")

    async def _connect_until_up(self) -> None:
        s = self._settings
        delay = 0.5
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=s.kafka_bootstrap_servers,
                client_id="parley-ingest",
                partitioner=self._partitioner,
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

    async def publish_many(self, records: Sequence[Record]) -> list[Receipt | PublisherUnavailable]:
        """Hand the producer every record, then wait once for their acknowledgements (within
        ``produce_timeout_s`` in all); for each record, its receipt or why it has none.

        Each key's partition is chosen once per call, by the producer's own partitioner over
        the same partitions. The records of a partition go, in order, into record batches of
        the producer's own (``create_batch``, ``send_batch``: the same idempotent, ``acks=all``
        path as ``send``, without its per-record cost); Kafka gives a batch's records
        consecutive offsets from the batch's base offset. A partition with fewer than
        :data:`OWN_BATCH_FROM` records of the call uses ``send``."""
        producer = self._producer
        if producer is None:
            return [PublisherUnavailable("not connected to Kafka yet")] * len(records)
        topic = self._settings.topic
        started = time.perf_counter()
        out: list[Receipt | PublisherUnavailable | None] = [None] * len(records)
        sent: list[Sent] = []
        unsent: BaseException = TimeoutError()  # why a record never reached the producer
        try:
            async with asyncio.timeout(self._settings.produce_timeout_s):
                partitions = sorted(await producer.partitions_for(topic))
                by_partition = self._placed(records, partitions)
                for partition, indexes in by_partition.items():
                    send = self._send_each if len(indexes) < OWN_BATCH_FROM else self._batched
                    sent += await send(producer, records, partition, indexes, out)
                if sent:
                    await asyncio.wait([future for *_, future in sent])
        except (KafkaError, TimeoutError) as exc:
            unsent = exc
        acknowledged = 0
        for partition, members, future in sent:
            if not future.done():
                failed = self._failed(producer, TimeoutError())
            elif future.cancelled() or future.exception() is not None:
                failed = self._failed(producer, future.exception() or TimeoutError())
            else:
                base = future.result().offset
                for n, i in enumerate(members):
                    out[i] = Receipt(partition=partition, offset=base + n)
                acknowledged += len(members)
                continue
            for i in members:
                out[i] = failed
        observe_many(PRODUCE_SECONDS, time.perf_counter() - started, acknowledged)
        return [self._failed(producer, unsent) if o is None else o for o in out]

    def _placed(self, records: Sequence[Record], partitions: list[int]) -> dict[int, list[int]]:
        """The indexes of ``records`` by partition, in order, each key placed once."""
        placed: dict[str, int] = {}
        by_partition: dict[int, list[int]] = {}
        for i, (key, _, _) in enumerate(records):
            partition = placed.get(key)
            if partition is None:
                partition = placed[key] = self._partitioner(key.encode(), partitions, partitions)
            by_partition.setdefault(partition, []).append(i)
        return by_partition

    async def _send_each(
        self,
        producer: AIOKafkaProducer,
        records: Sequence[Record],
        partition: int,
        indexes: list[int],
        out: list[Receipt | PublisherUnavailable | None],
    ) -> list[Sent]:
        """Each record through ``send``, into the batch that concurrent requests share."""
        sent = []
        for i in indexes:
            key, value, headers = records[i]
            try:
                future = await producer.send(
                    self._settings.topic,
                    value=value,
                    key=key.encode(),
                    partition=partition,
                    headers=headers,
                )
            except KafkaError as exc:  # this record only (too large, say)
                out[i] = self._failed(producer, exc)
            else:
                sent.append((partition, [i], future))
        return sent

    async def _batched(
        self,
        producer: AIOKafkaProducer,
        records: Sequence[Record],
        partition: int,
        indexes: list[int],
        out: list[Receipt | PublisherUnavailable | None],
    ) -> list[Sent]:
        """The records in record batches of their own, in order, each as full as
        ``max_batch_size`` allows."""
        sent = []
        batch, members = producer.create_batch(), list[int]()
        append = batch.append
        for i in indexes:
            key, value, headers = records[i]
            if len(value) + len(key) > MAX_RECORD_BYTES:
                out[i] = self._failed(producer, MessageSizeTooLargeError())
                continue
            key_bytes = key.encode()
            if append(timestamp=None, key=key_bytes, value=value, headers=headers) is None:
                if members:  # full: send it, start another
                    sent.append(await self._send_batch(producer, batch, partition, members))
                batch, members = producer.create_batch(), []
                append = batch.append
                append(timestamp=None, key=key_bytes, value=value, headers=headers)  # it fits
            members.append(i)
        if members:
            sent.append(await self._send_batch(producer, batch, partition, members))
        return sent

    async def _send_batch(
        self, producer: AIOKafkaProducer, batch: Any, partition: int, members: list[int]
    ) -> Sent:
        batch.close()  # nothing but these records: no send() may add to it
        future = await producer.send_batch(batch, self._settings.topic, partition=partition)
        return partition, members, future

    def _failed(self, producer: AIOKafkaProducer, exc: BaseException) -> PublisherUnavailable:
        if isinstance(exc, BROKEN_PRODUCER):
            self._replace(producer)
        return PublisherUnavailable(f"Kafka did not acknowledge: {exc!r}")

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
