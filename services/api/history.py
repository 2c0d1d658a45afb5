"""Reads across time: what changed between two views, the timeline, an event's provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.queries import keyed_items, require_talks
from services.api.timeparams import Bitemporal
from services.projector.schema import events, item_versions
from shared.events import REPORT_TYPES
from shared.state import Change, EventItem, TimelineEntry, diff, timeline

DIFFED = ["round", "position", "ceasefire", "strike", "agreement"]


class EventNotFound(LookupError):
    """No event with this id has been recorded (or projected yet)."""


async def changes_between(
    engine: AsyncEngine, talks_id: str, before: Bitemporal, after: Bitemporal
) -> list[Change]:
    """What differs between the talks as seen at ``before`` and as seen at ``after``."""
    async with engine.connect() as conn:
        await require_talks(conn, talks_id)
        old = await keyed_items(conn, talks_id, before, DIFFED)
        new = await keyed_items(conn, talks_id, after, DIFFED)
    return diff(old, new)


async def reports_recorded(
    engine: AsyncEngine, talks_id: str, after: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Corrections, retractions and added sources recorded in ``(after, until]``."""
    e = events.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(e.payload)
            .where(e.talks_id == talks_id, e.type.in_(sorted(REPORT_TYPES)))
            .where(e.recorded_at > after, e.recorded_at <= until)
            .order_by(e.recorded_at, e.event_id)
        )
        return [row.payload for row in rows]


async def timeline_entries(
    engine: AsyncEngine, talks_id: str, when: Bitemporal, start: datetime | None
) -> list[TimelineEntry]:
    """Events believed at ``known_at`` that occurred in ``[start, as_of]``, in time order."""
    v = item_versions.c
    async with engine.connect() as conn:
        await require_talks(conn, talks_id)
        where = [v.valid_from >= start] if start else []
        items = await keyed_items(conn, talks_id, when, ["event"], *where)
    believed = [i for i in items.values() if isinstance(i, EventItem)]
    return timeline(believed, start, when.as_of)


async def provenance(engine: AsyncEngine, event_id: UUID) -> dict[str, Any]:
    """The event as recorded, every report about it, and what is believed of it now."""
    e, v = events.c, item_versions.c
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(events).where(e.event_id == event_id))).one_or_none()
        if row is None:
            raise EventNotFound(str(event_id))
        subject = row.target_event_id or row.event_id
        reports = await conn.execute(
            sa.select(e.payload).where(e.target_event_id == subject).order_by(e.recorded_at)
        )
        doc = await conn.scalar(
            sa.select(v.doc).where(
                v.talks_id == row.talks_id,
                v.kind == "event",
                v.item_key == str(subject),
                v.known_to.is_(None),
            )
        )
    current = orjson.loads(doc) if doc is not None else None
    report_list = [r.payload for r in reports]
    return {
        "event_id": str(row.event_id),
        "subject_event_id": str(subject),
        "recorded": {**row.payload, "partition": row.partition, "offset": row.offset},
        "corrections": [r for r in report_list if r["type"] == "report.corrected"],
        "retraction": next((r for r in report_list if r["type"] == "report.retracted"), None),
        "sources_added": [r for r in report_list if r["type"] == "source.added"],
        "believed": current and current["event"],
        "believed_event_ids": current and current["event_ids"],
    }
