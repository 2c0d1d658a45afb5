"""The state read on a history with hundreds of items of every kind answers what the fold
does, on PostgreSQL (items sorted and joined in SQL) and on SQLite (the portable path).

The rows are those the projector writes (``shared.state.histories`` with ``tags_of``, and
their ``event_counts``), put straight into the tables: the test PostgreSQL under a fresh
talks id, a fresh SQLite file. The engine is the one the API reads the state with (no
pre-ping, generic plans on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bench.generate import START, talks_history
from services.api.engine import create_state_engine, read_retrying
from services.api.queries import (
    COVERING_STATE_QUERY,
    STATE_QUERY,
    TalksNotFound,
    _fetch,
    _state_parameters,
    talks_state,
)
from services.api.timeparams import Bitemporal
from services.projector.schema import (
    SPAN_BOUNDS,
    counted_cells,
    event_counts,
    item_versions,
    talks,
)
from shared.events import EVENT_ADAPTER, Event, stamp
from shared.state import fold
from tests.support.builders import version_rows

pytestmark = pytest.mark.integration

TALKS = f"read-{uuid.uuid4().hex[:8]}"
EVENTS = talks_history(TALKS, 600, 3)


async def store(engine: AsyncEngine, talks_id: str, history: list[Event]) -> None:
    """The rows the projector writes for ``history``, put straight into the tables."""
    rows = version_rows(talks_id, history)
    recorded = [e.recorded_at for e in history]
    cells = [
        {"talks_id": t, "valid_month": v, "known_month": k, "versions": n}
        for (t, v, k), n in counted_cells(rows).items()
    ]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(item_versions), rows)
        await conn.execute(sa.insert(event_counts), cells)
        await conn.execute(
            sa.insert(talks),
            [
                {
                    "talks_id": talks_id,
                    "event_count": len(history),
                    "first_recorded_at": min(recorded),
                    "last_recorded_at": max(recorded),
                }
            ],
        )


async def forget(engine: AsyncEngine, talks_id: str) -> None:
    async with engine.begin() as conn:
        for table in (item_versions, talks, event_counts):
            await conn.execute(sa.delete(table).where(table.c.talks_id == talks_id))


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_state_engine(store_url)
    await store(engine, TALKS, EVENTS)
    yield engine
    await forget(engine, TALKS)
    await engine.dispose()


@pytest.mark.parametrize("days", [10, 100, 300, 500, 740])
async def test_the_state_read_is_the_fold(engine: AsyncEngine, days: int) -> None:
    as_of = START + timedelta(days=days)
    for known_at in (as_of, as_of + timedelta(days=9), START + timedelta(days=900)):
        served = await talks_state(engine, TALKS, Bitemporal(as_of, known_at), 30)
        assert served == fold(TALKS, EVENTS, as_of=as_of, known_at=known_at)


async def test_unknown_talks_and_an_empty_state(engine: AsyncEngine) -> None:
    with pytest.raises(TalksNotFound):
        await talks_state(engine, "nobody", Bitemporal(START, START), 30)
    early = START - timedelta(days=30)
    served = await talks_state(engine, TALKS, Bitemporal(early, early), 30)
    assert served == fold(TALKS, EVENTS, as_of=early, known_at=early)


@pytest.fixture
async def pg_engine(infra) -> AsyncIterator[AsyncEngine]:
    """The state read's engine on PostgreSQL (a server whose backends can be terminated)."""
    engine = create_state_engine(infra.database_url)
    yield engine
    await engine.dispose()


async def _backend_pid(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.text("SELECT pg_backend_pid()")))


async def test_a_connection_the_server_closed_is_replaced(pg_engine: AsyncEngine) -> None:
    """The API's engine has no pre-ping: a pooled connection whose backend was terminated
    (a restart, an administrator) while idle is noticed and replaced at checkout."""
    engine = pg_engine
    async with engine.connect() as conn:
        pid = await _backend_pid(conn)
    admin = create_async_engine(engine.url)
    async with admin.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await admin.dispose()
    await asyncio.sleep(0.1)  # the event loop sees the socket close
    async with engine.connect() as conn:  # no retry here: the checkout alone
        assert await _backend_pid(conn) != pid


async def test_a_read_whose_connection_is_lost_runs_once_more(pg_engine: AsyncEngine) -> None:
    """A connection lost during a read's statement: the read runs again on a new one."""
    engine = pg_engine
    pids: list[int] = []

    async def read(conn: AsyncConnection) -> int:
        pids.append(await _backend_pid(conn))
        if len(pids) == 1:
            await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return pids[-1]

    assert await read_retrying(engine, read) == pids[1] != pids[0]

    async def failing(conn: AsyncConnection) -> None:
        pids.append(await _backend_pid(conn))
        await conn.execute(sa.text("SELECT 1/0"))

    with pytest.raises(sa.exc.DBAPIError):  # an error on a live connection is not retried
        await read_retrying(engine, failing)
    assert len(pids) == 3


