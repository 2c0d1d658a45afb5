"""What an operator watches, on a real Kafka and PostgreSQL: the projector's log lines carry the
trace of each event; the open dead letters gauge follows the table; a rebuild's progress
gauges move while it runs and end at what it did."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import tracing
from services.common.database import create_engine
from services.common.logs import JsonFormatter
from services.projector.dlq import ensure_topics
from services.projector.projection import LogRecord, Projection
from services.projector.rebuild import Progress, Rebuild
from services.projector.schema import dead_letters
from services.projector.settings import ProjectorSettings
from shared.cloudevents import headers_for
from shared.events import EVENT_ADAPTER, stamp, to_json
from tests.integration.test_projection import T0
from tests.integration.test_rebuild import (
    histories,
    live_projector,
    produce,
    until_archived,
)
from tests.integration.test_rebuild import settings as settings

pytestmark = pytest.mark.integration


def traced_record(talks_id: str, offset: int, trace: tracing.TraceContext) -> LogRecord:
    raw = {
        "type": "round.opened",
        "talks_id": talks_id,
        "occurred_at": "2026-02-04",
        "data": {"round_id": f"r{offset}"},
    }
    event = stamp(EVENT_ADAPTER.validate_python(raw), uuid.uuid4(), T0)
    return LogRecord(0, offset, to_json(event), tuple(headers_for(event, trace.header())))


def open_letters(group: str) -> float | None:
    return REGISTRY.get_sample_value(
        "parley_projector_dead_letters_open", {"consumer_group": group}
    )


async def test_each_applied_event_is_logged_with_the_trace_of_its_record(
    engine: AsyncEngine, talks_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    projection = Projection(engine, f"group-{uuid.uuid4().hex[:8]}", "topic")
    traces = [tracing.new_trace(), tracing.new_trace()]
    batch = [traced_record(talks_id, i, t) for i, t in enumerate(traces)]
    untraced = LogRecord(0, 2, batch[0].value.replace(b"r0", b"r9"), ())  # same id: a duplicate
    with caplog.at_level(logging.INFO, logger="services.projector.projection"):
        result = await projection.apply([*batch, untraced])
    assert (result.applied, result.duplicates) == (2, 1)
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.msg == "applied event"
    ]
    assert [(line["trace_id"], line["offset"]) for line in lines] == [
        (traces[0].trace_id, 0),
        (traces[1].trace_id, 1),
    ]
    assert {line["talks_id"] for line in lines} == {talks_id}
    assert [line["event_id"] for line in lines] == [json.loads(r.value)["event_id"] for r in batch]


async def test_the_open_dead_letters_gauge_follows_the_table(
    engine: AsyncEngine, talks_id: str
) -> None:
    group = f"group-{uuid.uuid4().hex[:8]}"
    projection = Projection(engine, group, "topic")
    trace = tracing.new_trace()
    await projection.apply([traced_record(talks_id, 0, trace)])
    assert open_letters(group) == 0
    result = await projection.apply(
        [LogRecord(0, 1, b"not json"), LogRecord(0, 2, b"{}"), traced_record(talks_id, 3, trace)]
    )
    assert (result.rejected, result.applied) == (2, 1)
    assert open_letters(group) == 2  # refreshed right after the batch that filed them
    async with engine.begin() as conn:  # an operator skips one (parley dead-letters skip)
        c = dead_letters.c
        first = await conn.scalar(
            sa.select(sa.func.min(c.id)).where(c.consumer_group == group, c.topic == "topic")
        )
        await conn.execute(sa.update(dead_letters).where(c.id == first).values(status="skipped"))
    await projection.refresh_gauges()  # what the next batch after a few seconds, or /status, does
    assert open_letters(group) == 1


def sample(name: str, labels: dict[str, str] | None = None) -> float | None:
    return REGISTRY.get_sample_value(name, labels or {})


@pytest.fixture
async def schema_engine(settings: ProjectorSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on the rebuild test's own schema (a rebuild replaces whole tables)."""
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


async def test_rebuild_progress_gauges_move_while_it_runs(
    settings: ProjectorSettings,
    schema_engine: AsyncEngine,
) -> None:
    engine = schema_engine
    history = histories(talks=3, size=120, seed=11)
    await ensure_topics(settings)
    await produce(settings, history)
    async with live_projector(settings, engine):
        await until_archived(engine, len(history))
    seen: list[tuple[float | None, float | None, float | None]] = []

    async def meanwhile(progress: Progress) -> None:
        phase = progress.phase.replace(" ", "_")
        seen.append(
            (
                sample("parley_rebuild_records"),
                sample("parley_rebuild_records_target"),
                sample("parley_rebuild_phase", {"parley_rebuild_phase": phase}),
            )
        )

    report = await Rebuild(engine, settings, None, on_progress=meanwhile).run()

    total = len(history)
    assert report.records == total
    assert len(seen) > 1
    records = [s[0] for s in seen]
    assert records == sorted(records) and records[0] is not None and records[0] < total
    assert all(target is not None and target >= total for _, target, _ in seen)
    assert all(phase == 1 for _, _, phase in seen)  # the phase each progress report named
    assert sample("parley_rebuild_records") == total
    assert sample("parley_rebuild_events") == report.events
    assert sample("parley_rebuild_phase", {"parley_rebuild_phase": "done"}) == 1
    assert sample("parley_rebuild_phase", {"parley_rebuild_phase": "reading"}) == 0
    positions = {
        str(p): sample("parley_rebuild_position", {"partition": str(p)}) for p in report.positions
    }
    assert sum(v or 0 for v in positions.values()) == sum(report.positions.values()) == total
