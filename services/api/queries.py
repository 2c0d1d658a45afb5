"""Read-side queries over the projector's tables.

Every read selects the item versions whose two intervals contain ``(known_at, as_of)``; the
items are then assembled by the same function the pure fold uses.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.api.timeparams import Bitemporal
from services.projector.schema import events, item_versions, talks
from shared.state import (
    AgreementState,
    CeasefireState,
    EventItem,
    Item,
    ItemKey,
    Position,
    RoundState,
    StrikeState,
    TalksState,
    assemble,
)

KIND_MODELS: dict[str, type[Item]] = {
    "round": RoundState,
    "position": Position,
    "ceasefire": CeasefireState,
    "strike": StrikeState,
    "agreement": AgreementState,
    "event": EventItem,
}


class TalksNotFound(LookupError):
    """No event of these talks has been recorded."""


class BadCursor(ValueError):
    """A paging cursor this API did not hand out."""


HALF_OPEN: sa.ColumnElement[str] = sa.literal_column("'[)'")


def visible(conn: AsyncConnection, when: Bitemporal) -> sa.ColumnElement[bool]:
    """Versions believed at ``known_at`` and in effect at ``as_of``.

    On PostgreSQL this is containment in two ranges, which the GiST index answers.
    """
    v = item_versions.c
    if conn.dialect.name == "postgresql":
        valid = sa.func.tstzrange(v.valid_from, v.valid_to, HALF_OPEN)
        known = sa.func.tstzrange(v.known_from, v.known_to, HALF_OPEN)
        return sa.and_(valid.op("@>")(when.as_of), known.op("@>")(when.known_at))
    return sa.and_(
        v.known_from <= when.known_at,
        sa.or_(v.known_to.is_(None), v.known_to > when.known_at),
        v.valid_from <= when.as_of,
        sa.or_(v.valid_to.is_(None), v.valid_to > when.as_of),
    )


def has_tag(conn: AsyncConnection, tag: str) -> sa.ColumnElement[bool]:
    if conn.dialect.name == "sqlite":
        each = sa.func.json_each(item_versions.c.tags).table_valued("value")
        return sa.exists().where(each.c.value == tag)  # one bound parameter per tag
    return sa.type_coerce(item_versions.c.tags, JSONB).contains([tag])


async def list_talks(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(talks).order_by(talks.c.last_recorded_at.desc()))
        return [dict(row._mapping) for row in rows]


async def require_talks(conn: AsyncConnection, talks_id: str) -> None:
    found = await conn.scalar(sa.select(talks.c.talks_id).where(talks.c.talks_id == talks_id))
    if found is None:
        raise TalksNotFound(talks_id)


async def keyed_items(
    conn: AsyncConnection, talks_id: str, when: Bitemporal, kinds: Sequence[str], *where: Any
) -> dict[ItemKey, Item]:
    """The items of the talks visible at ``when``, by kind and key."""
    v = item_versions.c
    rows = await conn.execute(
        sa.select(v.kind, v.item_key, v.body).where(
            v.talks_id == talks_id, v.kind.in_(kinds), visible(conn, when), *where
        )
    )
    return {ItemKey(r.kind, r.item_key): KIND_MODELS[r.kind].model_validate(r.body) for r in rows}


async def _items(
    conn: AsyncConnection, talks_id: str, when: Bitemporal, kinds: Sequence[str], *where: Any
) -> list[Item]:
    return list((await keyed_items(conn, talks_id, when, kinds, *where)).values())


def _event_count(talks_id: str, when: Bitemporal) -> sa.Select[Any]:
    """How many event items are visible: the covering B-tree on ``valid_from`` answers it."""
    v = item_versions.c
    return sa.select(sa.func.count()).where(
        v.talks_id == talks_id,
        v.kind == "event",
        v.valid_from <= when.as_of,
        sa.or_(v.valid_to.is_(None), v.valid_to > when.as_of),
        v.known_from <= when.known_at,
        sa.or_(v.known_to.is_(None), v.known_to > when.known_at),
    )


async def talks_state(
    engine: AsyncEngine, talks_id: str, when: Bitemporal, window_days: int
) -> TalksState:
    """The state of the talks as of ``when.as_of``, as known at ``when.known_at``.

    One round trip: the items (strikes only within the window) and the event count together.
    """
    window_start = when.as_of - timedelta(days=window_days)
    v = item_versions.c
    kinds = [kind for kind in KIND_MODELS if kind not in ("event", "strike")]
    async with engine.connect() as conn:
        mine = sa.and_(v.talks_id == talks_id, visible(conn, when))
        count = _event_count(talks_id, when).scalar_subquery()
        query = sa.union_all(
            sa.select(v.kind, v.body).where(mine, v.kind.in_(kinds)),
            sa.select(v.kind, v.body).where(mine, v.kind == "strike", v.valid_from > window_start),
            sa.select(sa.literal("count"), sa.type_coerce(sa.func.json_array(count), v.body.type))
            if conn.dialect.name == "sqlite"
            else sa.select(
                sa.literal("count"), sa.type_coerce(sa.func.to_jsonb(count), v.body.type)
            ),
        )
        items: list[Item] = []
        event_count = 0
        for kind, body in await conn.execute(query):
            if kind == "count":
                event_count = body[0] if isinstance(body, list) else body
            else:
                items.append(KIND_MODELS[kind].model_validate(body))
        if not items and not event_count:
            await require_talks(conn, talks_id)
    return assemble(talks_id, items, when.as_of, when.known_at, window_days, event_count)


async def kind_items(
    engine: AsyncEngine, talks_id: str, when: Bitemporal, kind: str, tags: Sequence[str] = ()
) -> list[Item]:
    async with engine.connect() as conn:
        await require_talks(conn, talks_id)
        return await _items(conn, talks_id, when, [kind], *(has_tag(conn, t) for t in tags))


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert isinstance(values, list) and len(values) == size
        return values
    except Exception:
        raise BadCursor("cursor is not one this API handed out; start again without it") from None


async def strikes_page(
    engine: AsyncEngine,
    when: Bitemporal,
    *,
    talks_id: str | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    tags: Sequence[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[StrikeState], str | None]:
    """Strikes newest first, filtered; keyset-paged by (valid_from, item_key)."""
    v = item_versions.c
    async with engine.connect() as conn:
        query = sa.select(v.valid_from, v.item_key, v.body).where(
            v.kind == "strike", visible(conn, when)
        )
        if talks_id:
            query = query.where(v.talks_id == talks_id)
        if occurred_from:
            query = query.where(v.valid_from >= occurred_from)
        if occurred_to:
            query = query.where(v.valid_from <= occurred_to)
        for tag in tags:
            query = query.where(has_tag(conn, tag))
        if cursor:
            after, key = decode_cursor(cursor, 2)
            query = query.where(
                sa.tuple_(v.valid_from, v.item_key) < (datetime.fromisoformat(after), key)
            )
        rows = (
            await conn.execute(
                query.order_by(v.valid_from.desc(), v.item_key.desc()).limit(limit + 1)
            )
        ).all()
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1].valid_from, page[-1].item_key) if len(rows) > limit else None
    )
    return [StrikeState.model_validate(r.body) for r in page], next_cursor


async def events_page(
    engine: AsyncEngine,
    when: Bitemporal,
    *,
    talks_id: str | None,
    type_: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The archive in recording order: recorded by ``known_at``, occurred by ``as_of``."""
    e = events.c
    query = sa.select(e.recorded_at, e.event_id, e.partition, e.offset, e.payload).where(
        e.recorded_at <= when.known_at, e.occurred_latest <= when.as_of
    )
    if talks_id:
        query = query.where(e.talks_id == talks_id)
    if type_:
        query = query.where(e.type == type_)
    if cursor:
        after, event_id = decode_cursor(cursor, 2)
        position = (datetime.fromisoformat(after), uuid.UUID(event_id))
        query = query.where(sa.tuple_(e.recorded_at, e.event_id) > position)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(query.order_by(e.recorded_at, e.event_id).limit(limit + 1))
        ).all()
    page = rows[:limit]
    items = [{**r.payload, "partition": r.partition, "offset": r.offset} for r in page]
    next_cursor = (
        encode_cursor(page[-1].recorded_at, str(page[-1].event_id)) if len(rows) > limit else None
    )
    return items, next_cursor
