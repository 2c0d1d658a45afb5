"""Bitemporal item versions replace the rounds table; the archive knows report targets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("events", sa.Column("target_event_id", sa.Uuid(), nullable=True))
    op.create_index("ix_events_target_event_id", "events", ["target_event_id"])
    op.create_index("ix_events_recorded", "events", ["recorded_at", "event_id"])
    op.create_table(
        "item_events",
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("talks_id", "kind", "item_key", "event_id", name="pk_item_events"),
    )
    op.create_index("ix_item_events_event_id", "item_events", ["event_id"])
    op.create_table(
        "item_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("known_from", Timestamp, nullable=False),
        sa.Column("known_to", Timestamp, nullable=True),
        sa.Column("valid_from", Timestamp, nullable=False),
        sa.Column("valid_to", Timestamp, nullable=True),
        sa.Column("tags", Json, nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_item_versions"),
    )
    op.create_index("ix_item_versions_item", "item_versions", ["talks_id", "kind", "item_key"])
    op.create_index(
        "ix_item_versions_time", "item_versions", ["talks_id", "kind", "valid_from", "known_from"]
    )
    op.drop_table("rounds")


def downgrade() -> None:
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
    op.drop_index("ix_item_versions_time", table_name="item_versions")
    op.drop_index("ix_item_versions_item", table_name="item_versions")
    op.drop_table("item_versions")
    op.drop_index("ix_item_events_event_id", table_name="item_events")
    op.drop_table("item_events")
    op.drop_index("ix_events_recorded", table_name="events")
    op.drop_index("ix_events_target_event_id", table_name="events")
    op.drop_column("events", "target_event_id")
