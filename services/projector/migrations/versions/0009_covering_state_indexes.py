"""The state read answered from indexes alone on PostgreSQL.

At a million events the read models no longer fit in memory, and the state read's cost was
the heap pages holding its rows, one or two rows per page. Here each shape of rectangle
(0008) gets a partial B-tree over the items (every kind but ``event``) that INCLUDEs all the
read returns: the key, the served JSON (``doc``) and the two fields the state is sorted by,
now columns (``sort_first``, ``sort_second``) written beside ``doc``. The ``event`` items,
which the state only counts, get narrow partial B-trees of the columns that predicate reads,
so the count is an index-only scan too.

A B-tree entry must fit in a third of a page, so the covering indexes hold only versions
whose ``doc`` is at most ``COVERED_DOC_BYTES``; the rare longer ones have an index of their
own, read through the heap. SQLite keeps 0008's indexes and gains only the two columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED_DOC_BYTES = 2000  # with the key columns, well under the 2,704-byte B-tree limit
OPEN = "known_to IS NULL AND valid_to IS NULL"
VALID_CLOSED = "known_to IS NULL AND valid_to IS NOT NULL"
KNOWN_CLOSED = "known_to IS NOT NULL"
SHAPES = {
    "open": (["valid_from", "known_from"], OPEN),
    "vclosed": (["valid_to", "valid_from", "known_from"], VALID_CLOSED),
    "kclosed": (["known_to", "known_from", "valid_from", "valid_to"], KNOWN_CLOSED),
}
ITEMS = "kind <> 'event'"
COVERED = f"octet_length(doc) <= {COVERED_DOC_BYTES}"
LONG = f"octet_length(doc) > {COVERED_DOC_BYTES}"
SERVED = ["item_key", "sort_first", "sort_second", "doc"]
OLD = ["ix_item_versions_open", "ix_item_versions_valid_closed", "ix_item_versions_known_closed"]
SORT_FIELDS = {"round": "planned_start", "position": "stance", "strike": "occurred_latest"}
SORT_FIELDS["agreement"] = "reached_at"


def _backfill(postgresql: bool) -> None:
    def field(name: str) -> str:
        return f"body->>'{name}'" if postgresql else f"json_extract(body, '$.{name}')"

    first = " ".join(f"WHEN '{kind}' THEN {field(f)}" for kind, f in SORT_FIELDS.items())
    op.execute(
        f"UPDATE item_versions SET sort_first = CASE kind {first} END, "
        f"sort_second = CASE kind WHEN 'round' THEN {field('opened_at')} END "
        "WHERE kind <> 'event'"
    )


def upgrade() -> None:
    op.add_column("item_versions", sa.Column("sort_first", sa.Text(), nullable=True))
    op.add_column("item_versions", sa.Column("sort_second", sa.Text(), nullable=True))
    postgresql = op.get_bind().dialect.name == "postgresql"
    _backfill(postgresql)
    if not postgresql:
        return
    for shape, (columns, where) in SHAPES.items():
        # the open items are read by kind (the strikes apart, by their window); the closed
        # ones are few per talks and read whatever their kind, so their range leads
        keys = ["kind", *columns] if shape == "open" else columns
        op.create_index(
            f"ix_item_versions_items_{shape}",
            "item_versions",
            ["talks_id", *keys],
            postgresql_include=SERVED if shape == "open" else ["kind", *SERVED],
            postgresql_where=sa.text(f"{where} AND {ITEMS} AND {COVERED}"),
        )
        op.create_index(
            f"ix_item_versions_events_{shape}",
            "item_versions",
            ["talks_id", *columns],
            postgresql_where=sa.text(f"{where} AND kind = 'event'"),
        )
    op.create_index(
        "ix_item_versions_items_long",
        "item_versions",
        ["talks_id", "kind"],
        postgresql_where=sa.text(f"{ITEMS} AND {LONG}"),
    )
    for name in OLD:
        op.drop_index(name, table_name="item_versions")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, (columns, where) in zip(OLD, SHAPES.values(), strict=True):
            op.create_index(
                name,
                "item_versions",
                ["talks_id", "kind", *columns],
                postgresql_where=sa.text(where),
            )
        for shape in SHAPES:
            op.drop_index(f"ix_item_versions_items_{shape}", table_name="item_versions")
            op.drop_index(f"ix_item_versions_events_{shape}", table_name="item_versions")
        op.drop_index("ix_item_versions_items_long", table_name="item_versions")
    op.drop_column("item_versions", "sort_second")
    op.drop_column("item_versions", "sort_first")
