"""Reading the dead letters: the list an operator pages through, and what /status counts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.schema import dead_letters, parked_talks

_d, _p = dead_letters.c, parked_talks.c


async def list_letters(
    engine: AsyncEngine,
    topic: str,
    *,
    status: str | None = None,
    limit: int = 100,
    after: int | None = None,
    consumer_group: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Dead letters of ``topic`` in the order they were set aside, keyset-paged by id.

    Returns the page and the id to pass as ``after`` for the next one (``None``: no more).
    """
    query = sa.select(dead_letters).where(_d.topic == topic)
    if consumer_group is not None:
        query = query.where(_d.consumer_group == consumer_group)
    if status is not None:
        query = query.where(_d.status == status)
    if after is not None:
        query = query.where(_d.id > after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(_d.id).limit(limit + 1))).all()
    page = [dict(row._mapping) for row in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)


async def counts(engine: AsyncEngine, consumer_group: str, topic: str) -> dict[str, int]:
    """How many dead letters are open and how many talks are parked."""
    async with engine.connect() as conn:
        open_letters = await conn.scalar(
            sa.select(sa.func.count()).where(
                _d.consumer_group == consumer_group, _d.topic == topic, _d.status == "open"
            )
        )
        parked = await conn.scalar(
            sa.select(sa.func.count()).where(_p.consumer_group == consumer_group, _p.topic == topic)
        )
    return {"open_dead_letters": open_letters or 0, "parked_talks": parked or 0}
