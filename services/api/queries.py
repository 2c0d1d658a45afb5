"""Read-side queries over the projector's tables.

Every read selects the item versions whose two intervals contain ``(known_at, as_of)``; the
items are then assembled by the same function the pure fold uses.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.api.engine import read_retrying
from services.api.responses import state_document
from services.api.timeparams import Bitemporal
from services.projector.schema import (
    COUNTED,
    COVERED,
    ITEMS,
    LONG,
    RECTANGLES,
    SPAN_WINDOWS,
    SPANS,
    event_counts,
    events,
    item_versions,
    month_of,
    span_class_sql,
    talks,
)
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


def visible(when: Bitemporal) -> sa.ColumnElement[bool]:
    """Versions believed at ``known_at`` and in effect at ``as_of``.

    Written as comparisons, so that the B-tree on ``(talks_id, kind, valid_from)`` bounds the
    scan and its included columns filter the rest (migration 0010).
    """
    v = item_versions.c
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
        sa.select(v.kind, v.item_key, v.doc).where(
            v.talks_id == talks_id, v.kind.in_(kinds), visible(when), *where
        )
    )
    return {
        ItemKey(r.kind, r.item_key): KIND_MODELS[r.kind].model_validate_json(r.doc) for r in rows
    }


async def _items(
    conn: AsyncConnection, talks_id: str, when: Bitemporal, kinds: Sequence[str], *where: Any
) -> list[Item]:
    return list((await keyed_items(conn, talks_id, when, kinds, *where)).values())


def visible_shapes(as_of: Any, known_at: Any) -> list[sa.ColumnElement[bool]]:
    """:func:`visible` as three disjoint conditions, one per shape of rectangle.

    A version is open in both dimensions, closed in effect only, or closed in belief; each
    shape has partial B-trees (0008 on SQLite, 0009 on PostgreSQL) whose leading column bounds
    the scan: ``valid_from`` for the open ones, ``valid_to`` and ``known_to`` for the closed
    ones, so a read near the present touches little more than the versions it returns.
    """
    v = item_versions.c
    a, k = as_of, known_at
    return [
        sa.and_(v.known_to.is_(None), v.valid_to.is_(None), v.valid_from <= a, v.known_from <= k),
        sa.and_(
            v.known_to.is_(None),
            v.valid_to.is_not(None),
            v.valid_to > a,
            v.valid_from <= a,
            v.known_from <= k,
        ),
        sa.and_(
            v.known_to.is_not(None),
            v.known_to > k,
            v.known_from <= k,
            v.valid_from <= a,
            sa.or_(v.valid_to.is_(None), v.valid_to > a),
        ),
    ]


_OTHERS = ["round", "position", "ceasefire", "agreement"]
_KINDS = [*_OTHERS, "strike"]


def _parameters() -> tuple[Any, Any, Any, Any]:
    v = item_versions.c
    # (valued None only so that the statement compiles ahead of any request: see _Prepared)
    return (
        sa.bindparam("talks_id", None, type_=v.talks_id.type),
        sa.bindparam("as_of", None, type_=v.valid_from.type),
        sa.bindparam("known_at", None, type_=v.known_from.type),
        sa.bindparam("window_start", None, type_=v.valid_from.type),
    )


def _state_parameters(talks_id: str, when: Bitemporal, window_days: int) -> dict[str, Any]:
    """The values of the state statements' parameters (``_parameters``, ``_event_count``)."""
    return {
        "talks_id": talks_id,
        "as_of": when.as_of,
        "known_at": when.known_at,
        "window_start": when.as_of - timedelta(days=window_days),
        "as_of_month": month_of(when.as_of),
        "known_at_month": month_of(when.known_at),
    }


def _event_count(
    talks_id: Any, as_of: Any, known_at: Any, counted: Any, closed: Sequence[Any]
) -> Any:
    """How many events are visible at ``(as_of, known_at)``: their versions open in both
    dimensions (``counted``, a condition) from ``event_counts`` and the two months around
    the point, plus the versions of each shape in ``closed`` (conditions), counted.

    A counted version visible there began in effect by ``as_of`` and became known by
    ``known_at``. Those of earlier months in both dimensions are the grid's cells; the rest
    began in ``as_of``'s month (by ``as_of``, known by ``known_at``), or earlier in effect
    but became known in ``known_at``'s month (by ``known_at``). Each range leads an index
    (``ix_item_versions_from``, ``ix_item_versions_counted_known``).
    """
    v, c = item_versions.c, event_counts.c
    as_of_month = sa.bindparam("as_of_month", None, type_=c.valid_month.type)
    known_at_month = sa.bindparam("known_at_month", None, type_=c.known_month.type)

    def count(*where: Any) -> Any:
        return sa.select(sa.func.count()).where(v.talks_id == talks_id, *where).scalar_subquery()

    cells = (
        sa.select(sa.func.coalesce(sa.func.sum(c.versions), 0))
        .where(c.talks_id == talks_id, c.valid_month < as_of_month, c.known_month < known_at_month)
        .scalar_subquery()
    )
    parts = [
        cells,
        count(
            counted, v.valid_from >= as_of_month, v.valid_from <= as_of, v.known_from <= known_at
        ),
        count(
            counted,
            v.known_from >= known_at_month,
            v.known_from <= known_at,
            v.valid_from < as_of_month,
        ),
        *(count(shape) for shape in closed),
    ]
    return sum(parts[1:], parts[0])


