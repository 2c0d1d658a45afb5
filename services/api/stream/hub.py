"""One Kafka consumer per API process, fanned out to every connected client.

The hub reads every partition of the topic from the end it found at start, and puts each
record into every subscriber's bounded queue without waiting: a client that cannot keep up
fills its queue and is disconnected with a reason, and nobody else slows down. A client
that starts from an older position first catches up with a reader of its own
(:mod:`services.api.stream.catchup`), so history never delays live clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from services.api.stream.positions import Position
from services.common.kafka import topic_partitions

log = logging.getLogger(__name__)

CLIENTS = Gauge("parley_stream_clients", "Clients connected to /v1/stream in this process.")


@dataclass(frozen=True, slots=True)
class Record:
    partition: int
    offset: int
    value: bytes
    headers: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class Closed:
    """Put in a subscriber's queue when the hub gives up on it; says why."""

    reason: str


@dataclass(eq=False)
class Subscriber:
    """One connected client's queue: records, then perhaps a final :class:`Closed`.

    The queue holds one more item than ``limit`` so that there is always room to say why.
    """

    limit: int
    queue: asyncio.Queue[Record | Closed] = field(init=False)
    closed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.limit + 1)

    def offer(self, record: Record) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.limit:
            self.close(
                f"fell more than {self.limit} events behind; "
                "reconnect with Last-Event-ID to resume where you stopped"
            )
        else:
            self.queue.put_nowait(record)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(Closed(reason))


class StreamHub:
    """The process's single live reader of the topic."""

    def __init__(self, bootstrap: str, topic: str, queue_size: int) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._position: Position = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def position(self) -> Position:
        """Where the live reader stands: every record below it has been fanned out."""
        return dict(self._position)

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stream-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscriber in list(self._subscribers):
            subscriber.close("the server is shutting down; reconnect to resume")

    def subscribe(self, queue_size: int | None = None) -> tuple[Subscriber, Position]:
        """A new queue of live records, and the position from which it will receive them."""
        subscriber = Subscriber(queue_size or self._queue_size)
        self._subscribers.add(subscriber)
        CLIENTS.set(len(self._subscribers))
        return subscriber, self.position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        CLIENTS.set(len(self._subscribers))

    async def _run(self) -> None:
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                client_id="parley-api-stream",
            )
            try:
                await consumer.start()
                partitions = await self._partitions()
                consumer.assign(partitions)
                if not self._position:  # first start: live from the end
                    await consumer.seek_to_end(*partitions)
                    for tp in partitions:
                        self._position[tp.partition] = await consumer.position(tp)
                else:  # reconnected: carry on where the fan-out stopped
                    for tp in partitions:
                        consumer.seek(tp, self._position.get(tp.partition, 0))
                self._ready.set()
                delay = 0.5
                await self._pump(consumer)
            except (KafkaError, OSError) as exc:
                log.warning("stream hub lost Kafka (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                await consumer.stop()

    async def _partitions(self) -> list[TopicPartition]:
        """The topic's partitions, waiting for the topic to exist (the ingest creates it)."""
        while True:
            found = await topic_partitions(self._bootstrap, self._topic)
            if found:
                return [TopicPartition(self._topic, p) for p in found]
            await asyncio.sleep(0.5)

    async def _pump(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, messages in batch.items():
                for m in messages:
                    self._fan_out(Record(tp.partition, m.offset, m.value or b"", dict(m.headers)))
                    self._position[tp.partition] = m.offset + 1

    def _fan_out(self, record: Record) -> None:
        for subscriber in self._subscribers:
            subscriber.offer(record)
