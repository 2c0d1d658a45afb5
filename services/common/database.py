"""The database engine every service builds the same way, on PostgreSQL or SQLite."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(database_url: str, *, pre_ping: bool = True, **options: Any) -> AsyncEngine:
    """An async engine that checks connections before use and reads JSON with orjson.

    ``pre_ping=False`` trades the check's round trips (three on asyncpg: ``BEGIN``, an empty
    statement, ``ROLLBACK``) for a local one: a pooled connection whose server end has closed
    (a restart, a terminated backend) is replaced at checkout. A connection lost after that
    check surfaces as an error, so such an engine's callers retry once (the API's reads do).
    """
    if database_url.startswith("sqlite"):
        options.pop("pool_size", None)
        options.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(
        database_url,
        pool_pre_ping=pre_ping,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        **options,
    )
    if engine.dialect.name == "sqlite":
        _serialise_sqlite_writers(engine)
    elif not pre_ping:
        _replace_closed_connections(engine)
    return engine


def _replace_closed_connections(engine: AsyncEngine) -> None:
    """At checkout, without a round trip: asyncpg marks a connection closed as soon as its
    event loop sees the server close the socket, and the pool then connects anew."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and driver.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")


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
