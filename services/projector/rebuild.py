"""Rebuilding every read model from the start of the log, then switching to it atomically.

Shadow tables are filled by the projection's own code from a consumer of its own, which
reads every partition up to the end offsets taken at the start, then catches up with the
live projector. In ONE transaction it then locks the live projector's positions, applies the
records up to them, swaps the tables and stores the further of the two positions per
partition: nothing is lost or applied twice across the switch. A record with a dead letter
is skipped; poison found now is dead-lettered, but a rebuild never parks a talks.
See docs/dead-letters-and-rebuild.md.

Progress is also kept in Prometheus gauges (``parley_rebuild_*``) of the process that runs
the rebuild: ``parley projections rebuild --metrics-port`` serves them (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Enum, Gauge
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.kafka import topic_partitions
from services.projector.deadletters import DeadLetterBox
from services.projector.dlq import DeadLetterQueue
from services.projector.items import REBUILD_LOCK
from services.projector.positions import lock_positions, read_positions, store_positions
from services.projector.projection import Projection
from services.projector.records import LogRecord
from services.projector.schema import consumer_positions
from services.projector.settings import ProjectorSettings
from services.projector.shadow import create_shadows, switch
from services.projector.tables import REBUILD_SUFFIX, SHADOW

#: Catch up without locks until the live projector is at most this many records ahead.
CLOSE_ENOUGH = 1000

PHASES = ["idle", "reading", "catching_up", "switching", "done", "failed"]
REBUILD_PHASE = Enum(
    "parley_rebuild_phase",
    "The rebuild's phase: reading to the end offsets taken at the start, catching up with "
    "the live projector, switching (one transaction), done or failed.",
    states=PHASES,
)
REBUILD_RECORDS = Gauge(
    "parley_rebuild_records", "Records the rebuild has read and applied to the new tables."
)
REBUILD_RECORDS_TARGET = Gauge(
    "parley_rebuild_records_target",
    "Records the rebuild must read: from the beginning to the end offsets taken at the start, "
    "plus those it caught up with since.",
)
REBUILD_EVENTS = Gauge("parley_rebuild_events", "Events the rebuild applied to the new tables.")
REBUILD_POSITION = Gauge(
    "parley_rebuild_position", "The rebuild's next offset, per partition.", ["partition"]
)
REBUILD_END_OFFSET = Gauge(
    "parley_rebuild_end_offset",
    "The offset the rebuild reads up to in its current phase, per partition.",
    ["partition"],
)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a rebuild is: records read of those known to be there, events applied."""

    records: int
    total: int
    events: int
    seconds: float
    phase: str


@dataclass(frozen=True, slots=True)
class Report:
    records: int
    events: int
    dead_lettered: int
    caught_up: int  # records applied after the end offsets taken at the start
    at_switch: int  # of which inside the switch transaction
    seconds: float
    positions: dict[int, int]


class RebuildBusy(RuntimeError):
    """Another rebuild holds the lock on this database schema."""


