"""Reading the dead letters: the list an operator pages through, and what /status counts.

:func:`counts` also sets the gauges of open dead letters and parked talks; the projection
calls it after batches that may change them (projection.py), /status on every request.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.schema import dead_letters, parked_talks

_d, _p = dead_letters.c, parked_talks.c

OPEN_DEAD_LETTERS = Gauge(
    "parley_projector_dead_letters_open",
    "Dead letters not yet replayed or skipped (status open), by consumer group.",
    ["consumer_group"],
)
PARKED_TALKS = Gauge(
    "parley_projector_parked_talks",
    "Talks parked behind a dead letter (PARLEY_POISON_POLICY=pause), by consumer group.",
    ["consumer_group"],
)


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
    """How many dead letters are open and how many talks are parked (also as gauges)."""
    async with engine.connect() as conn:
        open_letters = await conn.scalar(
            sa.select(sa.func.count()).where(
                _d.consumer_group == consumer_group, _d.topic == topic, _d.status == "open"
            )
        )
        parked = await conn.scalar(
            sa.select(sa.func.count()).where(_p.consumer_group == consumer_group, _p.topic == topic)
        )
    OPEN_DEAD_LETTERS.labels(consumer_group).set(open_letters or 0)
    PARKED_TALKS.labels(consumer_group).set(parked or 0)
    return {"open_dead_letters": open_letters or 0, "parked_talks": parked or 0}
