"""Rebuilding the read models from the log on a real Kafka and PostgreSQL.

Each test gets a database schema of its own (a rebuild replaces whole tables), migrated like
the real one: the rebuilt tables must equal the incrementally built ones row for row, the API
must keep answering from the old tables meanwhile, and no event may be lost or applied twice
across the switch while the live projector keeps consuming.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.generate import talks_history
from services.api.queries import talks_state
from services.api.timeparams import Bitemporal
from services.common.database import create_engine
from services.projector.consumer import ProjectorLoop
from services.projector.dlq import ensure_topics
from services.projector.migrate import upgrade_to_head
from services.projector.projection import Projection
from services.projector.rebuild import Progress, Rebuild, RebuildBusy
from services.projector.settings import ProjectorSettings
from shared.cloudevents import headers_for
from shared.events import Event, to_json
from tests.support.infra import ROOT
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

#: What must come out identical, per table (``id`` of item_versions is a sequence number).
CONTENT = {
    "item_versions": "talks_id, kind, item_key, known_from, known_to, valid_from, valid_to, doc",
    "events": "event_id, talks_id, type, occurred_at, occurred_earliest, occurred_latest, "
    'recorded_at, partition, "offset", payload, target_event_id',
    "item_events": "talks_id, kind, item_key, event_id",
    "talks": "talks_id, event_count, first_recorded_at, last_recorded_at",
    "event_counts": "talks_id, valid_month, known_month, versions",
}
#: Rows that may differ with the batches' bounds: a cell counted and uncounted in one batch
#: is never written, in two it stays at zero.
IGNORED = {"event_counts": "versions = 0"}


@pytest.fixture
async def settings(infra: Any) -> AsyncIterator[ProjectorSettings]:
    """Settings whose database URL points at a fresh, migrated schema of its own."""
    schema, tag = f"rebuild_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    admin = create_engine(infra.database_url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in infra.database_url else "?"
    dsn = quote(f"postgresql://?search_path={schema}", safe="")
    url = f"{infra.database_url}{separator}dsn={dsn}"
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        yield ProjectorSettings(
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            database_url=url,
            topic=f"parley.events.rb-{tag}",
            topic_partitions=3,
            consumer_group=f"parley-projector-rb-{tag}",
            max_batch=200,
            poll_timeout_ms=50,
        )
    finally:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def engine(settings: ProjectorSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


def histories(talks: int, size: int, seed: int) -> list[Event]:
    """Several talks' generated histories (corrections and retractions included), interleaved."""
    per_talks = [talks_history(f"rb-{seed}-{i}", size, seed + i) for i in range(talks)]
    return [e for group in zip(*per_talks, strict=False) for e in group]


async def produce(s: ProjectorSettings, batch: list[Event]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(s.topic, to_json(e), e.talks_id.encode(), headers=headers_for(e))
            for e in batch
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


@asynccontextmanager
async def live_projector(s: ProjectorSettings, engine: AsyncEngine) -> AsyncIterator[Projection]:
    projection = Projection(engine, s.consumer_group, s.topic, dead_letters=None)
    loop = ProjectorLoop(s, projection)
    task = asyncio.create_task(loop.run())
    try:
        yield projection
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)


async def archived(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT count(*) FROM events")) or 0)


async def until_archived(engine: AsyncEngine, count: int, timeout_s: float = 120) -> None:
    async def done() -> bool:
        return await archived(engine) >= count

    assert await eventually(done, timeout_s, every_s=0.2), f"{await archived(engine)} of {count}"


async def content(engine: AsyncEngine) -> dict[str, tuple[int, str]]:
    """Per table: the row count and an order-independent hash of the rows' content."""
    out = {}
    async with engine.connect() as conn:
        for table, columns in CONTENT.items():
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                        f"FROM (SELECT md5(ROW({columns})::text) AS h FROM {table}"
                        f" WHERE NOT ({IGNORED.get(table, 'false')})) AS rows"
                    )
                )
            ).one()
            out[table] = (row[0], row[1])
    return out


async def tables_and_indexes(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    async with engine.connect() as conn:
        tables = await conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        indexes = await conn.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        )
        return set(tables.scalars()), set(indexes.scalars())


async def states(engine: AsyncEngine, talks_ids: set[str]) -> dict[tuple[str, int], Any]:
    """What the API answers for each talks, at a few dates, as known at a few times."""
    times = [datetime(year, 6, 30, tzinfo=UTC) for year in (2025, 2026, 2100)]
    return {
        (talks_id, i): await talks_state(engine, talks_id, Bitemporal(as_of, known_at), 30)
        for talks_id in sorted(talks_ids)
        for i, (as_of, known_at) in enumerate((a, k) for a in times for k in times)
    }


