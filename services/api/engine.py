"""The state read's own database engine, and its retry of a lost connection.

``GET /v1/talks/{id}/state`` is one statement of a few milliseconds, so the connection's
overheads show; it gets a pool of its own, which differs from the API's main engine twice:

- no pre-ping round trips at checkout (``create_engine(pre_ping=False)``; three on asyncpg):
  a connection the server has closed is replaced without one, and the read runs once more
  on a connection lost during its statement (:func:`read_retrying`);
- on PostgreSQL, ``plan_cache_mode=force_generic_plan``. asyncpg prepares the statement
  once per connection; left to choose, PostgreSQL planned it again at every execution
  (0.4-0.9 ms, as long as the read's own index scans), because its custom plans always look
  cheaper than the generic one. The state read is written for the generic plan: each
  branch's index conditions bound its scan whatever the parameters
  (``queries._covering_state_queries``). The other reads keep custom plans: forced generic,
  some became several times slower (the timeline and the changes, with their ranges).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.database import create_engine

SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}

T = TypeVar("T")


def create_state_engine(database_url: str, **options: Any) -> AsyncEngine:
    """The state read's engine on ``database_url`` (``options`` as for ``create_engine``)."""
    if database_url.startswith("postgresql"):
        options.setdefault("connect_args", {"server_settings": SERVER_SETTINGS})
    return create_engine(database_url, pre_ping=False, **options)


async def read_retrying(engine: AsyncEngine, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``read`` on a pooled connection, and once more on a new one if that one was lost.

    Only for reads: a lost connection is a restarted server or a terminated backend, and
    running a read again does nothing twice.
    """
    async with engine.connect() as conn:
        try:
            return await read(conn)
        except Exception as error:
            if not await _lost(conn, error):
                raise
            await conn.invalidate()
    async with engine.connect() as conn:
        return await read(conn)


async def _lost(conn: AsyncConnection, error: Exception) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if conn.invalidated or conn.dialect.driver != "asyncpg":
        return False
    driver = (await conn.get_raw_connection()).driver_connection
    return driver is None or bool(driver.is_closed())
