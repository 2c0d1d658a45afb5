"""Dead letters: the records the projector set aside, and the talks parked behind them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
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
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint(
            "consumer_group",
            "topic",
            "partition",
            "offset",
            name="uq_dead_letters_consumer_group",
        ),
        sa.CheckConstraint(
            "status IN ('open', 'replayed', 'skipped')", name="ck_dead_letters_status"
        ),
    )
    op.create_index("ix_dead_letters_topic_status", "dead_letters", ["topic", "status", "id"])
    op.create_index(
        "ix_dead_letters_talks",
        "dead_letters",
        ["consumer_group", "topic", "talks_id", "status"],
    )
    op.create_table(
        "parked_talks",
        sa.Column("consumer_group", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("releasing", sa.Boolean(), nullable=False),
        sa.Column("parked_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "topic", "talks_id", name="pk_parked_talks"),
    )


def downgrade() -> None:
    op.drop_table("parked_talks")
    op.drop_index("ix_dead_letters_talks", table_name="dead_letters")
    op.drop_index("ix_dead_letters_topic_status", table_name="dead_letters")
    op.drop_table("dead_letters")
