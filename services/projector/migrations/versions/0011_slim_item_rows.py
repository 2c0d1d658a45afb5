"""Item versions without ``body``, and no ``item_events`` rows for items of one event.

``body`` was the item as JSONB beside ``doc``, the same item as the text the API serves
(0008). Every read now validates ``doc``, so ``body`` only cost the projection: PostgreSQL
parsed every version's JSON a second time, about half of a version's insert without indexes,
and each row carried it twice.

A strike and an event's own item are keyed by their one event's id, so the projector knows
their members without asking ``item_events``; their rows there (about four in five) are
neither written nor kept any more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN_ITEM_KINDS = ("strike", "event")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    body = "body::text" if postgresql else "body"
    op.execute(f"UPDATE item_versions SET doc = {body} WHERE doc IS NULL")
    op.execute("ALTER TABLE item_versions DROP COLUMN body")
    op.execute("DELETE FROM item_events WHERE kind IN ('strike', 'event')")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"ALTER TABLE item_versions ADD COLUMN body {'jsonb' if postgresql else 'JSON'}")
    op.execute(f"UPDATE item_versions SET body = {'doc::jsonb' if postgresql else 'doc'}")
    if postgresql:
        op.execute("ALTER TABLE item_versions ALTER COLUMN body SET NOT NULL")
    op.execute(
        "INSERT INTO item_events (talks_id, kind, item_key, event_id)"
        " SELECT talks_id, kind, item_key, "
        + ("CAST(item_key AS uuid)" if postgresql else "replace(item_key, '-', '')")
        + " FROM item_versions WHERE kind IN ('strike', 'event') GROUP BY talks_id, kind, item_key"
    )
