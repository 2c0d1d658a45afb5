"""The database engine every service builds the same way."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    """An async engine that checks connections before use and reads JSON with orjson."""
    return create_async_engine(
        database_url,
        pool_pre_ping=True,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        **options,
    )
