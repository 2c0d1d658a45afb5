"""Keeping the item read models: which items a batch touches, and their rebuilt histories.

For every new event the projector finds its *family* (the substantive event and every report
about it), records which items the family's event was ever about, and recomputes the full
history of each touched item with :func:`shared.state.item_history`. Items are small (a
round has a handful of events), so a whole history is cheap to recompute and can never
drift from the fold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.dialect import insert
from services.projector.schema import sort_fields
from services.projector.tables import LIVE, Tables
from shared.events import Event, parse_recorded, subject_of
from shared.state import Item, ItemKey, Position, StrikeState, family_keys, item_history

TalksItem = tuple[str, ItemKey]


def tags_of(item: Item) -> list[str]:
    """Filterable facets of an item, e.g. ``weapon_type:cruise_missile``."""
    if isinstance(item, StrikeState):
        tags = [f"attacking_party:{item.attacking_party}"]
        tags += [f"target_party:{item.target_party}"] if item.target_party else []
        tags += [f"target_type:{t}" for t in item.target_types]
        return tags + [f"weapon_type:{w}" for w in item.weapon_types]
    if isinstance(item, Position):
        return [f"party:{item.party}", f"issue:{item.issue}"]
    return []


async def _families(
    conn: AsyncConnection, ids: Iterable[UUID], tables: Tables
) -> dict[UUID, list[Event]]:
    """For each substantive event id: the event (if archived) and every report about it."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    events = tables.events
    rows = await conn.execute(
        sa.select(events.c.event_id, events.c.target_event_id, events.c.payload).where(
            sa.or_(events.c.event_id.in_(wanted), events.c.target_event_id.in_(wanted))
        )
    )
    families: dict[UUID, list[Event]] = defaultdict(list)
    for row in rows:
        families[row.target_event_id or row.event_id].append(parse_recorded(row.payload))
    return families


async def index_items(
    conn: AsyncConnection, new_events: Sequence[Event], tables: Tables = LIVE
) -> set[TalksItem]:
    """Record which items the new events' families are about; return every touched item."""
    subjects = {subject_of(e) for e in new_events}
    families = await _families(conn, subjects, tables)
    item_events = tables.item_events
    rows: list[dict[str, Any]] = []
    for subject, family in families.items():
        talks_id = next((e.talks_id for e in family if e.event_id == subject), None)
        rows += [
            {"talks_id": talks_id, "kind": k.kind, "item_key": k.key, "event_id": subject}
            for k in family_keys(subject, family)  # empty until the reported event arrives
        ]
    if rows:
        stmt = insert(conn, item_events).on_conflict_do_nothing()
        await conn.execute(stmt, rows)
    touched = await conn.execute(
        sa.select(item_events.c.talks_id, item_events.c.kind, item_events.c.item_key).where(
            item_events.c.event_id.in_(sorted(subjects))
        )
    )
    return {(row.talks_id, ItemKey(row.kind, row.item_key)) for row in touched}


async def rebuild_items(
    conn: AsyncConnection, touched: set[TalksItem], tables: Tables = LIVE
) -> int:
    """Recompute the history of every touched item; return the number of versions written."""
    if not touched:
        return 0
    item_events, item_versions = tables.item_events, tables.item_versions
    keys = sorted((talks_id, key.kind, key.key) for talks_id, key in touched)
    members = await conn.execute(
        sa.select(
            item_events.c.talks_id,
            item_events.c.kind,
            item_events.c.item_key,
            item_events.c.event_id,
        ).where(
            sa.tuple_(item_events.c.talks_id, item_events.c.kind, item_events.c.item_key).in_(keys)
        )
    )
    by_item: dict[TalksItem, set[UUID]] = defaultdict(set)
    for row in members:
        by_item[(row.talks_id, ItemKey(row.kind, row.item_key))].add(row.event_id)
    families = await _families(conn, {i for ids in by_item.values() for i in ids}, tables)
    await conn.execute(
        sa.delete(item_versions).where(
            sa.tuple_(item_versions.c.talks_id, item_versions.c.kind, item_versions.c.item_key).in_(
                keys
            )
        )
    )
    rows: list[dict[str, Any]] = []
    for (talks_id, key), ids in by_item.items():
        history = item_history(key, [e for i in ids for e in families.get(i, [])])
        for v in history:
            body = v.value.model_dump(mode="json")
            first, second = sort_fields(key.kind, body)
            rows.append(
                {
                    "talks_id": talks_id,
                    "kind": key.kind,
                    "item_key": key.key,
                    "known_from": v.known_from,
                    "known_to": v.known_to,
                    "valid_from": v.valid_from,
                    "valid_to": v.valid_to,
                    "tags": tags_of(v.value),
                    "body": body,
                    "doc": v.value.model_dump_json(),
                    "sort_first": first,
                    "sort_second": second,
                }
            )
    if rows:
        await conn.execute(sa.insert(item_versions), rows)
    return len(rows)
