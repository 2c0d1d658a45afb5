"""The operator's side of dead letters: list them, replay them onto the topic, or skip them.

A replay appends the original record (value, key, headers) to the topic again with
``parley_replay_of=<partition>:<offset>``: once the projector is fixed it is applied, and the
archive's ``event_id`` makes a second replay harmless. For a parked talks the unit is the
talks: choosing any of its letters takes all its open ones, in order; ``skip`` applies to the
poison among them, never to the records merely parked behind it, which are always replayed.
The last replay of a parked talks carries ``parley_release`` and the talks stays parked (as
*releasing*) until the projector has applied it; with nothing to replay it is let go at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.appender import Outgoing
from services.projector.deadletters import decode_headers
from services.projector.poison import PARKED
from services.projector.records import RELEASE, REPLAY_OF, without
from services.projector.schema import dead_letters, parked_talks

_d, _p = dead_letters.c, parked_talks.c


class Appender(Protocol):
    """The topic the replays go to."""

    async def append(self, records: Sequence[Outgoing]) -> None: ...


@dataclass(frozen=True, slots=True)
class Letter:
    """What a replay needs of a stored dead letter."""

    id: int
    partition: int
    offset: int
    talks_id: str | None
    error_type: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with the chosen letters: replay these (in order), skip those."""

    replay: list[tuple[Letter, Outgoing]]
    skip: list[int]
    releasing: list[str]  # parked talks whose last replay will let them go
    released: list[str]  # parked talks let go now (nothing of theirs is replayed)


@dataclass
class Resolution:
    """What ``resolve`` did."""

    replayed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    releasing: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    not_open: list[int] = field(default_factory=list)


def plan(letters: Sequence[Letter], parked: set[str], skip: bool) -> Plan:
    """The plan for ``letters`` (in the order they were set aside) of which talks ``parked``."""
    to_replay = [x for x in letters if not (skip and x.error_type != PARKED)]
    last = {x.talks_id: x.id for x in to_replay if x.talks_id in parked}
    replay = []
    for letter in to_replay:
        headers = without(letter.headers, REPLAY_OF, RELEASE)
        headers += ((REPLAY_OF, f"{letter.partition}:{letter.offset}".encode()),)
        if letter.talks_id is not None and last.get(letter.talks_id) == letter.id:
            headers += ((RELEASE, letter.talks_id.encode()),)
        key = letter.key or (letter.talks_id.encode() if letter.talks_id else None)
        replay.append((letter, Outgoing(letter.value, key, headers)))
    replayed = {x.id for x in to_replay}
    return Plan(
        replay=replay,
        skip=[x.id for x in letters if x.id not in replayed],
        releasing=sorted(t for t in last if t is not None),
        released=sorted(parked - set(last)),
    )


async def resolve(
    engine: AsyncEngine,
    appender: Appender,
    consumer_group: str,
    topic: str,
    *,
    ids: Sequence[int] | None,
    skip: bool = False,
) -> Resolution:
    """Replay (or with ``skip``, skip) the open letters ``ids``, or all open ones for ``None``.

    The chosen rows and parked talks stay locked while the replays are appended, so that the
    projector cannot see a replay before its talks is marked releasing. Should the append or
    the commit fail, the letters stay open although some replays may be on the topic:
    replaying them again is harmless (a replay into a talks still parked is parked again).
    """
    mine = sa.and_(_d.consumer_group == consumer_group, _d.topic == topic)
    outcome = Resolution()
    async with engine.begin() as conn:
        chosen = sa.select(_d.id, _d.talks_id, _d.status).where(mine)
        if ids is not None:
            chosen = chosen.where(_d.id.in_(sorted(set(ids))))
        else:
            chosen = chosen.where(_d.status == "open")
        rows = (await conn.execute(chosen)).all()
        outcome.not_open = sorted({*(ids or ())} - {r.id for r in rows if r.status == "open"})
        wanted = {r.id for r in rows if r.status == "open"}
        talks = {r.talks_id for r in rows if r.id in wanted}
        parked = await _lock_parked(conn, consumer_group, topic, talks)
        letters = await _lock_letters(conn, mine, wanted, parked)
        todo = plan(letters, parked & {x.talks_id for x in letters if x.talks_id}, skip)
        await appender.append([out for _, out in todo.replay])
        outcome.replayed, outcome.skipped = [x.id for x, _ in todo.replay], todo.skip
        outcome.releasing, outcome.released = todo.releasing, todo.released
        now = datetime.now(UTC)
        for status, done in (("replayed", outcome.replayed), ("skipped", outcome.skipped)):
            if done:
                await conn.execute(
                    sa.update(dead_letters)
                    .where(_d.id.in_(done))
                    .values(status=status, resolved_at=now)
                )
        where = sa.and_(_p.consumer_group == consumer_group, _p.topic == topic)
        if todo.releasing:
            await conn.execute(
                sa.update(parked_talks)
                .where(where, _p.talks_id.in_(todo.releasing))
                .values(releasing=True)
            )
        if todo.released:
            await conn.execute(sa.delete(parked_talks).where(where, _p.talks_id.in_(todo.released)))
    return outcome


async def _lock_parked(
    conn: AsyncConnection, consumer_group: str, topic: str, talks: set[str | None]
) -> set[str]:
    names = sorted(t for t in talks if t is not None)
    if not names:
        return set()
    rows = await conn.execute(
        sa.select(_p.talks_id)
        .where(_p.consumer_group == consumer_group, _p.topic == topic, _p.talks_id.in_(names))
        .order_by(_p.talks_id)
        .with_for_update()
    )
    return set(rows.scalars())


async def _lock_letters(
    conn: AsyncConnection, mine: sa.ColumnElement[bool], ids: set[int], parked: set[str]
) -> list[Letter]:
    """The open letters ``ids`` and every open letter of the ``parked`` talks, in order."""
    if not ids:
        return []
    which: sa.ColumnElement[bool] = _d.id.in_(sorted(ids))
    if parked:
        which = sa.or_(which, _d.talks_id.in_(sorted(parked)))
    rows = await conn.execute(
        sa.select(
            _d.id, _d.partition, _d.offset, _d.talks_id, _d.error_type, _d.value, _d.key, _d.headers
        )
        .where(mine, _d.status == "open", which)
        .order_by(_d.id)
        .with_for_update()
    )
    return [
        Letter(
            r.id,
            r.partition,
            r.offset,
            r.talks_id,
            r.error_type,
            r.value,
            r.key,
            decode_headers(r.headers),
        )
        for r in rows
    ]
