"""The database tables: the event archive, the item read models and the consumed positions.

The projector owns these tables and their migrations; the API only reads them. Column types
are portable (``JSON``, ``Uuid``) so the same schema serves PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.interfaces import ExecutionContext

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")


class Timestamp(sa.TypeDecorator[datetime]):
    """An instant: ``timestamptz`` on PostgreSQL; on SQLite, which keeps no zone, stored in UTC
    (so that text order is time order) and read back as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or dialect.name != "sqlite":
            return value
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored as an instant: {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


#: Every event exactly once, with where the log put it.
events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("talks_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("occurred_at", sa.String(64), nullable=False),
    sa.Column("occurred_earliest", Timestamp, nullable=False),
    sa.Column("occurred_latest", Timestamp, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("partition", sa.Integer(), nullable=False),
    sa.Column("offset", sa.BigInteger(), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("target_event_id", sa.Uuid(), nullable=True),
    sa.Index("ix_events_talks_occurred", "talks_id", "occurred_earliest"),
    sa.Index("ix_events_target_event_id", "target_event_id"),
    sa.Index("ix_events_recorded", "recorded_at", "event_id"),
)

#: One row per talks that has any event.
talks = sa.Table(
    "talks",
    metadata,
    sa.Column("talks_id", sa.String(64), primary_key=True),
    sa.Column("event_count", sa.Integer(), nullable=False),
    sa.Column("first_recorded_at", Timestamp, nullable=False),
    sa.Column("last_recorded_at", Timestamp, nullable=False),
)

#: Which items each substantive event was ever about (under any of its corrections).
item_events = sa.Table(
    "item_events",
    metadata,
    sa.Column("talks_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("item_key", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Index("ix_item_events_event_id", "event_id"),
)

#: The shapes of a version's rectangle: its columns after ``(talks_id, kind)`` in the
#: shape's indexes, and the condition that selects it. (On PostgreSQL the closed shapes'
#: covering indexes of items are led by the class of their span instead: ``SPANS``.)
RECTANGLES = {
    "open": (["valid_from", "known_from"], "known_to IS NULL AND valid_to IS NULL"),
    "vclosed": (
        ["valid_to", "valid_from", "known_from"],
        "known_to IS NULL AND valid_to IS NOT NULL",
    ),
    "kclosed": (["known_to", "known_from", "valid_from", "valid_to"], "known_to IS NOT NULL"),
}
#: A B-tree entry must fit in a third of a page: the covering indexes hold the versions whose
#: served JSON is at most this long; the rest are read through the heap (0009).
COVERED_DOC_BYTES = 2000
ITEMS = "kind <> 'event'"
COVERED = f"octet_length(doc) <= {COVERED_DOC_BYTES}"
LONG = f"octet_length(doc) > {COVERED_DOC_BYTES}"
#: The versions ``event_counts`` counts: those of events, open in both dimensions (0013).
COUNTED = "known_to IS NULL AND valid_to IS NULL AND kind = 'event'"

#: The span classes of closed rectangles (0014). A closed version is visible at an instant when
#: the instant is in its span in that dimension. 0009 led the closed versions' covering
#: indexes by the span's end, so a scan at an early instant passed every version that ends
#: later, up to the talks' last. Here the class of the span's length leads, then its end:
#: class i holds the spans shorter than ``SPAN_BOUNDS[i]`` seconds (and as long as the bound
#: before; the last class, the longer ones), so a version of class i that holds the instant
#: ends less than ``SPAN_BOUNDS[i]`` seconds after it. The state read scans that window of
#: ends in each class: a few pages per class, and at the present, where little ends later,
#: about as few as 0009's.
SPAN_BOUNDS = tuple(4**p for p in range(4, 14))  # 256 s (4 min) .. 4^13 s (about 2 years)
#: Each class's window in seconds (``None``: unbounded).
SPAN_WINDOWS: tuple[int | None, ...] = (*SPAN_BOUNDS, None)


def span_class_sql(start: str, end: str) -> str:
    """The SQL of a span's class (PostgreSQL 14 or later, where ``EXTRACT`` gives an exact
    ``numeric``): how many of ``SPAN_BOUNDS`` the span reaches. Written as PostgreSQL prints
    it back, so that Alembic finds the index it declares to be the one it reflects."""
    bounds = ",".join(map(str, SPAN_BOUNDS))
    return f"width_bucket(EXTRACT(epoch FROM {end} - {start}), '{{{bounds}}}'::numeric[])"


#: Per closed shape (``RECTANGLES``): the span its class is of, and the columns the state read
#: filters on, which the index carries after the class and the span's end.
SPANS = {
    "vclosed": ("valid_from", "valid_to", ["valid_from", "known_from"]),
    "kclosed": ("known_from", "known_to", ["known_from", "valid_from", "valid_to"]),
}

#: The fields the state is sorted by, besides the key (``services.api.responses.state_document``).
SORT_FIELDS = {
    "round": ("planned_start", "opened_at"),
    "position": ("stance", None),
    "strike": ("occurred_latest", None),
    "agreement": ("reached_at", None),
}


def sort_fields(kind: str, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """``item_versions.sort_first`` and ``sort_second`` of an item: its sort fields as its JSON
    has them (what ``doc::jsonb->>field`` gives), kept beside ``doc`` for indexes to hold."""
    first, second = SORT_FIELDS.get(kind, (None, None))
    return (body.get(first) if first else None), (body.get(second) if second else None)


def _sort_default(index: int) -> Callable[[ExecutionContext], str | None]:
    """Derive a sort field from the row's ``kind`` and ``doc`` when an insert leaves it out."""

    def default(context: ExecutionContext) -> str | None:
        row = context.get_current_parameters()  # type: ignore[attr-defined]
        return sort_fields(row["kind"], orjson.loads(row["doc"]))[index]

    return default


_SERVED = ["item_key", "sort_first", "sort_second", "doc"]


def _covering_index(shape: str, columns: list[str], where: str) -> sa.Index:
    """The covering index of the items of a shape of rectangle (PostgreSQL): the open ones by
    kind and start; the closed ones by the class of their span and its end (``SPANS``)."""
    predicate = sa.text(f"{where} AND {ITEMS} AND {COVERED}")
    if shape == "open":
        keys: list[Any] = ["talks_id", "kind", *columns]
        carried = _SERVED
        name = f"ix_item_versions_items_{shape}"
    else:
        start, end, filtered = SPANS[shape]
        keys = ["talks_id", sa.text(span_class_sql(start, end)), end]
        carried = [*filtered, "kind", *_SERVED]
        name = f"ix_item_versions_items_{shape}_spans"
    return sa.Index(name, *keys, postgresql_include=carried, postgresql_where=predicate)


#: Every version of every state item: believed from ``known_from`` until ``known_to``, in
#: effect from ``valid_from`` until ``valid_to`` (``NULL``: still). See shared/state/history.py.
#: ``doc`` is the item as the API serves it (the model's JSON text, spliced into responses as
#: it is, and validated by the other reads; nullable only because 0008 added it);
#: ``sort_first`` and ``sort_second`` the fields the state is sorted by (``sort_fields``).
item_versions = sa.Table(
    "item_versions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("talks_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_key", sa.String(200), nullable=False),
    sa.Column("known_from", Timestamp, nullable=False),
    sa.Column("known_to", Timestamp, nullable=True),
    sa.Column("valid_from", Timestamp, nullable=False),
    sa.Column("valid_to", Timestamp, nullable=True),
    sa.Column("tags", Json, nullable=False),
    sa.Column("doc", sa.Text(), nullable=True),
    sa.Column("sort_first", sa.Text(), nullable=True, default=_sort_default(0)),
    sa.Column("sort_second", sa.Text(), nullable=True, default=_sort_default(1)),
    sa.Index("ix_item_versions_item", "talks_id", "kind", "item_key"),
    sa.Index(
        "ix_item_versions_from",
        "talks_id",
        "kind",
        "valid_from",
        postgresql_include=["known_from", "known_to", "valid_to"],
    ),
    # SQLite: one partial B-tree per shape of rectangle, which the state read unions (0008)
    *(
        sa.Index(
            f"ix_item_versions_{shape}",
            "talks_id",
            "kind",
            *columns,
            sqlite_where=sa.text(where),
        ).ddl_if(dialect="sqlite")
        for shape, columns, where in (
            ("open", *RECTANGLES["open"]),
            ("valid_closed", *RECTANGLES["vclosed"]),
            ("known_closed", *RECTANGLES["kclosed"]),
        )
    ),
    # PostgreSQL: per shape, a covering one over the items (0009; the closed ones led by the
    # class of their span, 0014) and a narrow one over the events the state counts (0009),
    # so that the state read is index-only
    *(
        index.ddl_if(dialect="postgresql")
        for shape, (columns, where) in RECTANGLES.items()
        for index in (
            _covering_index(shape, columns, where),
            *(
                # (the open events are counted through event_counts instead: 0013)
                []
                if shape == "open"
                else [
                    sa.Index(
                        f"ix_item_versions_events_{shape}",
                        "talks_id",
                        *columns,
                        postgresql_where=sa.text(f"{where} AND kind = 'event'"),
                    )
                ]
            ),
        )
    ),
    sa.Index(
        "ix_item_versions_items_long",
        "talks_id",
        "kind",
        postgresql_where=sa.text(f"{ITEMS} AND {LONG}"),
    ).ddl_if(dialect="postgresql"),
    # the counted versions by the time they became known, for the count's second strip (0013)
    sa.Index(
        "ix_item_versions_counted_known",
        "talks_id",
        "known_from",
        "valid_from",
        postgresql_where=sa.text(COUNTED),
        sqlite_where=sa.text(COUNTED),
    ),
)


def month_of(instant: datetime) -> datetime:
    """The first instant of ``instant``'s month, in UTC: the cells of ``event_counts``."""
    return instant.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def counted_cells(rows: Iterable[Mapping[Any, Any]]) -> Counter[tuple[str, datetime, datetime]]:
    """How many of these ``item_versions`` rows (mappings by column) ``event_counts`` counts,
    per cell: ``(talks_id, valid_month, known_month)``."""
    return Counter(
        (row["talks_id"], month_of(row["valid_from"]), month_of(row["known_from"]))
        for row in rows
        if row["kind"] == "event" and row["known_to"] is None and row["valid_to"] is None
    )


def month_sql(column: str, dialect: str) -> str:
    """:func:`month_of` in SQL, over a ``Timestamp`` column."""
    if dialect == "postgresql":
        return f"date_trunc('month', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    # SQLite holds an instant as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (Timestamp)
    return f"substr({column}, 1, 7) || '-01 00:00:00.000000'"


#: How many counted versions (``COUNTED``: an event's, open in both dimensions) each talks has
#: per month of ``valid_from`` and month of ``known_from``, kept by the projector in the
#: transaction that writes the versions (0013). The state's event count adds up the cells
#: wholly before ``(as_of, known_at)`` and counts only the versions of the two months that
#: hold them (``services/api/queries.py``), instead of every visible event.
event_counts = sa.Table(
    "event_counts",
    metadata,
    sa.Column("talks_id", sa.String(64), primary_key=True),
    sa.Column("valid_month", Timestamp, primary_key=True),
    sa.Column("known_month", Timestamp, primary_key=True),
    sa.Column("versions", sa.BigInteger(), nullable=False),
)

#: The next offset to consume per partition, written in the same transaction as the models.
consumer_positions = sa.Table(
    "consumer_positions",
    metadata,
    sa.Column("consumer_group", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(249), primary_key=True),
    sa.Column("partition", sa.Integer(), primary_key=True),
    sa.Column("next_offset", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: Push subscriptions (webhooks): which events of ``topic`` to POST to ``url``, signed with
#: ``secret``. ``status`` is ``active`` or ``paused`` (after too many failures in a row).
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("topic", sa.String(249), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("filter", Json, nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("consecutive_failures", sa.Integer(), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("paused_at", Timestamp, nullable=True),
    sa.Index("ix_subscriptions_topic", "topic", "created_at"),
)

#: The webhook outbox and delivery log: one row per (subscription, event), written by the
#: worker's consumer with its positions; ``pending`` until ``delivered`` (or ``failed`` while
#: the subscription is paused). Rows of one talks are delivered in (partition, offset) order.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column(
        "subscription_id",
        sa.Uuid(),
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.Column("talks_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("partition", sa.Integer(), nullable=False),
    sa.Column("offset", sa.BigInteger(), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("headers", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_status_code", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("last_attempt_at", Timestamp, nullable=True),
    sa.Column("delivered_at", Timestamp, nullable=True),
    sa.Column("leased_until", Timestamp, nullable=True),  # a worker is sending it until then
    sa.UniqueConstraint("subscription_id", "event_id"),
    sa.Index("ix_webhook_deliveries_log", "subscription_id", "id"),
    sa.Index(
        "ix_webhook_deliveries_undelivered",
        "subscription_id",
        "talks_id",
        "partition",
        "offset",
        postgresql_where=sa.text("status <> 'delivered'"),
        sqlite_where=sa.text("status <> 'delivered'"),
    ),
)

#: What the ingest acknowledged, by event id, forever (services/ingest/receipts.py).
ingest_receipts = sa.Table(
    "ingest_receipts",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("claimed_at", Timestamp, nullable=False),
    sa.Column("partition", sa.Integer(), nullable=True),
    sa.Column("offset", sa.BigInteger(), nullable=True),
    # room on each page for a row's one update (its partition and offset), made heap-only (0012)
    postgresql_with={"fillfactor": 45},
)

#: API keys: only a digest of each key is kept (services/common/auth.py).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("prefix", sa.String(16), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scopes", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
)

#: Records the projector set aside (services/projector/poison.py), each also on the topic
#: ``<topic>.dlq``: the original record and why. ``status`` is ``open`` until an operator
#: ``replayed`` it onto the topic or ``skipped`` it. ``headers`` holds ``[name, base64]`` pairs.
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("consumer_group", sa.String(200), nullable=False),
    sa.Column("topic", sa.String(249), nullable=False),
    sa.Column("partition", sa.Integer(), nullable=False),
    sa.Column("offset", sa.BigInteger(), nullable=False),
    sa.Column("key", sa.LargeBinary(), nullable=True),
    sa.Column("talks_id", sa.String(64), nullable=True),
    sa.Column("event_id", sa.Uuid(), nullable=True),
    sa.Column("error_type", sa.String(32), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("headers", Json, nullable=False),
    sa.Column("dead_at", Timestamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("resolved_at", Timestamp, nullable=True),
    sa.UniqueConstraint("consumer_group", "topic", "partition", "offset"),
    sa.CheckConstraint("status IN ('open', 'replayed', 'skipped')", name="status"),
    sa.Index("ix_dead_letters_topic_status", "topic", "status", "id"),
    sa.Index("ix_dead_letters_talks", "consumer_group", "topic", "talks_id", "status"),
)

#: Talks whose later records wait behind a dead letter (``PARLEY_POISON_POLICY=pause``);
#: ``releasing`` while an operator's replay of its letters is on its way through the log.
parked_talks = sa.Table(
    "parked_talks",
    metadata,
    sa.Column("consumer_group", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(249), primary_key=True),
    sa.Column("talks_id", sa.String(64), primary_key=True),
    sa.Column("releasing", sa.Boolean(), nullable=False),
    sa.Column("parked_at", Timestamp, nullable=False),
)
