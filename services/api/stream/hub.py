"""One reader of the log per API process, fanned out to every connected client.

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

from prometheus_client import Gauge

from services.api.stream.positions import Position
from services.common.eventlog import Consumer, EventLog

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

    def __init__(self, log: EventLog, topic: str, queue_size: int) -> None:
        self.log = log
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
            reader: Consumer | None = None
            try:
                await self._wait_for_topic()
                # First start: live from the end. Reconnected: on from where the fan-out stopped.
                reader = await self.log.reader(self._topic, self._position or None)
                self._position = await reader.positions()
                self._ready.set()
                delay = 0.5
                await self._pump(reader)
            except (Exception, OSError) as exc:  # the log went away: retry from the position
                log.warning("stream hub lost the log (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                if reader is not None:
                    await reader.close()

    async def _wait_for_topic(self) -> None:
        """The ingest creates the topic: wait until it exists."""
        while True:
            if await self.log.partitions(self._topic):
                return
            await asyncio.sleep(0.5)

    async def _pump(self, reader: Consumer) -> None:
        while True:
            for d in await reader.fetch(0.5, 2000):
                self._fan_out(Record(d.partition, d.offset, d.value, dict(d.headers)))
                self._position[d.partition] = d.offset + 1

    def _fan_out(self, record: Record) -> None:
        for subscriber in self._subscribers:
            subscriber.offer(record)
