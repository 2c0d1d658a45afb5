"""A client's own reader of the topic, from its position up to where the live hub began.

Each catching-up client gets a short-lived reader of its own (no consumer group), so that
reading history, however long, never delays the live fan-out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.api.stream.hub import Record
from services.api.stream.positions import Position
from services.common.eventlog import EventLog


async def catch_up(
    log: EventLog, topic: str, start: Position, stop: Position
) -> AsyncIterator[Record]:
    """Every record at or after ``start`` and before ``stop``, each partition in order."""
    reader = await log.reader(topic, {p: start.get(p, 0) for p in stop})
    try:
        at = await reader.positions()
        remaining = {p for p in stop if at.get(p, 0) < stop[p]}
        while remaining:
            for d in await reader.fetch(0.5, 1000):
                if d.partition in remaining and d.offset < stop[d.partition]:
                    yield Record(d.partition, d.offset, d.value, dict(d.headers))
                if d.offset + 1 >= stop.get(d.partition, 0):
                    remaining.discard(d.partition)
    finally:
        await reader.close()
