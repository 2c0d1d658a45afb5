"""Applying a batch of log records to the database in one transaction.

The archive, the item read models and the consumed position per partition change together
or not at all. Records below the stored position are replays (a restart, a rebalance, a
zombie consumer) and are skipped; an ``event_id`` already in the archive (a producer retry
that left the event on the topic twice) changes nothing but the position.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.dialect import insert, least_greatest
from services.projector.items import index_items, rebuild_items
from services.projector.schema import consumer_positions, events, talks
from shared.events import REPORT_TYPES, Event, parse_recorded, subject_of
from shared.upcasting import upcast_value, version_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record as the log delivered it."""

    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    replays: int = 0
    rejected: int = 0
    versions: int = 0


class Projection:
    """The read models of one consumer group, kept by applying batches of records."""

    def __init__(self, engine: AsyncEngine, consumer_group: str, topic: str) -> None:
        self._engine = engine
        self._group = consumer_group
        self._topic = topic

    async def positions(self) -> dict[int, int]:
        """The next offset to consume for every partition this group has applied records of."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(consumer_positions.c.partition, consumer_positions.c.next_offset).where(
                    consumer_positions.c.consumer_group == self._group,
                    consumer_positions.c.topic == self._topic,
                )
            )
            return {row.partition: row.next_offset for row in result}

    async def apply(self, records: Sequence[LogRecord]) -> BatchResult:
        """Apply ``records`` (in log order per partition) atomically with their positions."""
        if not records:
            return BatchResult()
        async with self._engine.begin() as conn:
            stored = await self._lock_positions(conn, {r.partition for r in records})
            fresh = [r for r in records if r.offset >= stored.get(r.partition, 0)]
            decoded, rejected = _decode(fresh)
            new_events = await _archive(conn, decoded)
            versions = await rebuild_items(conn, await index_items(conn, new_events))
            await _count_talks(conn, new_events)
            await self._advance(conn, fresh)
        return BatchResult(
            applied=len(new_events),
            duplicates=len(fresh) - rejected - len(new_events),
            replays=len(records) - len(fresh),
            rejected=rejected,
            versions=versions,
        )

    async def _lock_positions(self, conn: AsyncConnection, partitions: set[int]) -> dict[int, int]:
        c = consumer_positions.c
        result = await conn.execute(
            sa.select(c.partition, c.next_offset)
            .where(c.consumer_group == self._group, c.topic == self._topic)
            .where(c.partition.in_(sorted(partitions)))
            .with_for_update()
        )
        return {row.partition: row.next_offset for row in result}

    async def _advance(self, conn: AsyncConnection, fresh: Sequence[LogRecord]) -> None:
        last: dict[int, int] = {}
        for record in fresh:
            last[record.partition] = max(last.get(record.partition, -1), record.offset)
        if not last:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "consumer_group": self._group,
                "topic": self._topic,
                "partition": partition,
                "next_offset": offset + 1,
                "updated_at": now,
            }
            for partition, offset in sorted(last.items())
        ]
        stmt = insert(conn, consumer_positions)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["consumer_group", "topic", "partition"],
                set_={
                    "next_offset": stmt.excluded.next_offset,
                    "updated_at": stmt.excluded.updated_at,
                },
            ),
            rows,
        )


def _decode(records: Sequence[LogRecord]) -> tuple[list[tuple[LogRecord, Event]], int]:
    decoded: list[tuple[LogRecord, Event]] = []
    seen: set[object] = set()
    rejected = 0
    for record in records:
        try:
            event = parse_recorded(upcast_value(record.value, version_of(record.headers)))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            rejected += 1
            log.error(
                "skipping undecodable record at partition %d offset %d: %s",
                record.partition,
                record.offset,
                exc,
            )
            continue
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        decoded.append((record, event))
    return decoded, rejected


async def _archive(conn: AsyncConnection, decoded: list[tuple[LogRecord, Event]]) -> list[Event]:
    """Insert into the archive; return the events that were not there yet, in log order."""
    if not decoded:
        return []
    rows = []
    for record, event in decoded:
        occurrence = event.occurrence
        rows.append(
            {
                "event_id": event.event_id,
                "talks_id": event.talks_id,
                "type": event.type,
                "occurred_at": occurrence.text,
                "occurred_earliest": occurrence.earliest,
                "occurred_latest": occurrence.latest,
                "recorded_at": event.recorded_at,
                "partition": record.partition,
                "offset": record.offset,
                "payload": event.model_dump(mode="json", exclude_none=True),
                "target_event_id": None if event.type not in REPORT_TYPES else subject_of(event),
            }
        )
    stmt = insert(conn, events).on_conflict_do_nothing(index_elements=["event_id"])
    result = await conn.execute(stmt.returning(events.c.event_id), rows)
    inserted = set(result.scalars())
    return [event for _, event in decoded if event.event_id in inserted]


async def _count_talks(conn: AsyncConnection, new_events: Sequence[Event]) -> None:
    if not new_events:
        return
    summary: dict[str, dict[str, Any]] = {}
    for event in new_events:
        row = summary.setdefault(
            event.talks_id,
            {
                "talks_id": event.talks_id,
                "event_count": 0,
                "first_recorded_at": event.recorded_at,
                "last_recorded_at": event.recorded_at,
            },
        )
        row["event_count"] += 1
        row["first_recorded_at"] = min(row["first_recorded_at"], event.recorded_at)
        row["last_recorded_at"] = max(row["last_recorded_at"], event.recorded_at)
    stmt = insert(conn, talks)
    least, greatest = least_greatest(conn)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["talks_id"],
            set_={
                "event_count": talks.c.event_count + stmt.excluded.event_count,
                "first_recorded_at": least(
                    talks.c.first_recorded_at, stmt.excluded.first_recorded_at
                ),
                "last_recorded_at": greatest(
                    talks.c.last_recorded_at, stmt.excluded.last_recorded_at
                ),
            },
        ),
        list(summary.values()),
    )
