"""The event archive, talks and rounds read models, and consumed positions.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.String(64), nullable=False),
        sa.Column("occurred_earliest", Timestamp, nullable=False),
        sa.Column("occurred_latest", Timestamp, nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_talks_occurred", "events", ["talks_id", "occurred_earliest"])
    op.create_table(
        "talks",
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_recorded_at", Timestamp, nullable=False),
        sa.Column("last_recorded_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("talks_id", name="pk_talks"),
    )
    op.create_table(
        "rounds",
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("round_id", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("talks_id", "round_id", name="pk_rounds"),
    )
    op.create_table(
        "consumer_positions",
        sa.Column("consumer_group", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint(
            "consumer_group", "topic", "partition", name="pk_consumer_positions"
        ),
    )


def downgrade() -> None:
    op.drop_table("consumer_positions")
    op.drop_table("rounds")
    op.drop_table("talks")
    op.drop_index("ix_events_talks_occurred", table_name="events")
    op.drop_table("events")
