"""Counting what the read models hold against what the ingest acknowledged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from faults.scenario import Scenario, say
from services.projector.schema import (
    COUNTED,
    consumer_positions,
    event_counts,
    events,
    item_versions,
    talks,
)


@dataclass(frozen=True)
class Tally:
    """``present``: acknowledged events in the archive. ``missing``: acknowledged events absent
    from the archive or from the event items, plus talks counting fewer events than archived
    or fewer open event versions in ``event_counts`` than stored. ``duplicated``: archive rows
    and current event items beyond one per event id, plus talks counting more of either."""

    acknowledged: int
    present: int
    missing: int
    duplicated: int

    @property
    def ok(self) -> bool:
        return self.acknowledged > 0 and self.missing == 0 and self.duplicated == 0

    def __str__(self) -> str:
        return (
            f"acknowledged {self.acknowledged}, present {self.present}, "
            f"missing {self.missing}, duplicated {self.duplicated}"
        )


@dataclass
class Report:
    """A scenario's tally, what else it counted or noticed, and what else went wrong."""

    tally: Tally
    figures: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tally.ok and not self.problems

    def lines(self) -> list[str]:
        """The report as printed: figures, notes, problems, then the tally."""
        lines = (
            [", ".join(f"{name} {n}" for name, n in self.figures.items())] if self.figures else []
        )
        lines += self.notes + [f"FAILED: {problem}" for problem in self.problems]
        return [*lines, str(self.tally)]


async def tally_when_projected(
    scenario: Scenario, acknowledged: Mapping[str, tuple[int, int]]
) -> Report:
    """Wait until the projector is past every acknowledged event, then tally."""
    caught_up = await wait_for_projection(scenario, acknowledged)
    report = Report(await tally(scenario.engine, acknowledged))
    if not caught_up:
        report.problems.append("the projector did not catch up")
    return report


async def tally(engine: AsyncEngine, acknowledged: Mapping[str, object]) -> Tally:
    """Count every acknowledged event in the archive, the event items and the talks counts."""
    e, t, v = events.c, talks.c, item_versions.c
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot
        archive: dict[UUID, int] = dict(
            (await conn.execute(sa.select(e.event_id, sa.func.count()).group_by(e.event_id))).all()
        )
        current_items = sa.select(v.item_key, sa.func.count()).where(
            v.kind == "event", v.known_to.is_(None)
        )
        items: dict[str, int] = dict((await conn.execute(current_items.group_by(v.item_key))).all())
        counted = sa.select(t.event_count - sa.func.count(e.event_id)).select_from(
            talks.outerjoin(events, e.talks_id == t.talks_id)
        )
        miscounts = list((await conn.execute(counted.group_by(t.talks_id))).scalars())
        miscounts += await _grid_miscounts(conn)
    wanted = {UUID(event_id) for event_id in acknowledged}
    projected = {event_id for event_id in archive if str(event_id) in items}
    return Tally(
        acknowledged=len(wanted),
        present=len(wanted & archive.keys()),
        missing=len(wanted - projected) + sum(-d for d in miscounts if d < 0),
        duplicated=sum(n - 1 for n in archive.values())
        + sum(n - 1 for n in items.values())
        + sum(d for d in miscounts if d > 0),
    )


async def _grid_miscounts(conn: AsyncConnection) -> list[int]:
    """Per talks, the open event versions ``event_counts`` counts less those stored."""
    c, v = event_counts.c, item_versions.c
    kept = sa.select(c.talks_id, sa.func.sum(c.versions).label("n")).group_by(c.talks_id)
    stored = (
        sa.select(v.talks_id, sa.func.count().label("n"))
        .where(sa.text(COUNTED))
        .group_by(v.talks_id)
    )
    kept_by = {row.talks_id: int(row.n) for row in await conn.execute(kept)}
    stored_by = {row.talks_id: int(row.n) for row in await conn.execute(stored)}
    return [kept_by.get(t, 0) - stored_by.get(t, 0) for t in kept_by.keys() | stored_by.keys()]


async def archived(engine: AsyncEngine) -> int:
    """How many events the archive holds."""
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(events)) or 0)


async def archived_at_least(engine: AsyncEngine, count: int, timeout_s: float = 300.0) -> int:
    """Wait until the archive holds ``count`` events or more; how many it holds then."""
    deadline = time.monotonic() + timeout_s
    while (done := await archived(engine)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the archive holds {done} events, not {count}, after {timeout_s}s")
        await asyncio.sleep(0.05)
    return done


async def wait_for_projection(
    scenario: Scenario, acknowledged: Mapping[str, tuple[int, int]], stall_s: float = 60.0
) -> bool:
    """Wait until the projector's stored positions are past every acknowledged offset; give up
    when they have not moved for ``stall_s``. Whether it caught up."""
    needed: dict[int, int] = {}
    for partition, offset in acknowledged.values():
        needed[partition] = max(needed.get(partition, 0), offset + 1)
    last, moved_at, said_at = None, time.monotonic(), time.monotonic()
    while True:
        try:
            positions = await _positions(scenario)
            count = await archived(scenario.engine)
        except (DBAPIError, OSError):
            positions, count = {}, -1
        behind = sum(max(0, end - positions.get(p, 0)) for p, end in needed.items())
        if behind == 0:
            say(f"projector caught up: {count} events archived")
            return True
        if (count, behind) != last:
            last, moved_at = (count, behind), time.monotonic()
        if time.monotonic() - moved_at > stall_s:
            say(f"projector stalled for {stall_s:.0f}s, {behind} acknowledged offsets behind")
            return False
        if time.monotonic() - said_at > 5:
            say(f"projecting: {count} events archived, {behind} offsets to go")
            said_at = time.monotonic()
        await asyncio.sleep(0.5)


async def _positions(scenario: Scenario) -> dict[int, int]:
    c = consumer_positions.c
    async with scenario.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(c.partition, c.next_offset).where(
                c.consumer_group == scenario.consumer_group, c.topic == scenario.topic
            )
        )
        return {row.partition: row.next_offset for row in rows}
