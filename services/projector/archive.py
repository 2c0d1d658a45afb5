"""Writing new events: the archive (each event once) and the per-talks counts."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from operator import itemgetter
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.dialect import copy_records, insert, least_greatest, one_of
from services.projector.tables import Tables
from services.projector.triage import Apply
from shared.events import REPORT_TYPES, Event, subject_of, to_json


def payload_text(event: Event, prepared: Mapping[UUID, tuple[Event, str]]) -> str:
    """The archived JSON of ``event``: as prepared ahead for this very object, or made now."""
    ready = prepared.get(event.event_id) if event.event_id is not None else None
    return ready[1] if ready is not None and ready[0] is event else to_json(event).decode()


async def archive(
    conn: AsyncConnection,
    steps: Sequence[Apply],
    tables: Tables,
    prepared: Mapping[UUID, tuple[Event, str]] | None = None,
    archived: Collection[UUID] | None = None,
) -> list[Event]:
    """Insert into the archive; return the events that were not there yet, in log order.

    ``prepared`` holds payloads serialised ahead (``payload_text``), by event id;
    ``archived``, when given, the ids among the steps' that are archived already."""
    if not steps:
        return []
    copying = conn.dialect.name != "sqlite"  # COPY takes the JSON as text
    texts = prepared or {}
    rows = []
    for step in steps:
        record, event = step.record, step.event
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
                "payload": payload_text(event, texts)
                if copying
                else event.model_dump(mode="json", exclude_none=True),
                "target_event_id": None if event.type not in REPORT_TYPES else subject_of(event),
            }
        )
    events = tables.events
    if not copying:
        stmt = insert(conn, events).on_conflict_do_nothing(index_elements=["event_id"])
        result = await conn.execute(stmt.returning(events.c.event_id), rows)
        inserted = set(result.scalars())
        return [step.event for step in steps if step.event.event_id in inserted]
    # PostgreSQL: COPY the events not archived yet. The positions of their partition are
    # locked, so no other projector adds them meanwhile; if one did (the same event id on
    # another partition), COPY fails, the batch is retried and finds it archived.
    if archived is None:
        ids = [row["event_id"] for row in rows]
        found = await conn.execute(
            sa.select(events.c.event_id).where(one_of(conn, events.c.event_id, ids))
        )
        archived = set(found.scalars())
    new = [row for row in rows if row["event_id"] not in archived]
    if new:
        columns = list(new[0])
        records = list(map(itemgetter(*columns), new))
        await copy_records(conn, events.name, columns, records)
    inserted = {row["event_id"] for row in new}
    return [step.event for step in steps if step.event.event_id in inserted]


async def count_talks(conn: AsyncConnection, new_events: Sequence[Event], tables: Tables) -> None:
    """Add the new events to their talks' count and first and last recording times."""
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
    talks = tables.talks
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
