"""A projection's dead letters: on their topic, in the ``dead_letters`` table, parked talks.

A batch's dead letters are appended to the dead-letter topic (dlq.py), and acknowledged
there, before the transaction that records them and moves the position past them commits.
Should that commit then fail, the batch is read again and its poison dead-lettered a second
time: the topic may hold a dead letter twice, the table never (one row per original record).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.dialect import insert, one_of, tuple_of
from services.projector.dlq import DeadLetterQueue
from services.projector.poison import DeadLetter
from services.projector.records import Headers, LogRecord
from services.projector.schema import dead_letters, parked_talks
from services.projector.triage import Park, ParkChanges, Policy


def encode_headers(headers: Headers) -> list[list[str]]:
    """Headers as JSON: ``[name, base64 of the value]`` pairs, exact whatever the bytes."""
    return [[name, base64.b64encode(value).decode()] for name, value in headers]


def decode_headers(stored: Iterable[Sequence[str]]) -> Headers:
    """The inverse of :func:`encode_headers`."""
    return tuple((name, base64.b64decode(value)) for name, value in stored)


class DeadLetterBox:
    """A projection's dead letters (under its consumer group) and its parked talks.

    ``queue`` is the dead-letter topic; without one (tests, tools) letters go to the table
    only. ``parking=False`` ignores parked talks altogether (a rebuild never parks).
    """

    def __init__(
        self,
        consumer_group: str,
        topic: str,
        queue: DeadLetterQueue | None = None,
        policy: Policy = "skip",
        *,
        parking: bool = True,
    ) -> None:
        self.group, self.topic, self.queue = consumer_group, topic, queue
        self.policy: Policy = policy if parking else "skip"
        self.parking = parking

    def _mine(self) -> sa.ColumnElement[bool]:
        c = dead_letters.c
        return sa.and_(c.consumer_group == self.group, c.topic == self.topic)

    async def seen(
        self, conn: AsyncConnection, records: Sequence[LogRecord]
    ) -> set[tuple[int, int]]:
        """Which of ``records`` were dead-lettered before (by an earlier run or a rebuild)."""
        if not records:
            return set()
        c = dead_letters.c
        where = tuple_of(
            conn, [c.partition, c.offset], sorted({(r.partition, r.offset) for r in records})
        )
        rows = await conn.execute(sa.select(c.partition, c.offset).where(self._mine(), where))
        return {(row.partition, row.offset) for row in rows}

    async def parks(self, conn: AsyncConnection, talks_ids: Iterable[str]) -> dict[str, Park]:
        """The parked talks among ``talks_ids``, locked until the batch commits."""
        wanted = sorted(set(talks_ids))
        if not self.parking or not wanted:
            return {}
        p = parked_talks.c
        rows = await conn.execute(
            sa.select(p.talks_id, p.releasing)
            .where(
                p.consumer_group == self.group,
                p.topic == self.topic,
                one_of(conn, p.talks_id, wanted),
            )
            .order_by(p.talks_id)
            .with_for_update()
        )
        parks = {row.talks_id: Park(releasing=row.releasing) for row in rows}
        if parks:
            c = dead_letters.c
            counts = await conn.execute(
                sa.select(c.talks_id, sa.func.count())
                .where(self._mine(), c.status == "open", c.talks_id.in_(sorted(parks)))
                .group_by(c.talks_id)
            )
            for talks_id, count in counts:
                parks[talks_id].open_letters = count
        return parks

    async def file(
        self, conn: AsyncConnection, letters: Sequence[DeadLetter], changes: ParkChanges
    ) -> None:
        """Publish ``letters`` to the dead-letter topic, then record them and the parked talks."""
        now = datetime.now(UTC)
        if letters:
            if self.queue is not None:
                await self.queue.publish(letters)
            stmt = insert(conn, dead_letters).on_conflict_do_nothing(
                index_elements=["consumer_group", "topic", "partition", "offset"]
            )
            await conn.execute(stmt, [self._row(letter, now) for letter in letters])
        p = parked_talks.c
        mine = sa.and_(p.consumer_group == self.group, p.topic == self.topic)
        if changes.park:
            rows = [
                {"consumer_group": self.group, "topic": self.topic, "talks_id": t}
                | {"releasing": False, "parked_at": now}
                for t in changes.park
            ]
            await conn.execute(insert(conn, parked_talks).on_conflict_do_nothing(), rows)
        if changes.halt:
            await conn.execute(
                sa.update(parked_talks)
                .where(mine, p.talks_id.in_(changes.halt))
                .values(releasing=False)
            )
        if changes.release:
            await conn.execute(sa.delete(parked_talks).where(mine, p.talks_id.in_(changes.release)))

    def _row(self, letter: DeadLetter, now: datetime) -> dict[str, Any]:
        record = letter.record
        return {
            "consumer_group": self.group,
            "topic": self.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key,
            "talks_id": letter.talks_id,
            "event_id": letter.event_id,
            "error_type": letter.error_type,
            "error": letter.error,
            "value": record.value,
            "headers": encode_headers(record.headers),
            "dead_at": now,
            "status": "open",
        }
