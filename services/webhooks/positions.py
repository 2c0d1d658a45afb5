"""The worker's consumed positions, kept in ``consumer_positions`` under its own group.

Read on every partition assignment; locked and advanced inside the transaction that writes
the outbox rows of the same records, so that a record is turned into deliveries exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.dialect import insert
from services.projector.schema import consumer_positions

_c = consumer_positions.c


async def stored_positions(
    conn: AsyncConnection, group: str, topic: str, partitions: Iterable[int] | None = None
) -> dict[int, int]:
    """The next offset per partition; with ``partitions``, those rows locked for update."""
    query = sa.select(_c.partition, _c.next_offset).where(
        _c.consumer_group == group, _c.topic == topic
    )
    if partitions is not None:
        query = query.where(_c.partition.in_(sorted(partitions))).with_for_update()
    return {row.partition: row.next_offset for row in await conn.execute(query)}


async def advance_positions(
    conn: AsyncConnection, group: str, topic: str, last_offsets: dict[int, int]
) -> None:
    """Store ``offset + 1`` as the next offset of each partition in ``last_offsets``."""
    if not last_offsets:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "consumer_group": group,
            "topic": topic,
            "partition": partition,
            "next_offset": offset + 1,
            "updated_at": now,
        }
        for partition, offset in sorted(last_offsets.items())
    ]
    stmt = insert(conn, consumer_positions)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["consumer_group", "topic", "partition"],
            set_={"next_offset": stmt.excluded.next_offset, "updated_at": stmt.excluded.updated_at},
        ),
        rows,
    )
