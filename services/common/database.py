"""The database engine every service builds the same way, on PostgreSQL or SQLite."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    """An async engine that checks connections before use and reads JSON with orjson."""
    if database_url.startswith("sqlite"):
        options.pop("pool_size", None)
        options.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(
        database_url,
        pool_pre_ping=True,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        **options,
    )
    if engine.dialect.name == "sqlite":
        _serialise_sqlite_writers(engine)
    return engine


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """SQLite has one writer at a time. A deferred transaction that reads and then writes fails
    when another wrote meanwhile; ``BEGIN IMMEDIATE`` waits for the write lock instead (up to
    ``busy_timeout``). WAL lets readers go on while one writes; ``synchronous=NORMAL`` may lose
    the last transactions on a power cut, never corrupt: the read models and their positions
    roll back together and the log (``synchronous=FULL``) replays them."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
