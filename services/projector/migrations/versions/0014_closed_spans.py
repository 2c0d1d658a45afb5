"""The closed items' covering indexes led by the class of their span, not by its end.

A version closed in effect is visible as of ``as_of`` when ``valid_from <= as_of <
valid_to``; one closed in belief, when ``known_from <= known_at < known_to``. 0009 led their
covering indexes by the span's end (``valid_to``, ``known_to``), so at an early instant the
scan passed every version of the talks that ends later, including all those that also begin
later: at 1,000,000 events, 180 and 300 pages of index for 30 and 70 rows, most of the state
read at an early ``(as_of, known_at)`` and the pages that missed the cache.

Here the class of the span's length leads, then its end. Class i holds the spans shorter than
its bound (``width_bucket`` over powers of 4 seconds, from 4 minutes to about 2 years; the
last class holds the longer ones), so a version of class i that holds an instant ends less
than that bound after it, and the state read scans, per class, only that window of ends: a
few pages per class, whatever the instant, and at the present, where little ends later,
about as few as before. The class is computed by PostgreSQL from the row (an expression
index); the projector writes nothing new. SQLite keeps 0008's indexes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEMS_COVERED = "kind <> 'event' AND octet_length(doc) <= 2000"
SERVED = ["kind", "item_key", "sort_first", "sort_second", "doc"]
# the class bounds in seconds, 4^4 (4 minutes) .. 4^13 (about 2 years)
BOUNDS = "{256,1024,4096,16384,65536,262144,1048576,4194304,16777216,67108864}"
# shape: (its condition, the span's start and end, the other columns the read filters on)
SHAPES = {
    "vclosed": (
        "known_to IS NULL AND valid_to IS NOT NULL",
        "valid_from",
        "valid_to",
        ["known_from"],
    ),
    "kclosed": ("known_to IS NOT NULL", "known_from", "known_to", ["valid_from", "valid_to"]),
}
# 0009's, led by the span's end
ENDS = {
    "vclosed": ["valid_to", "valid_from", "known_from"],
    "kclosed": ["known_to", "known_from", "valid_from", "valid_to"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for shape, (where, start, end, filtered) in SHAPES.items():
        span = f"width_bucket(EXTRACT(epoch FROM {end} - {start}), '{BOUNDS}'::numeric[])"
        op.create_index(
            f"ix_item_versions_items_{shape}_spans",
            "item_versions",
            ["talks_id", sa.text(span), end],
            postgresql_include=[start, *filtered, *SERVED],
            postgresql_where=sa.text(f"{where} AND {ITEMS_COVERED}"),
        )
        op.drop_index(f"ix_item_versions_items_{shape}", table_name="item_versions")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for shape, (where, *_) in SHAPES.items():
        op.create_index(
            f"ix_item_versions_items_{shape}",
            "item_versions",
            ["talks_id", *ENDS[shape]],
            postgresql_include=SERVED,
            postgresql_where=sa.text(f"{where} AND {ITEMS_COVERED}"),
        )
        op.drop_index(f"ix_item_versions_items_{shape}_spans", table_name="item_versions")