def _served() -> list[Any]:
    v = item_versions.c
    return [v.kind, v.item_key, v.doc, v.sort_first, v.sort_second]


def _state_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The portable state read (SQLite), with the bound parameters of
    ``_state_parameters``: each visible item's kind, key, stored JSON and the fields the state
    is sorted by, with the count of visible events on every row (assembled by
    ``responses.state_document``); and the count alone, for when no item is visible.

    One scan of one table over the partial indexes of 0008, the count (``_event_count``) as
    subqueries.
    """
    v = item_versions.c
    talks_id, as_of, known_at, window_start = _parameters()
    shapes = visible_shapes(as_of, known_at)
    closed = [sa.and_(v.kind == "event", shape) for shape in shapes[1:]]
    event_count = _event_count(talks_id, as_of, known_at, _literal(COUNTED), closed)
    visible_items = sa.select(*_served()).where(
        v.talks_id == talks_id,
        sa.or_(
            sa.and_(v.kind.in_(_OTHERS), shapes[0]),
            # the window bounds the scan of the strikes open in both dimensions
            sa.and_(v.kind == "strike", v.valid_from > window_start, shapes[0]),
            *(sa.and_(v.kind.in_(_KINDS), shape) for shape in shapes[1:]),
        ),
    )
    return visible_items.add_columns(event_count.label("event_count")), sa.select(event_count)


def _literal(sql: str) -> sa.ColumnElement[bool]:
    """A condition written as the partial indexes' predicates are, so the planner matches
    them even in a generic plan (a bound ``kind`` would not prove ``kind <> 'event'``)."""
    return sa.literal_column(sql, sa.Boolean())


def _by_span(shape: str, instant: Any) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """The classes of a closed shape's spans (``SPANS``, 0014) to join, and the condition that
    bounds, per class, the scan of its index to the ends of spans that can hold ``instant``:
    within the class's window after it (any end, for the last class). The shape's own
    condition gives the other bound, an end after ``instant``."""
    start, end, _ = SPANS[shape]
    classes = sa.values(
        sa.column("span_class", sa.Integer()),
        sa.column("window_seconds", sa.BigInteger()),
        name=f"{shape}_spans",
        literal_binds=True,
    ).data(list(enumerate(SPAN_WINDOWS)))
    latest = sa.func.coalesce(
        instant + classes.c.window_seconds * sa.literal_column("interval '1 second'"),
        sa.literal_column("'infinity'::timestamptz"),
    )
    in_class = sa.literal_column(span_class_sql(start, end)) == classes.c.span_class
    return classes, sa.and_(in_class, item_versions.c[end] <= latest)


def _covering_state_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """:func:`_state_queries` on PostgreSQL, where every part is an index-only scan (0009).

    A UNION ALL of one branch per shape of rectangle over the covering indexes, which hold
    all the read returns, plus one over the few versions whose JSON is too long for them;
    the event count (``_event_count``) is index-only counts over the narrow event indexes
    and a sum of ``event_counts``' cells.
    Index-only scans need one index per branch, which a single scan's BitmapOr (0008)
    cannot give: a bitmap always visits the heap.
    """
    v = item_versions.c
    talks_id, as_of, known_at, window_start = _parameters()
    shapes = visible_shapes(as_of, known_at)
    # one pass over the index for the closed-in-belief shape: its OR made two bitmap scans
    shapes[2] = sa.and_(
        v.known_to.is_not(None),
        v.known_to > known_at,
        v.known_from <= known_at,
        v.valid_from <= as_of,
        sa.func.coalesce(v.valid_to, sa.literal_column("'infinity'::timestamptz")) > as_of,
    )
    where = {name: _literal(sql) for name, (_, sql) in RECTANGLES.items()}
    items, covered, long = _literal(ITEMS), _literal(COVERED), _literal(LONG)
    events = _literal("kind = 'event'")
    closed = [
        sa.and_(events, where[name], shapes[i]) for i, name in ((1, "vclosed"), (2, "kclosed"))
    ]
    event_count = _event_count(talks_id, as_of, known_at, _literal(COUNTED), closed)
    served = _served()
    # the kinds as constants too: a generic plan does not use a bound list as an index bound
    others = _literal("kind IN ({})".format(", ".join(f"'{k}'" for k in _OTHERS)))
    branches = [
        sa.select(*served).where(
            v.talks_id == talks_id, where["open"], items, covered, others, shapes[0]
        ),
        # the window bounds the scan of the strikes open in both dimensions
        sa.select(*served).where(
            v.talks_id == talks_id,
            where["open"],
            items,
            covered,
            _literal("kind = 'strike'"),
            v.valid_from > window_start,
            shapes[0],
        ),
        # the closed shapes hold only items (their indexes' predicate): every kind is wanted,
        # class by class of their spans
        *(
            sa.select(*served)
            .select_from(classes.join(item_versions, bounded))
            .where(v.talks_id == talks_id, where[name], items, covered, shape)
            for name, shape, (classes, bounded) in (
                ("vclosed", shapes[1], _by_span("vclosed", as_of)),
                ("kclosed", shapes[2], _by_span("kclosed", known_at)),
            )
        ),
        sa.select(*served).where(v.talks_id == talks_id, items, long, sa.or_(*shapes)),
    ]
    visible_items = sa.union_all(*branches).subquery("visible")
    return (
        sa.select(*visible_items.c, event_count.label("event_count")),
        sa.select(event_count),
    )


STATE_QUERY, EVENT_COUNT_QUERY = _state_queries()
COVERING_STATE_QUERY, COVERING_EVENT_COUNT_QUERY = _covering_state_queries()


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once for a dialect, to run on the driver's own connection.

    The state read's rows are few and its time is short, so SQLAlchemy's per-execution work
    (parameter processing, result rows) is a good part of it; on PostgreSQL the statement goes
    to asyncpg directly, which prepares it once per connection.
    """

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]
    processors: dict[str, Any]

    @classmethod
    def of(cls, statement: sa.Select[Any], dialect: sa.Dialect) -> _Prepared:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        assert compiled.positiontup is not None
        processors = dict(getattr(compiled, "_bind_processors", {}))
        return cls(compiled.string, tuple(compiled.positiontup), compiled.params, processors)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = [params.get(name, self.constants.get(name)) for name in self.names]
        return [
            self.processors[name](value) if name in self.processors else value
            for name, value in zip(self.names, values, strict=True)
        ]


