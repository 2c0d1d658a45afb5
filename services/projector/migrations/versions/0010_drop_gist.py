"""Drop the GiST index over both time ranges (0003): the projection's largest write cost.

Measured on PostgreSQL 15 with this project's rows (50,000 item versions, about 1.3 KB each),
a ``COPY`` into ``item_versions`` took 2.2 s with every index and 0.8 s without this one alone:
the GiST index was about two thirds of the table's write cost, more than the ten B-trees
together. Its reads had moved away: the state read answers from the partial B-trees of
0008/0009, and the other reads (rounds, positions, strikes, changes, an event's history)
bound their scan by ``(talks_id, kind, valid_from)`` through the covering B-tree of 0003 and
filter the rest of the rectangle there, which was faster than the GiST at 1,000,000 events
(it cannot prune the open-ended rectangles near the present; see 0008).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_item_versions_bitemporal")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_item_versions_bitemporal ON item_versions USING gist "
            "(talks_id, kind, tstzrange(valid_from, valid_to, '[)'), "
            "tstzrange(known_from, known_to, '[)'))"
        )
