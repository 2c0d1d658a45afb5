"""The state's event count from a grid of monthly counts, not a scan of every event.

The state reports how many events are in effect as of ``as_of`` as known at ``known_at``: the
event versions whose rectangle holds that point. Almost all of them are open in both
dimensions, so that count was an index-only scan of every such version of the talks that
began before the point, about 9,600 index entries at the present of a talks of 10,000
events and three quarters of the whole state read on the server.

``event_counts`` holds, per talks, month of ``valid_from`` and month of ``known_from`` (UTC),
how many open event versions there are; the projector keeps it in the transaction that
writes the versions. The count of those before ``(as_of, known_at)`` is then the sum of the
cells of earlier months in both dimensions, plus the versions of ``as_of``'s month (through
``ix_item_versions_from``) and those of ``known_at``'s month (a narrow index led by
``known_from``, which replaces the one led by ``valid_from`` that only the count read, so a
version costs no more index entries than before). The closed versions are few and still
counted by their indexes.
A projector from before this revision, still running during the rollout, does not count
what it writes; the new projector recounts the cells when it is given partitions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = "known_to IS NULL AND valid_to IS NULL AND kind = 'event'"


def _month(column: str, postgresql: bool) -> str:
    if postgresql:
        return f"date_trunc('month', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    # SQLite holds an instant as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (schema.Timestamp)
    return f"substr({column}, 1, 7) || '-01 00:00:00.000000'"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "event_counts",
        sa.Column("talks_id", sa.String(64), nullable=False),
        sa.Column("valid_month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("known_month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("versions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("talks_id", "valid_month", "known_month", name="pk_event_counts"),
    )
    valid, known = _month("valid_from", postgresql), _month("known_from", postgresql)
    op.execute(
        "INSERT INTO event_counts (talks_id, valid_month, known_month, versions) "
        f"SELECT talks_id, {valid}, {known}, count(*) FROM item_versions WHERE {COUNTED} "
        f"GROUP BY talks_id, {valid}, {known}"
    )
    op.create_index(
        "ix_item_versions_counted_known",
        "item_versions",
        ["talks_id", "known_from", "valid_from"],
        postgresql_where=sa.text(COUNTED),
        sqlite_where=sa.text(COUNTED),
    )
    if postgresql:
        op.drop_index("ix_item_versions_events_open", table_name="item_versions")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_item_versions_events_open",
            "item_versions",
            ["talks_id", "valid_from", "known_from"],
            postgresql_where=sa.text(COUNTED),
        )
    op.drop_index("ix_item_versions_counted_known", table_name="item_versions")
    op.drop_table("event_counts")
