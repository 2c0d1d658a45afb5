"""The projection on a real PostgreSQL: atomic batches, replays and duplicates applied once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.payloads import fresh_history
from services.api.queries import talks_state
from services.api.timeparams import Bitemporal
from services.common.database import create_engine
from services.projector import projection as projection_module
from services.projector.dialect import IdPool, copy_records
from services.projector.items import REBUILD_LOCK
from services.projector.poison import is_poison
from services.projector.projection import LogRecord, Projection
from services.projector.schema import counted_cells, event_counts, events, item_versions, talks
from shared.events import EVENT_ADAPTER, parse_recorded, stamp, to_json
from shared.state import fold, histories
from tests.support.builders import version_rows

pytestmark = pytest.mark.integration

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def recorded(talks_id: str, kind: str, round_id: str, n: int) -> bytes:
    data: dict[str, object] = {"round_id": round_id}
    if kind == "round.scheduled":
        data |= {"venue": {"city": "Abu Dhabi", "country": "ARE"}, "planned_start": "2026-02-04"}
    if kind == "round.closed":
        data |= {"outcome": "no_agreement"}
    raw = {
        "type": kind,
        "talks_id": talks_id,
        "occurred_at": f"2026-02-{1 + n % 27:02d}",
        "data": data,
    }
    event = EVENT_ADAPTER.validate_python(raw)
    return to_json(stamp(event, uuid.uuid4(), T0 + timedelta(seconds=n)))


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine the services build, on either store."""
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def projection(engine: AsyncEngine) -> Projection:
    return Projection(engine, f"group-{uuid.uuid4().hex[:8]}", "topic")


async def count(engine: AsyncEngine, talks_id: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        archived = await conn.scalar(
            sa.select(sa.func.count()).select_from(events).where(events.c.talks_id == talks_id)
        )
        counted = await conn.scalar(
            sa.select(talks.c.event_count).where(talks.c.talks_id == talks_id)
        )
    return archived or 0, counted or 0


async def test_a_batch_lands_with_its_positions(engine, projection, talks_id) -> None:
    batch = [
        LogRecord(0, 0, recorded(talks_id, "round.scheduled", "r2", 0)),
        LogRecord(0, 1, recorded(talks_id, "round.opened", "r2", 1)),
        LogRecord(3, 7, recorded(talks_id, "round.opened", "r1", 2)),
    ]
    result = await projection.apply(batch)
    assert result.applied == 3
    assert await projection.positions() == {0: 2, 3: 8}
    assert await count(engine, talks_id) == (3, 3)
    async with engine.connect() as conn:
        current = (
            await conn.execute(
                sa.select(item_versions.c.item_key, item_versions.c.doc).where(
                    item_versions.c.talks_id == talks_id,
                    item_versions.c.kind == "round",
                    item_versions.c.known_to.is_(None),
                    item_versions.c.valid_to.is_(None),
                )
            )
        ).all()
    assert {key: orjson.loads(doc)["status"] for key, doc in current} == {
        "r1": "in_progress",
        "r2": "in_progress",
    }


async def test_replayed_records_are_skipped(engine, projection, talks_id) -> None:
    batch = [LogRecord(0, i, recorded(talks_id, "round.opened", f"r{i}", i)) for i in range(5)]
    await projection.apply(batch[:3])
    result = await projection.apply(batch)  # a restart that re-fetched from offset 0
    assert (result.replays, result.applied) == (3, 2)
    assert await count(engine, talks_id) == (5, 5)
    assert await projection.positions() == {0: 5}


async def test_an_event_twice_on_the_topic_counts_once(engine, projection, talks_id) -> None:
    value = recorded(talks_id, "round.opened", "r2", 0)
    result = await projection.apply([LogRecord(0, 0, value), LogRecord(0, 1, value)])
    second = await projection.apply([LogRecord(1, 0, value)])
    assert (result.applied, result.duplicates, second.duplicates) == (1, 1, 1)
    assert await count(engine, talks_id) == (1, 1)
    assert await projection.positions() == {0: 2, 1: 1}


async def test_an_undecodable_record_is_skipped_and_the_rest_applied(engine, projection, talks_id):
    batch = [
        LogRecord(0, 0, b"not json"),
        LogRecord(0, 1, recorded(talks_id, "round.opened", "r2", 1)),
    ]
    result = await projection.apply(batch)
    assert (result.rejected, result.applied) == (1, 1)
    assert await projection.positions() == {0: 2}


async def test_a_failed_batch_changes_nothing(engine, projection, talks_id) -> None:
    good = LogRecord(0, 0, recorded(talks_id, "round.opened", "r2", 0))
    if engine.dialect.name == "sqlite":  # no ADD CONSTRAINT: a trigger refuses instead
        refuse = (
            "CREATE TRIGGER ck_test_fail BEFORE INSERT ON item_versions"
            f" WHEN NEW.talks_id = '{talks_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        allow = "DROP TRIGGER ck_test_fail"
    else:
        check = f"CHECK (talks_id <> '{talks_id}')"
        refuse = f"ALTER TABLE item_versions ADD CONSTRAINT ck_test_fail {check}"
        allow = "ALTER TABLE item_versions DROP CONSTRAINT ck_test_fail"
    async with engine.begin() as conn:  # make the database refuse this talks' items
        await conn.execute(sa.text(refuse))
    try:
        with pytest.raises(sa.exc.IntegrityError):
            await projection.apply([good])
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(allow))
    assert await count(engine, talks_id) == (0, 0)
    assert await projection.positions() == {}
    assert (await projection.apply([good])).applied == 1


async def test_read_models_equal_the_pure_fold(engine, projection, talks_id) -> None:
    kinds = ["round.scheduled", "round.opened", "round.closed"]
    values = [recorded(talks_id, kinds[i % 3], f"r{i % 4}", i) for i in range(24)]
    for start in range(0, 24, 5):
        await projection.apply(
            [LogRecord(2, i, values[i]) for i in range(start, min(start + 5, 24))]
        )
    decoded = [parse_recorded(v) for v in values]
    for day in (3, 9, 27):
        as_of = datetime(2026, 2, day, 23, 59, tzinfo=UTC)
        for known_at in (T0 + timedelta(seconds=5), T0 + timedelta(days=1)):
            when = Bitemporal(as_of=as_of, known_at=known_at)
            served = await talks_state(engine, talks_id, when, window_days=30)
            assert served == fold(talks_id, decoded, as_of=as_of, known_at=known_at)


async def fail(*args: object) -> None:
    raise ConnectionResetError("the database went away")


async def stored_versions(engine: AsyncEngine, talks_id: str) -> set[tuple]:
    columns = [
        item_versions.c.kind,
        item_versions.c.item_key,
        item_versions.c.known_from,
        item_versions.c.known_to,
        item_versions.c.valid_from,
        item_versions.c.valid_to,
        item_versions.c.doc,
    ]
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(*columns).where(item_versions.c.talks_id == talks_id))
        return {tuple(row) for row in rows}


