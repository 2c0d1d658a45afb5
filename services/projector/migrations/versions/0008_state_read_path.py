"""Item versions keep their JSON text, and partial B-trees find the visible ones.

``doc`` is the item exactly as the API serves it (the item model's JSON), so that the state
read splices stored text instead of turning JSONB back into text and re-validating it.

A version's rectangle is open in both dimensions (believed and in effect until further
notice), closed in effect only, or closed in belief. Each shape gets its own partial B-tree
whose leading columns bound the scan, and the visible rows are their union (see
``services/api/queries.py``). The GiST over both ranges (0003) stays for the other reads:
with most rectangles open-ended it cannot prune them for a point near the present.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "known_to IS NULL AND valid_to IS NULL"
VALID_CLOSED = "known_to IS NULL AND valid_to IS NOT NULL"
KNOWN_CLOSED = "known_to IS NOT NULL"
SHAPES = {
    "ix_item_versions_open": (["valid_from", "known_from"], OPEN),
    "ix_item_versions_valid_closed": (["valid_to", "valid_from", "known_from"], VALID_CLOSED),
    "ix_item_versions_known_closed": (
        ["known_to", "known_from", "valid_from", "valid_to"],
        KNOWN_CLOSED,
    ),
}


def upgrade() -> None:
    op.add_column("item_versions", sa.Column("doc", sa.Text(), nullable=True))
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"UPDATE item_versions SET doc = {'body::text' if postgresql else 'body'}")
    for name, (columns, where) in SHAPES.items():
        op.create_index(
            name,
            "item_versions",
            ["talks_id", "kind", *columns],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name in SHAPES:
        op.drop_index(name, table_name="item_versions")
    op.drop_column("item_versions", "doc")