class Rebuild:
    """One run of ``parley projections rebuild`` against the live projector's settings."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: ProjectorSettings,
        queue: DeadLetterQueue | None,
        *,
        keep_old: bool = False,
        on_progress: Callable[[Progress], Awaitable[None]] | None = None,
    ) -> None:
        self._engine, self._settings, self._keep_old = engine, settings, keep_old
        self._on_progress = on_progress
        group, topic = settings.consumer_group, settings.topic
        self._group, self._topic = group, topic
        self.projection = Projection(
            engine,
            group + REBUILD_SUFFIX,
            topic,
            tables=SHADOW,
            dead_letters=DeadLetterBox(group, topic, queue, parking=False),
            event_log_level=logging.DEBUG,  # every event again: not news
            cached_events=settings.item_cache_events,
        )
        self._at: dict[int, int] = {}  # the rebuild's next offset per partition
        self._records = self._events = self._total = 0
        self._started = time.monotonic()

    async def run(self) -> Report:
        """Rebuild, switch, and say what was done; raises :class:`RebuildBusy` if one runs."""
        async with self._engine.connect() as lock:
            key = sa.text(f"SELECT pg_try_advisory_lock({REBUILD_LOCK})")
            locked = await lock.scalar(key)
            await lock.commit()  # the lock is the session's: no transaction stays open
            if not locked:
                raise RebuildBusy(
                    "another rebuild is running against this database (or, for a second,"
                    " a projector's recount of event_counts: try again)"
                )
            REBUILD_POSITION.clear()  # partitions of an earlier rebuild in this process
            REBUILD_END_OFFSET.clear()
            try:
                report = await self._run()
            except BaseException:
                REBUILD_PHASE.state("failed")
                raise
            else:
                REBUILD_PHASE.state("done")
                return report
            finally:
                unlock = f"SELECT pg_advisory_unlock({REBUILD_LOCK})"
                await lock.scalar(sa.text(unlock))
                await lock.commit()

    async def _run(self) -> Report:
        s = self._settings
        partitions = await topic_partitions(s.kafka_bootstrap_servers, s.topic)
        if not partitions:
            raise RuntimeError(f"topic {s.topic} does not exist")
        await self._prepare(partitions)
        REBUILD_RECORDS.set(0)
        REBUILD_EVENTS.set(0)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=None,
            client_id="parley-rebuild",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=s.max_batch,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(s.topic, p) for p in partitions]
            consumer.assign(tps)
            begin = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
            self._at = {tp.partition: begin[tp] for tp in tps}
            self._total = sum(end[tp] - begin[tp] for tp in tps)
            self._started = time.monotonic()
            await self._read_to(consumer, {tp.partition: end[tp] for tp in tps}, "reading")
            bulk = self._records
            for _ in range(10):  # far behind a busy live projector: catch up without locks
                async with self._engine.connect() as conn:
                    live = await read_positions(conn, self._group, self._topic)
                if sum(max(live.get(p, 0) - self._at[p], 0) for p in partitions) <= CLOSE_ENOUGH:
                    break
                await self._read_to(consumer, live, "catching up")
            before_switch = self._records
            async with self._engine.begin() as conn:
                live = await lock_positions(conn, self._group, self._topic, None)
                await self._read_to(consumer, live, "switching", conn)
                await switch(conn, keep_old=self._keep_old)
                final = {p: max(self._at[p], live.get(p, 0)) for p in partitions}
                await store_positions(conn, self._group, self._topic, final)
                await _forget_positions(conn, self._group + REBUILD_SUFFIX, self._topic)
        finally:
            await consumer.stop()
        return Report(
            records=self._records,
            events=self._events,
            dead_lettered=self.projection.dead_lettered,
            caught_up=self._records - bulk,
            at_switch=self._records - before_switch,
            seconds=time.monotonic() - self._started,
            positions=final,
        )

    async def _prepare(self, partitions: list[int]) -> None:
        """Fresh shadows; a position row for every partition, so the switch can lock them."""
        async with self._engine.begin() as conn:
            await _forget_positions(conn, self._group + REBUILD_SUFFIX, self._topic)
            rows = [
                {"consumer_group": self._group, "topic": self._topic, "partition": p}
                | {"next_offset": 0, "updated_at": datetime.now(UTC)}
                for p in partitions
            ]
            await conn.execute(postgresql.insert(consumer_positions).on_conflict_do_nothing(), rows)
            await create_shadows(conn)

    async def _read_to(
        self,
        consumer: AIOKafkaConsumer,
        targets: Mapping[int, int],
        phase: str,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Apply every record from the rebuild's offsets up to ``targets`` (exclusive)."""
        behind = {p for p, target in targets.items() if self._at.get(p, 0) < target}
        self._total += sum(max(targets[p] - self._at[p], 0) for p in behind if phase != "reading")
        REBUILD_PHASE.state(phase.replace(" ", "_"))
        REBUILD_RECORDS_TARGET.set(self._total)
        for p, target in targets.items():
            REBUILD_END_OFFSET.labels(str(p)).set(target)
        for p in behind:
            consumer.seek(TopicPartition(self._topic, p), self._at[p])

        async def fetch(tps: list[TopicPartition]) -> tuple[list[LogRecord], dict[int, int]]:
            """The next records below the targets, prepared, and where each partition is then."""
            batch = await consumer.getmany(
                *tps, timeout_ms=500, max_records=self._settings.max_batch
            )
            records = [
                LogRecord(tp.partition, m.offset, m.value or b"", tuple(m.headers or ()), m.key)
                for tp, messages in batch.items()
                for m in messages
                if m.offset < targets[tp.partition]
            ]
            at = {
                tp.partition: min(await consumer.position(tp), targets[tp.partition]) for tp in tps
            }
            self.projection.prepare(records)
            return records, at

        # The next batch is fetched and prepared while the database works on this one; one
        # fetched when the targets are reached is dropped (the next phase seeks from _at).
        tps = [TopicPartition(self._topic, p) for p in sorted(behind)]
        ahead = asyncio.create_task(fetch(tps))
        try:
            while behind:
                records, at = await ahead
                behind = {p for p in behind if at.get(p, self._at[p]) < targets[p]}
                tps = [TopicPartition(self._topic, p) for p in sorted(behind)]
                if behind:
                    ahead = asyncio.create_task(fetch(tps))
                if records:
                    if conn is None:
                        result = await self.projection.apply(records)
                    else:
                        result = await self.projection.apply_in(conn, records)
                    self._records += len(records)
                    self._events += result.applied
                self._at.update(at)
                await self._progress(phase, at)
        finally:
            if not ahead.done():
                ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ahead

    async def _progress(self, phase: str, partitions: Iterable[int]) -> None:
        """Publish the counts and positions, and tell the caller."""
        REBUILD_RECORDS.set(self._records)
        REBUILD_EVENTS.set(self._events)
        for p in partitions:
            REBUILD_POSITION.labels(str(p)).set(self._at[p])
        if self._on_progress is not None:
            elapsed = time.monotonic() - self._started
            progress = Progress(self._records, self._total, self._events, elapsed, phase)
            await self._on_progress(progress)


async def _forget_positions(conn: AsyncConnection, consumer_group: str, topic: str) -> None:
    c = consumer_positions.c
    await conn.execute(
        sa.delete(consumer_positions).where(c.consumer_group == consumer_group, c.topic == topic)
    )
