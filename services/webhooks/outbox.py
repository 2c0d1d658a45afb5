"""Turning consumed records into pending deliveries, atomically with the consumed positions.

For every record past the stored position and every subscription that wants it, one row goes
into ``webhook_deliveries`` in the same transaction that advances the position: a crash
leaves either both or neither, so no event is lost and none is queued twice. Reading the
subscriptions ``FOR KEY SHARE`` keeps a concurrent ``DELETE`` from slipping in between.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.dialect import insert
from services.projector.positions import lock_positions, read_positions, store_positions
from services.projector.schema import subscriptions, webhook_deliveries
from services.webhooks.deliveries import PENDING, LaneKey
from services.webhooks.filters import SubscriptionFilter, wanted

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """One record as the log delivered it, headers included."""

    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What routing needs from a record's value."""

    event_id: UUID
    talks_id: str
    type: str
    recorded_at: datetime


def facts_of(value: bytes) -> EventFacts:
    """Read the routing facts of a recorded event; ``ValueError`` if they are not there."""
    try:
        body = orjson.loads(value)
        return EventFacts(
            event_id=UUID(body["event_id"]),
            talks_id=str(body["talks_id"]),
            type=str(body["type"]),
            recorded_at=datetime.fromisoformat(body["recorded_at"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recorded event: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: UUID
    filter: SubscriptionFilter
    created_at: datetime


def delivery_rows(
    records: Sequence[TopicRecord], subscribers: Sequence[Subscriber], now: datetime
) -> list[dict[str, Any]]:
    """One pending row per (record, subscriber that wants it), in log order."""
    rows = []
    for record in records:
        try:
            facts = facts_of(record.value)
        except ValueError as exc:
            log.error("skipping record at %d/%d: %s", record.partition, record.offset, exc)
            continue
        headers = {name: value.decode(errors="replace") for name, value in record.headers}
        for sub in subscribers:
            if not wanted(
                sub.filter,
                sub.created_at,
                talks_id=facts.talks_id,
                event_type=facts.type,
                recorded_at=facts.recorded_at,
            ):
                continue
            rows.append(
                {
                    "subscription_id": sub.id,
                    "event_id": facts.event_id,
                    "talks_id": facts.talks_id,
                    "event_type": facts.type,
                    "partition": record.partition,
                    "offset": record.offset,
                    "body": record.value,
                    "headers": headers,
                    "status": PENDING,
                    "attempts": 0,
                    "failures": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
    return rows


class Outbox:
    """The pending deliveries of one consumer group, written with its positions."""

    def __init__(self, engine: AsyncEngine, consumer_group: str, topic: str) -> None:
        self._engine = engine
        self._group = consumer_group
        self._topic = topic

    async def positions(self) -> dict[int, int]:
        """The next offset to consume for every partition this group has recorded."""
        async with self._engine.connect() as conn:
            return await read_positions(conn, self._group, self._topic)

    async def record(self, records: Sequence[TopicRecord], now: datetime) -> set[LaneKey]:
        """Queue the deliveries of ``records`` and advance; return the lanes that got rows."""
        if not records:
            return set()
        s = subscriptions.c
        async with self._engine.begin() as conn:
            partitions = {r.partition for r in records}
            stored = await lock_positions(conn, self._group, self._topic, partitions)
            fresh = [r for r in records if r.offset >= stored.get(r.partition, 0)]
            found = await conn.execute(
                sa.select(s.id, s.filter, s.created_at)
                .where(s.topic == self._topic)
                .with_for_update(read=True, key_share=True)
            )
            subscribers = [
                Subscriber(row.id, SubscriptionFilter.model_validate(row.filter), row.created_at)
                for row in found
            ]
            rows = delivery_rows(fresh, subscribers, now)
            lanes: set[LaneKey] = set()
            if rows:
                d = webhook_deliveries.c
                stmt = insert(conn, webhook_deliveries).on_conflict_do_nothing(
                    index_elements=["subscription_id", "event_id"]
                )
                result = await conn.execute(stmt.returning(d.subscription_id, d.talks_id), rows)
                lanes = {(row.subscription_id, row.talks_id) for row in result}
            last: dict[int, int] = {}
            for record in fresh:
                last[record.partition] = max(last.get(record.partition, -1), record.offset)
            await store_positions(
                conn, self._group, self._topic, {p: o + 1 for p, o in last.items()}
            )
        return lanes