async def test_a_rebuild_equals_the_incremental_build_and_the_api_serves_meanwhile(
    settings, engine
) -> None:
    history = histories(talks=4, size=150, seed=7)
    await ensure_topics(settings)
    await produce(settings, history)
    async with live_projector(settings, engine):
        await until_archived(engine, len(history))
    before = await content(engine)
    talks = {e.talks_id for e in history}
    served = await states(engine, talks)
    during: list[Progress] = []

    async def meanwhile(progress: Progress) -> None:
        if not during:  # halfway through: the API still answers from the old tables
            assert await states(engine, talks) == served
            async with engine.connect() as conn:
                shadow = await conn.scalar(sa.text("SELECT count(*) FROM events__rebuild"))
            assert 0 < (shadow or 0) < len(history)
        during.append(progress)

    report = await Rebuild(engine, settings, None, on_progress=meanwhile).run()

    assert await content(engine) == before
    assert await states(engine, talks) == served
    assert (report.records, report.events, report.dead_lettered) == (len(history),) * 2 + (0,)
    assert len(during) > 1 and during[-1].records == len(history)
    tables, indexes = await tables_and_indexes(engine)
    assert not {t for t in tables if t.endswith(("__rebuild", "__old"))}
    assert {"pk_item_versions", "ix_item_versions_items_open", "ix_events_recorded"} <= indexes
    assert not {i for i in indexes if i.endswith(("__rebuild", "__old"))}
    await insert_a_version(engine)


async def insert_a_version(engine: AsyncEngine) -> None:
    """The sequence of ``item_versions.id`` survived the old table's drop."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO item_versions (talks_id, kind, item_key, known_from, valid_from, "
                "tags, doc) VALUES ('x', 'round', 'x', now(), now(), '[]', '{}')"
            )
        )


async def test_no_event_is_lost_or_doubled_across_the_switch(settings, engine) -> None:
    history = histories(talks=3, size=200, seed=11)
    first, rest = history[:300], history[300:]
    await ensure_topics(settings)
    await produce(settings, first)
    async with live_projector(settings, engine):
        await until_archived(engine, len(first))

        async def keep_producing() -> None:
            for i in range(0, len(rest), 10):
                await produce(settings, rest[i : i + 10])
                await asyncio.sleep(0.01)

        producing = asyncio.create_task(keep_producing())
        report = await Rebuild(engine, settings, None).run()
        await producing
        await until_archived(engine, len(history))
        await asyncio.sleep(1)  # anything applied twice would show now
        assert await archived(engine) == len(history)
    assert report.records >= len(first)
    concurrent = await content(engine)

    # From scratch, with nothing running, the rebuild must come out the same.
    again = await asyncio.to_thread(cli, settings, "projections", "rebuild", "--keep-old")
    assert again.returncode == 0, again.stderr
    assert f"rebuilt {len(history)} events from {len(history)} records" in again.stdout
    assert "events/s" in again.stderr  # the progress
    assert await content(engine) == concurrent
    tables, _ = await tables_and_indexes(engine)
    assert {"events__old", "item_versions__old"} <= tables  # kept until the next rebuild
    await Rebuild(engine, settings, None).run()
    tables, _ = await tables_and_indexes(engine)
    assert not {t for t in tables if t.endswith(("__rebuild", "__old"))}
    assert await content(engine) == concurrent
    await insert_a_version(engine)


async def test_one_rebuild_at_a_time(settings, engine) -> None:
    async with engine.connect() as conn:
        lock = "SELECT pg_advisory_lock(hashtext(current_schema() || '.rebuild'))"
        await conn.execute(sa.text(lock))
        with pytest.raises(RebuildBusy):
            await Rebuild(engine, settings, None).run()


def cli(s: ProjectorSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARLEY_DATABASE_URL": s.database_url,
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "PARLEY_TOPIC": s.topic,
        "PARLEY_CONSUMER_GROUP": s.consumer_group,
    }
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_a_projector_given_partitions_corrects_event_counts(settings, engine) -> None:
    """What a projector from before 0013 leaves (cells that do not match the versions) is
    corrected in the background when a projector is given partitions."""
    history = histories(talks=2, size=60, seed=5)
    await ensure_topics(settings)
    await produce(settings, history)
    async with live_projector(settings, engine):
        await until_archived(engine, len(history))
    right = await content(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE event_counts SET versions = versions + 5"))
    assert await content(engine) != right

    async def corrected() -> bool:
        return await content(engine) == right

    async with live_projector(settings, engine):
        assert await eventually(corrected, 30, every_s=0.2)
