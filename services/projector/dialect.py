"""The few statements that differ between PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

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
