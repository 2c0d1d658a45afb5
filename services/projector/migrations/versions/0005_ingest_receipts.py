"""The ingest's receipts: every event id it acknowledged, forever.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingest_receipts",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("claimed_at", Timestamp, nullable=False),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_ingest_receipts"),
    )


def downgrade() -> None:
    op.drop_table("ingest_receipts")
