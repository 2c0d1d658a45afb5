"""Index item versions in both time dimensions (GiST over two time ranges).

On PostgreSQL a version is found by ``valid @> as_of AND known @> known_at`` through a GiST
index on the two ranges (with ``btree_gist`` for the talks and kind). A covering B-tree on
``valid_from`` serves the strike window and the event count. SQLite keeps the B-trees.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_item_versions_from",
        "item_versions",
        ["talks_id", "kind", "valid_from"],
        postgresql_include=["known_from", "known_to", "valid_to"],
    )
    op.drop_index("ix_item_versions_time", table_name="item_versions")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_item_versions_bitemporal ON item_versions USING gist "
        "(talks_id, kind, tstzrange(valid_from, valid_to, '[)'), "
        "tstzrange(known_from, known_to, '[)'))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_item_versions_bitemporal")
    op.create_index(
        "ix_item_versions_time", "item_versions", ["talks_id", "kind", "valid_from", "known_from"]
    )
    op.drop_index("ix_item_versions_from", table_name="item_versions")