_PREPARED: dict[int, _Prepared] = {}  # by id() of the module's statements


async def _fetch(
    conn: AsyncConnection, statement: sa.Select[Any], params: dict[str, Any]
) -> list[Sequence[Any]]:
    """Rows of a state statement: on asyncpg through the driver itself, outside a transaction
    (one statement reads one snapshot); elsewhere (SQLite) through SQLAlchemy."""
    if conn.dialect.driver != "asyncpg":
        return list((await conn.execute(statement, params)).all())
    prepared = _PREPARED.get(id(statement))
    if prepared is None:
        prepared = _PREPARED[id(statement)] = _Prepared.of(statement, conn.dialect)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return list(await driver.fetch(prepared.sql, *prepared.arguments(params)))


async def talks_state_json(
    engine: AsyncEngine, talks_id: str, when: Bitemporal, window_days: int
) -> bytes:
    """The state of the talks as of ``when.as_of``, as known at ``when.known_at``: the JSON of
    :class:`TalksState`, assembled from the items' stored JSON without parsing them.

    One round trip (two when no item is visible); on PostgreSQL every part of it is an
    index-only scan (see ``_covering_state_queries``).
    """
    params = _state_parameters(talks_id, when, window_days)

    async def read(conn: AsyncConnection) -> tuple[list[Sequence[Any]], int]:
        postgresql = conn.dialect.name == "postgresql"
        state, count = (
            (COVERING_STATE_QUERY, COVERING_EVENT_COUNT_QUERY)
            if postgresql
            else (STATE_QUERY, EVENT_COUNT_QUERY)
        )
        rows = await _fetch(conn, state, params)
        if rows:
            return rows, rows[0][-1]
        event_count = (await _fetch(conn, count, params))[0][0] or 0
        if not event_count:
            await require_talks(conn, talks_id)
        return rows, event_count

    rows, event_count = await read_retrying(engine, read)
    items = [row[:-1] for row in rows]
    return state_document(talks_id, when.as_of, when.known_at, window_days, items, event_count)


async def talks_state(
    engine: AsyncEngine, talks_id: str, when: Bitemporal, window_days: int
) -> TalksState:
    """:func:`talks_state_json` as a value (for callers that compare it with the fold)."""
    return TalksState.model_validate_json(
        await talks_state_json(engine, talks_id, when, window_days)
    )


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
        query = sa.select(v.valid_from, v.item_key, v.doc).where(v.kind == "strike", visible(when))
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
    return [StrikeState.model_validate_json(r.doc) for r in page], next_cursor


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