def recomputed_versions(history: list) -> set[tuple]:
    return {
        (
            *(key.kind, key.key, v.known_from, v.known_to, v.valid_from, v.valid_to),
            v.value.model_dump_json(),
        )
        for key, versions in histories(history).items()
        for v in versions
    }


@pytest.mark.parametrize(
    ("cached_events", "prepared"), [(20_000, True), (20_000, False), (0, False)]
)
async def test_histories_advanced_batch_by_batch_equal_the_recomputed_ones(
    engine, talks_id, monkeypatch, cached_events, prepared
) -> None:
    """The live feed's path: most items are advanced from what the projection remembers.
    A second projector writing in between, a rolled-back batch and the reports in the history
    (corrections, retractions, late reports) make it recompute; the result is the same.
    With a cache of no events (``PARLEY_ITEM_CACHE_EVENTS=0``) every item is recomputed.
    Prepared ahead (as the consumer loop does), the events' own items are taken ready-made."""
    group = f"group-{uuid.uuid4().hex[:8]}"
    projection = Projection(engine, group, "topic", cached_events=cached_events)
    history = fresh_history(talks_id, 400, seed=3)  # the same shapes, event ids never seen
    values = [to_json(e) for e in history]
    other = Projection(engine, projection._group, "topic")  # another cache, same group
    offset = 0
    for size in [1, 7, 30, 2, 50, 13, 90, 5, 60, 40, 3, 99]:
        batch = [LogRecord(0, offset + i, v) for i, v in enumerate(values[offset : offset + size])]
        if prepared:
            projection.prepare(batch)
        if size == 13:  # the other projector applies this one: the first one's cache is stale
            await other.apply(batch)
        elif size == 5:  # fails after the items are written, is rolled back, then applied
            with monkeypatch.context() as patched:
                patched.setattr(projection_module, "count_talks", fail)
                with pytest.raises(ConnectionResetError):
                    await projection.apply(batch)
            await projection.apply(batch)
        else:
            await projection.apply(batch)
        offset += size
    assert offset == len(values)
    if cached_events:
        assert projection.items.advanced >= 10  # most items here are strikes: new each time
    else:
        assert projection.items.advanced == 0
    assert (projection.items.prepared > 100) == prepared  # strikes and events' own items
    assert await stored_versions(engine, talks_id) == recomputed_versions(history)
    assert await stored_counts(engine, talks_id) == recomputed_counts(talks_id, history)


