"""Shadow tables for a rebuild, and the switch that makes them live (PostgreSQL).

A shadow ``<table>__rebuild`` gets the live table's columns, defaults and constraints
(``CREATE TABLE ... (LIKE ...)``) and a copy of each of its indexes, read from the catalog so
that an index only a migration knows of is copied too, as
``<index>__rebuild``. The switch, inside the caller's transaction, renames each live table
and its indexes to ``__old``, each shadow and its indexes to the live names, hands the
sequences the old tables own to the new ones, and drops the old tables unless asked to keep
them (they are then dropped by the next rebuild).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.tables import LIVE, REBUILD_SUFFIX

OLD_SUFFIX = "__old"
REBUILT = tuple(table.name for table in LIVE.all())
_LIKE = "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS"
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ (USING .*)$", re.S)
_CONSTRAINTS = {"p": "PRIMARY KEY", "u": "UNIQUE"}

_INDEXES = sa.text(
    """
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition,
           con.conname AS constraint_name, con.contype AS constraint_type
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid
    WHERE n.nspname = current_schema() AND t.relname = :table
    ORDER BY i.relname
    """
)
_OWNED_SEQUENCES = sa.text(
    """
    SELECT s.relname AS sequence, a.attname AS column_name
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE d.deptype = 'a' AND n.nspname = current_schema() AND t.relname = :table
    """
)


def _require_postgresql(conn: AsyncConnection) -> None:
    if conn.dialect.name != "postgresql":
        raise RuntimeError(f"a rebuild needs PostgreSQL, not {conn.dialect.name}")


async def create_shadows(conn: AsyncConnection) -> None:
    """Empty shadows of the read-model tables, with every index; leftovers are dropped."""
    _require_postgresql(conn)
    q = conn.dialect.identifier_preparer.quote
    await drop_leftovers(conn)
    for table in REBUILT:
        shadow = table + REBUILD_SUFFIX
        await conn.execute(sa.text(f"CREATE TABLE {q(shadow)} (LIKE {q(table)} {_LIKE})"))
        for index in (await conn.execute(_INDEXES, {"table": table})).all():
            match = _INDEX_DEF.match(index.definition)
            if match is None:
                raise RuntimeError(f"cannot copy index {index.name}: {index.definition}")
            name = index.name + REBUILD_SUFFIX
            create, rest = match.groups()
            await conn.execute(sa.text(f"{create} {q(name)} ON {q(shadow)} {rest}"))
            if index.constraint_type in _CONSTRAINTS:
                kind = _CONSTRAINTS[index.constraint_type]
                constraint = q(index.constraint_name + REBUILD_SUFFIX)
                await conn.execute(
                    sa.text(
                        f"ALTER TABLE {q(shadow)} ADD CONSTRAINT {constraint} "
                        f"{kind} USING INDEX {q(name)}"
                    )
                )


async def drop_leftovers(conn: AsyncConnection) -> None:
    """Drop the shadows of an unfinished rebuild and the old tables a rebuild kept."""
    q = conn.dialect.identifier_preparer.quote
    for table in REBUILT:
        for suffix in (REBUILD_SUFFIX, OLD_SUFFIX):
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {q(table + suffix)}"))


async def switch(conn: AsyncConnection, *, keep_old: bool = False) -> None:
    """Make the shadows the live tables, in the caller's transaction."""
    _require_postgresql(conn)
    q = conn.dialect.identifier_preparer.quote
    for table in REBUILT:
        shadow, old = table + REBUILD_SUFFIX, table + OLD_SUFFIX
        await conn.execute(sa.text(f"DROP TABLE IF EXISTS {q(old)}"))
        live_indexes = (await conn.execute(_INDEXES, {"table": table})).scalars().all()
        shadow_indexes = (await conn.execute(_INDEXES, {"table": shadow})).scalars().all()
        await conn.execute(sa.text(f"ALTER TABLE {q(table)} RENAME TO {q(old)}"))
        for name in live_indexes:  # renaming a constraint's index renames the constraint
            await conn.execute(sa.text(f"ALTER INDEX {q(name)} RENAME TO {q(name + OLD_SUFFIX)}"))
        await conn.execute(sa.text(f"ALTER TABLE {q(shadow)} RENAME TO {q(table)}"))
        for name in shadow_indexes:
            live_name = name.removesuffix(REBUILD_SUFFIX)
            await conn.execute(sa.text(f"ALTER INDEX {q(name)} RENAME TO {q(live_name)}"))
        for owned in (await conn.execute(_OWNED_SEQUENCES, {"table": old})).all():
            await conn.execute(
                sa.text(
                    f"ALTER SEQUENCE {q(owned.sequence)} OWNED BY {q(table)}.{q(owned.column_name)}"
                )
            )
        if not keep_old:
            await conn.execute(sa.text(f"DROP TABLE {q(old)}"))
