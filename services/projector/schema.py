"""The database tables: the event archive, the read models and the consumed positions.

The projector owns these tables and their migrations; the API only reads them. Column types
are portable (``JSON``, ``Uuid``) so the same schema serves PostgreSQL and SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

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
Timestamp = sa.DateTime(timezone=True)

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
    sa.Index("ix_events_talks_occurred", "talks_id", "occurred_earliest"),
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

#: The rounds of each talks, as ``shared.state.evolve_round`` leaves them.
rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("talks_id", sa.String(64), primary_key=True),
    sa.Column("round_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("venue_city", sa.String(100)),
    sa.Column("venue_country", sa.String(3)),
    sa.Column("parties", Json, nullable=False),
    sa.Column("mediators", Json, nullable=False),
    sa.Column("planned_start_on", sa.Date()),
    sa.Column("planned_end_on", sa.Date()),
    sa.Column("format", sa.String(32)),
    sa.Column("opened_at", sa.String(64)),
    sa.Column("closed_at", sa.String(64)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("summary", sa.Text()),
    sa.Column("next_round_id", sa.String(64)),
    sa.Column("event_ids", Json, nullable=False),
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
