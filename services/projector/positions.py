"""Consumed positions: the next offset per partition, kept with the read models they produced.

A batch locks its partitions' rows (``FOR UPDATE``, in partition order) before it writes, so
that two consumers of one group, or a rebuild switching tables, take turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.dialect import insert, one_of
from services.projector.schema import consumer_positions

_c = consumer_positions.c


def _of(consumer_group: str, topic: str) -> sa.ColumnElement[bool]:
    return sa.and_(_c.consumer_group == consumer_group, _c.topic == topic)


async def read_positions(conn: AsyncConnection, consumer_group: str, topic: str) -> dict[int, int]:
    """The next offset to consume for every partition the group has a position on."""
    rows = await conn.execute(
        sa.select(_c.partition, _c.next_offset).where(_of(consumer_group, topic))
    )
    return {row.partition: row.next_offset for row in rows}


async def lock_positions(
    conn: AsyncConnection, consumer_group: str, topic: str, partitions: Iterable[int] | None
) -> dict[int, int]:
    """Lock the rows of ``partitions`` (every one of the group's for ``None``); their offsets."""
    query = sa.select(_c.partition, _c.next_offset).where(_of(consumer_group, topic))
    if partitions is not None:
        query = query.where(one_of(conn, _c.partition, sorted(set(partitions))))
    rows = await conn.execute(query.order_by(_c.partition).with_for_update())
    return {row.partition: row.next_offset for row in rows}


async def store_positions(
    conn: AsyncConnection, consumer_group: str, topic: str, next_offsets: Mapping[int, int]
) -> None:
    """Set the next offset of each partition in ``next_offsets``."""
    if not next_offsets:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "consumer_group": consumer_group,
            "topic": topic,
            "partition": partition,
            "next_offset": offset,
            "updated_at": now,
        }
        for partition, offset in sorted(next_offsets.items())
    ]
    stmt = insert(conn, consumer_positions)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["consumer_group", "topic", "partition"],
            set_={"next_offset": stmt.excluded.next_offset, "updated_at": stmt.excluded.updated_at},
        ),
        rows,
    )