MARCH = datetime(2026, 3, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def _strike(talks_id: str, occurred_at: str, recorded_at: datetime) -> Event:
    raw = {
        "type": "strike.reported",
        "talks_id": talks_id,
        "occurred_at": occurred_at,
        "data": {
            "attacking_party": "RUS",
            "target_party": "UKR",
            "target_types": ["energy_infrastructure"],
            "weapon_types": ["drone"],
        },
    }
    return stamp(EVENT_ADAPTER.validate_python(raw), uuid.uuid4(), recorded_at)


async def test_the_event_count_at_the_edges_of_months(store_url: str) -> None:
    """Events that took effect or became known on either side of a month's first instant,
    counted from ``event_counts`` (earlier months in both dimensions) and the two months
    around the point: at the instant and a microsecond before, the fold's count."""
    talks_id = f"edges-{uuid.uuid4().hex[:8]}"
    history = [
        _strike(talks_id, "2026-03-01T00:00:00Z", MARCH),  # both on the edge
        _strike(talks_id, "2026-02-28T23:59:59.999999Z", MARCH),
        _strike(talks_id, "2026-03-01T00:00:00Z", MARCH - US),
        _strike(talks_id, "2026-02", MARCH - US),  # in effect from February's last instant
        _strike(talks_id, "2026-01-15", MARCH + timedelta(days=3)),  # known in March
        _strike(talks_id, "2026-03-02", MARCH + timedelta(days=40)),  # known in April
        _strike(talks_id, "2025-12-24", MARCH - timedelta(days=60)),  # early in both
    ]
    engine = create_state_engine(store_url)
    await store(engine, talks_id, history)
    try:
        instants = [MARCH - US, MARCH, MARCH + timedelta(days=3), MARCH + timedelta(days=45)]
        for as_of in instants:
            for known_at in instants:
                served = await talks_state(engine, talks_id, Bitemporal(as_of, known_at), 30)
                expected = fold(talks_id, history, as_of=as_of, known_at=known_at)
                assert (as_of, known_at, served.event_count) == (
                    as_of,
                    known_at,
                    expected.event_count,
                )
                assert served == expected
    finally:
        await forget(engine, talks_id)
        await engine.dispose()


def _closed(
    talks_id: str, key: str, span: tuple[datetime, datetime], in_belief: bool
) -> dict[str, Any]:
    """An item version closed in effect over ``span`` (known from long before, still), or
    closed in belief over it (in effect from long before, still)."""
    start, end = span
    early = datetime(2000, 1, 1, tzinfo=UTC)
    dims = (
        {"known_from": start, "known_to": end, "valid_from": early, "valid_to": None}
        if in_belief
        else {"known_from": early, "known_to": None, "valid_from": start, "valid_to": end}
    )
    served = {"doc": f'{{"ceasefire_id": "{key}"}}', "sort_first": None, "sort_second": None}
    return {"talks_id": talks_id, "kind": "ceasefire", "item_key": key, "tags": []} | served | dims


async def test_closed_versions_at_the_edges_of_their_span_classes(pg_engine: AsyncEngine) -> None:
    """The covering read finds a closed version through the class of its span's length and a
    window of ends (0014): spans a microsecond either side of every class bound, and longer
    than the last, each probed a microsecond either side of its start and of its end, in
    either dimension, give what the portable statement gives, which reads no classes."""
    talks_id = f"spans-{uuid.uuid4().hex[:8]}"
    base = datetime(2026, 1, 1, tzinfo=UTC)
    lengths = [timedelta(0), US, timedelta(days=3650)]
    for bound in SPAN_BOUNDS:
        lengths += [timedelta(seconds=bound) + d for d in (-US, timedelta(0), US)]
    rows, probes = [], []
    for i, length in enumerate(lengths):
        start = base + timedelta(hours=i)  # apart, so the windows matter
        for in_belief in (False, True):
            key = f"{'k' if in_belief else 'v'}{i}"
            rows.append(_closed(talks_id, key, (start, start + length), in_belief))
            for instant in (start - US, start, start + length - US, start + length):
                late = base + timedelta(days=7300)
                when = Bitemporal(late, instant) if in_belief else Bitemporal(instant, late)
                visible = start <= instant < start + length
                probes.append((key, when, visible))
    async with pg_engine.begin() as conn:
        await conn.execute(sa.insert(item_versions), rows)
    try:
        async with pg_engine.connect() as conn:
            for key, when, visible in probes:
                params = _state_parameters(talks_id, when, 30)
                covering = {r[1] for r in await _fetch(conn, COVERING_STATE_QUERY, params)}
                portable = {r[1] for r in await _fetch(conn, STATE_QUERY, params)}
                assert (key, when, key in covering) == (key, when, visible)
                assert covering == portable, when
    finally:
        await forget(pg_engine, talks_id)
