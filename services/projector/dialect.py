"""The few statements that differ between PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(table)


def least_greatest(conn: AsyncConnection) -> tuple[Any, Any]:
    """SQL functions for the smaller and the larger of two values."""
    if conn.dialect.name == "sqlite":
        return sa.func.min, sa.func.max
    return sa.func.least, sa.func.greatest


def one_of(conn: AsyncConnection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``= ANY(array)``: one parameter, however many
    values, so the statement is prepared once and compiled without a name per value."""
    if conn.dialect.name == "sqlite":
        return column.in_(values)
    return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def tuple_of(conn: AsyncConnection, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> Any:
    """``(columns) IN (rows)``; on PostgreSQL against ``unnest`` of one array per column."""
    if conn.dialect.name == "sqlite":
        return sa.tuple_(*columns).in_(rows)
    arrays = [
        sa.bindparam(None, [row[i] for row in rows], type_=postgresql.ARRAY(column.type))
        for i, column in enumerate(columns)
    ]
    names = [f"c{i}" for i in range(len(columns))]
    given = sa.func.unnest(*arrays).table_valued(*names).render_derived()
    return sa.tuple_(*columns).in_(sa.select(*given.c))


async def next_ids(conn: AsyncConnection, table: str, n: int) -> list[int] | None:
    """``n`` new values of ``table``'s ``id`` sequence on PostgreSQL (``None`` elsewhere: the
    caller lets the database number the rows)."""
    if conn.dialect.name == "sqlite" or n == 0:
        return None
    rows = await conn.execute(
        sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table, "n": n},
    )
    return list(rows.scalars())


class IdPool:
    """Values of ``table``'s ``id`` sequence taken ``at_least`` at a time and handed out as
    asked: one round trip per many batches instead of one per batch. A value taken and not
    used (a rolled-back batch, a stopped process) is a gap in the ids, never a repeat."""

    def __init__(self, table: str, at_least: int = 5_000) -> None:
        self.table, self.at_least = table, at_least
        self._free: list[int] = []

    async def take(self, conn: AsyncConnection, n: int) -> list[int] | None:
        """``n`` unused ids, in increasing order (``None`` on SQLite: it numbers the rows)."""
        if conn.dialect.name == "sqlite" or n == 0:
            return None
        if len(self._free) < n:
            fresh = await next_ids(conn, self.table, max(n - len(self._free), self.at_least))
            self._free += fresh or []
        taken, self._free = self._free[:n], self._free[n:]
        return taken


async def copy_records(
    conn: AsyncConnection, table: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL's ``COPY``, the fastest way in, inside the connection's transaction (JSON as
    text). The driver's errors are raised as SQLAlchemy's, as a statement's would be (a value
    the database cannot store, SQLSTATE class 22, is a ``DataError``)."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table(table, records=records, columns=list(columns))
    except asyncpg.PostgresError as error:
        state = str(error.sqlstate or "")
        kind = (
            sa.exc.DataError
            if state.startswith("22")
            else sa.exc.IntegrityError
            if state.startswith("23")
            else sa.exc.DBAPIError
        )
        raise kind(f"COPY {table}", None, error) from error
    except asyncpg.InterfaceError as error:
        raise sa.exc.OperationalError(f"COPY {table}", None, error) from error
