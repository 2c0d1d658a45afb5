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
from collections import deque
from dataclasses import dataclass

from prometheus_client import Gauge

from services.api.stream.frames import describe, render, wanted
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
class Entry:
    """A live record with its talks, its type and its frame as the hub renders it."""

    record: Record
    talks_id: str
    type: str
    frame: bytes  # its ``id`` is the hub's position just after the record


class Batch:
    """The records of one fetch, in log order, fanned out to every subscriber as one item.

    ``before`` and ``after`` are the hub's positions around the batch; neither is ever
    changed once the batch exists. A client whose position is ``before`` is in step: its
    messages are the hub's frames, and the bytes for each filter are joined once here.
    """

    __slots__ = ("_joined", "after", "before", "entries")

    def __init__(self, before: Position, after: Position, entries: list[Entry]) -> None:
        self.before, self.after, self.entries = before, after, entries
        self._joined: dict[tuple[str | None, str | None], bytes] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def frames(self, talks_id: str | None, type_: str | None) -> bytes:
        """Every frame a client in step with this filter is sent, as one string of bytes."""
        key = (talks_id, type_)
        joined = self._joined.get(key)
        if joined is None:
            joined = self._joined[key] = b"".join(
                e.frame for e in self.entries if wanted(e.talks_id, e.type, talks_id, type_)
            )
        return joined


@dataclass(frozen=True, slots=True)
class Closed:
    """Put in a subscriber's queue when the hub gives up on it; says why."""

    reason: str


class Subscriber:
    """One connected client's queue: batches, then perhaps a final :class:`Closed`.

    At most ``limit`` events wait in it: a batch that would take it past that closes it
    instead, so there is always room to say why.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.closed = False
        self.pending = 0  # events waiting in the queue
        self._queue: deque[Batch | Closed] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, batch: Batch) -> None:
        if self.closed:
            return
        if self.pending + len(batch) > self.limit:
            self.close(
                f"fell more than {self.limit} events behind; "
                "reconnect with Last-Event-ID to resume where you stopped"
            )
        else:
            self.pending += len(batch)
            self._put(batch)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self._put(Closed(reason))

    def _put(self, item: Batch | Closed) -> None:
        self._queue.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def get_nowait(self) -> Batch | Closed | None:
        """The next item, or ``None`` if there is none yet."""
        if not self._queue:
            return None
        item = self._queue.popleft()
        if isinstance(item, Batch):
            self.pending -= len(item)
        return item

    async def get(self, timeout_s: float) -> Batch | Closed | None:
        """The next item, waiting at most ``timeout_s``; ``None`` if none came."""
        if not self._queue:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout_s, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self.get_nowait()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
                self._position = dict(await reader.positions())
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
            if fetched := await reader.fetch(0.5, 2000):
                self.fan_out(
                    [Record(d.partition, d.offset, d.value, dict(d.headers)) for d in fetched]
                )

    def fan_out(self, records: list[Record]) -> None:
        """Render each new record's frame once and put the batch in every subscriber's queue."""
        before = self._position
        position = dict(before)
        entries = []
        for record in records:
            if record.offset < position.get(record.partition, 0):
                continue  # fanned out already
            position[record.partition] = record.offset + 1
            talks_id, type_ = describe(record)
            entries.append(Entry(record, talks_id, type_, render(position, type_, record.value)))
        self._position = position  # replaced, never changed: batches keep theirs
        if entries:
            batch = Batch(before, position, entries)
            for subscriber in self._subscribers:
                subscriber.offer(batch)