async def stored_counts(engine: AsyncEngine, talks_id: str) -> dict[tuple, int]:
    c = event_counts.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(c.talks_id, c.valid_month, c.known_month, c.versions).where(
                c.talks_id == talks_id, c.versions != 0
            )
        )
        return {(t, v, k): n for t, v, k, n in rows}


def recomputed_counts(talks_id: str, history: list) -> dict[tuple, int]:
    """``event_counts`` as the versions of the whole history give it."""
    return dict(counted_cells(version_rows(talks_id, history)))


async def test_a_value_copy_cannot_store_is_the_records_fault(infra) -> None:
    """Versions go in with COPY on PostgreSQL; its errors are classified as a statement's:
    a value the database cannot store (SQLSTATE class 22) is poison, a constraint is not."""
    engine = create_engine(infra.database_url)
    row = [9_000_000_000_000 + uuid.uuid4().int % 10**9, "t", "round", "r"]
    row += [T0, None, T0, None, "[]", "{}", None, None]
    columns = ["id", "talks_id", "kind", "item_key", "known_from", "known_to", "valid_from"]
    columns += ["valid_to", "tags", "doc", "sort_first", "sort_second"]
    try:
        async with engine.connect() as conn:
            too_long = [(*row[:1], "x" * 65, *row[2:])]  # talks_id is varchar(64)
            with pytest.raises(sa.exc.DataError) as data_error:
                await copy_records(conn, "item_versions", columns, too_long)
            assert is_poison(data_error.value)
            await conn.rollback()
            without_key = [(*row[:3], None, *row[4:])]  # item_key is NOT NULL
            with pytest.raises(sa.exc.IntegrityError) as integrity_error:
                await copy_records(conn, "item_versions", columns, without_key)
            assert not is_poison(integrity_error.value)
    finally:
        await engine.dispose()


async def test_version_ids_are_taken_from_the_sequence_many_at_a_time(engine) -> None:
    """A pool of the sequence's values: one round trip for several batches, never an id
    twice, none at all on SQLite (it numbers the rows itself)."""
    pool = IdPool("item_versions", at_least=5)
    async with engine.connect() as conn:
        taken = [await pool.take(conn, n) for n in (2, 2, 2, 7)]
        if conn.dialect.name == "sqlite":
            assert taken == [None] * 4
            return
        statements: list[str] = []
        sa.event.listen(
            conn.sync_connection,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, *_: statements.append(statement),
        )
        assert await pool.take(conn, 1) is not None
    flat = [i for ids in taken for i in ids or []]
    assert len(flat) == 13 and len(set(flat)) == 13 and flat == sorted(flat)
    assert statements == []  # the pool still held values: no round trip


async def test_a_recount_corrects_what_a_projector_before_event_counts_wrote(
    engine, projection, talks_id
) -> None:
    """A projector from before 0013, running beside this one during a rolling upgrade, writes
    versions without counting them; the recount a projector runs when it is given partitions
    (in the background: ``ProjectorLoop``) corrects the cells."""
    values = [recorded(talks_id, "round.opened", f"r{i}", i) for i in range(6)]
    await projection.apply([LogRecord(0, i, v) for i, v in enumerate(values)])
    expected = await stored_counts(engine, talks_id)
    assert sum(expected.values()) == 6  # each event's own item, open in both dimensions
    old = parse_recorded(recorded(talks_id, "round.opened", "r9", 9))
    async with engine.begin() as conn:  # what the old projector writes: a version, uncounted
        await conn.execute(sa.insert(item_versions), version_rows(talks_id, [old]))
        await conn.execute(sa.delete(event_counts).where(event_counts.c.talks_id == talks_id))
    assert await stored_counts(engine, talks_id) == {}
    assert await projection.recount() is not None
    recounted = await stored_counts(engine, talks_id)
    assert sum(recounted.values()) == 7
    assert recounted == recomputed_counts(talks_id, [*map(parse_recorded, values), old])
    assert await projection.recount() == 0  # nothing left to correct


async def test_no_recount_while_a_rebuild_runs(infra, projection) -> None:
    """A rebuild makes its tables with the counts right; a recount waits for none."""
    engine = create_engine(infra.database_url)
    try:
        async with engine.connect() as rebuild:
            assert await rebuild.scalar(sa.text(f"SELECT pg_try_advisory_lock({REBUILD_LOCK})"))
            await rebuild.commit()
            other = Projection(engine, projection._group, "topic")
            assert await other.recount() is None
            await rebuild.scalar(sa.text(f"SELECT pg_advisory_unlock({REBUILD_LOCK})"))
            await rebuild.commit()
        assert await other.recount() is not None
    finally:
        await engine.dispose()
