"""Poison on a real Kafka and PostgreSQL: set aside with its headers, the rest applied; pause
holds a talks until its dead letter is replayed or skipped; the API and the CLI list them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from services.api.settings import ApiSettings
from services.common.eventlog import open_log
from services.common.kafka import topic_partitions
from services.projector import items
from services.projector.app import create_health_app
from services.projector.appender import KafkaAppender
from services.projector.consumer import ProjectorLoop
from services.projector.deadletters import DeadLetterBox
from services.projector.dlq import KafkaDeadLetterQueue, ensure_topics
from services.projector.poison import PARKED, PROJECTION_FAILED
from services.projector.projection import LogRecord, Projection
from services.projector.redrive import resolve
from services.projector.schema import dead_letters, events, parked_talks
from services.projector.settings import ProjectorSettings
from shared.cloudevents import headers_for
from shared.events import Event, to_json
from tests.support.auth import AUTH
from tests.support.builders import Recorder
from tests.support.infra import ROOT
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

Sent = tuple[int, int]  # partition, offset


@pytest.fixture
def settings(infra: Any) -> ProjectorSettings:
    tag = uuid.uuid4().hex[:8]
    return ProjectorSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=infra.database_url,
        topic=f"parley.events.dl-{tag}",
        topic_partitions=3,
        consumer_group=f"parley-projector-dl-{tag}",
        poll_timeout_ms=50,
    )


@pytest.fixture
def fold_fails_for_round_boom(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the projection of round ``boom`` raise; call the result to fix it."""
    originals = items.history_and_state, items.advance

    def refuse(key: Any) -> None:
        if key.kind == "round" and key.key == "boom":
            raise RuntimeError("the fold cannot cope with round boom")

    def history_and_state(key: Any, evts: Any) -> Any:
        refuse(key)
        return originals[0](key, evts)

    def advance(key: Any, *args: Any) -> Any:
        refuse(key)
        return originals[1](key, *args)

    def restore() -> None:
        monkeypatch.setattr(items, "history_and_state", originals[0])
        monkeypatch.setattr(items, "advance", originals[1])

    monkeypatch.setattr(items, "history_and_state", history_and_state)
    monkeypatch.setattr(items, "advance", advance)
    return restore


@asynccontextmanager
async def projector(s: ProjectorSettings, engine: AsyncEngine) -> AsyncIterator[Projection]:
    """The projector's consumer loop, in this process, with its dead-letter topic."""
    await ensure_topics(s)
    queue = KafkaDeadLetterQueue(s.kafka_bootstrap_servers, s.dead_letter_topic, s.topic)
    box = DeadLetterBox(s.consumer_group, s.topic, queue, s.poison_policy)
    projection = Projection(engine, s.consumer_group, s.topic, dead_letters=box)
    loop = ProjectorLoop(s, projection)
    await queue.start()
    task = asyncio.create_task(loop.run())
    try:
        yield projection
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)
        await queue.stop()


async def produce(s: ProjectorSettings, records: list[tuple[bytes, bytes, list]]) -> list[Sent]:
    """Append ``(key, value, headers)`` records in order; where each landed."""
    await ensure_topics(s)
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = []
        for key, value, headers in records:
            meta = await producer.send_and_wait(s.topic, value=value, key=key, headers=headers)
            sent.append((meta.partition, meta.offset))
        return sent
    finally:
        await producer.stop()


def good(event: Event) -> tuple[bytes, bytes, list]:
    return event.talks_id.encode(), to_json(event), headers_for(event)


async def caught_up(projection: Projection, sent: list[Sent], timeout_s: float = 60) -> None:
    ends: dict[int, int] = {}
    for partition, offset in sent:
        ends[partition] = max(ends.get(partition, 0), offset + 1)

    async def done() -> bool:
        positions = await projection.positions()
        return all(positions.get(p, 0) >= end for p, end in ends.items())

    assert await eventually(done, timeout_s), "the projector did not reach the end of the topic"


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[Any] = []
        async with asyncio.timeout(30):
            while len(out) < sum(end.values()):
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    out += messages
        return out
    finally:
        await consumer.stop()


async def letters(engine: AsyncEngine, s: ProjectorSettings) -> list[Any]:
    d = dead_letters.c
    async with engine.connect() as conn:
        query = sa.select(dead_letters).where(
            d.consumer_group == s.consumer_group, d.topic == s.topic
        )
        return list((await conn.execute(query.order_by(d.id))).all())


async def archived(engine: AsyncEngine, talks_id: str) -> list[Any]:
    async with engine.connect() as conn:
        query = sa.select(events.c.event_id, events.c.offset).where(events.c.talks_id == talks_id)
        return list((await conn.execute(query.order_by(events.c.offset))).all())


async def test_poison_is_dead_lettered_with_its_headers_and_the_rest_applied(
    settings, engine, talks_id, fold_fails_for_round_boom
) -> None:
    a, b = Recorder(talks_id), Recorder(f"{talks_id}-b")
    first, boom, later, other = (
        a("round.scheduled", round_id="r1"),
        a("round.opened", round_id="boom"),
        a("round.opened", round_id="r1"),
        b("round.opened", round_id="r2"),
    )
    invalid = json.loads(to_json(a("round.opened", round_id="r9")))
    del invalid["data"]["round_id"]
    unknown = {"type": "round.teleported", "talks_id": talks_id, "event_id": str(uuid.uuid4())}
    key = talks_id.encode()
    sent = await produce(
        settings,
        [
            good(first),
            (key, b"not json", [("origin", b"a test")]),
            (key, json.dumps(unknown).encode(), []),
            (key, json.dumps(invalid).encode(), []),
            good(boom),
            good(later),
            good(other),
        ],
    )
    async with projector(settings, engine) as projection:
        await caught_up(projection, sent)
        assert projection.dead_lettered == 4
        health = httpx.ASGITransport(
            create_health_app(settings, engine, projection, open_log(settings, "t"))
        )
        async with httpx.AsyncClient(transport=health, base_url="http://projector") as client:
            status = (await client.get("/status")).json()
    assert (status["open_dead_letters"], status["dead_lettered_since_start"]) == (4, 4)

    rows = await letters(engine, settings)
    assert [(r.error_type, r.partition, r.offset, r.status) for r in rows] == [
        ("undecodable", *sent[1], "open"),
        ("unknown_type", *sent[2], "open"),
        ("invalid", *sent[3], "open"),
        (PROJECTION_FAILED, *sent[4], "open"),
    ]
    assert {r.talks_id for r in rows} == {talks_id}
    assert rows[3].event_id == boom.event_id and "cannot cope" in rows[3].error

    dlq = await read_all(settings.kafka_bootstrap_servers, settings.dead_letter_topic)
    assert len(dlq) == 4
    by_offset = {int(dict(m.headers)["parley_original_offset"]): m for m in dlq}
    garbage = by_offset[sent[1][1]]
    headers = dict(garbage.headers)
    assert (garbage.value, garbage.key, headers["origin"]) == (b"not json", key, b"a test")
    assert headers["parley_error_type"] == b"undecodable"
    assert headers["parley_original_topic"] == settings.topic.encode()
    assert headers["parley_original_partition"] == str(sent[1][0]).encode()
    assert dict(by_offset[sent[4][1]].headers)["ce_id"] == str(boom.event_id).encode()

    applied = {row.event_id for row in await archived(engine, talks_id)}
    assert applied == {first.event_id, later.event_id}  # the later event did not wait (skip)
    assert [row.event_id for row in await archived(engine, other.talks_id)] == [other.event_id]

    with TestClient(create_app(ApiSettings(**api_settings(settings)))) as client:
        page = client.get("/v1/admin/dead-letters?status=open&limit=3", headers=AUTH).json()
        rest = client.get(f"/v1/admin/dead-letters?cursor={page['next_cursor']}", headers=AUTH)
    listed = page["items"] + rest.json()["items"]
    assert [x["error_type"] for x in listed] == [r.error_type for r in rows]
    assert (
        listed[0]["value"] == "not json"
        and {"name": "origin", "value": "a test"} in (listed[0]["headers"])
    )


def api_settings(s: ProjectorSettings) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": s.kafka_bootstrap_servers,
        "database_url": s.database_url,
        "topic": s.topic,
    }


async def test_pause_holds_the_talks_until_its_dead_letter_is_replayed(
    settings, engine, talks_id, fold_fails_for_round_boom
) -> None:
    settings = settings.model_copy(update={"poison_policy": "pause"})
    a, b = Recorder(talks_id), Recorder(f"{talks_id}-b")
    first, boom = a("round.scheduled", round_id="r1"), a("round.opened", round_id="boom")
    held, other = a("round.opened", round_id="r1"), b("round.opened", round_id="r2")
    sent = await produce(settings, [good(first), good(boom), good(held), good(other)])
    appender = KafkaAppender(settings.kafka_bootstrap_servers, settings.topic, "test-replay")
    async with projector(settings, engine) as projection:
        await caught_up(projection, sent)
        rows = await letters(engine, settings)
        assert [(r.error_type, r.event_id) for r in rows] == [
            (PROJECTION_FAILED, boom.event_id),
            (PARKED, held.event_id),
        ]
        assert [r.event_id for r in await archived(engine, talks_id)] == [first.event_id]
        assert [r.event_id for r in await archived(engine, other.talks_id)] == [other.event_id]

        fold_fails_for_round_boom()  # the fix is deployed
        await appender.start()
        try:
            done = await resolve(
                engine, appender, settings.consumer_group, settings.topic, ids=[rows[0].id]
            )
        finally:
            await appender.stop()
        assert (done.replayed, done.releasing) == ([rows[0].id, rows[1].id], [talks_id])

        async def applied() -> bool:
            return len(await archived(engine, talks_id)) == 3

        assert await eventually(applied, 30)
        after = await produce(settings, [good(a("round.closed", round_id="r1"))])
        await caught_up(projection, after)
    order = [r.event_id for r in await archived(engine, talks_id)]
    assert order[1:3] == [boom.event_id, held.event_id]  # replayed in their order
    assert len(order) == 4  # and the talks goes on as usual
    assert [r.status for r in await letters(engine, settings)] == ["replayed", "replayed"]
    async with engine.connect() as conn:
        parked = await conn.scalar(
            sa.select(sa.func.count()).where(parked_talks.c.talks_id == talks_id)
        )
    assert parked == 0


async def test_skip_lets_the_talks_go_and_replays_what_waited_behind(
    settings, engine, talks_id, fold_fails_for_round_boom
) -> None:
    settings = settings.model_copy(update={"poison_policy": "pause"})
    a = Recorder(talks_id)
    boom, held = a("round.opened", round_id="boom"), a("round.scheduled", round_id="r1")
    sent = await produce(settings, [good(boom), good(held)])
    async with projector(settings, engine) as projection:
        await caught_up(projection, sent)
        assert await archived(engine, talks_id) == []
        listed = cli(settings, "dead-letters", "list")
        assert listed.returncode == 0, listed.stderr
        assert "projection_failed" in listed.stdout and "parked" in listed.stdout
        assert "2 open dead letter(s), 1 parked talks" in listed.stderr
        skipped = cli(settings, "dead-letters", "replay", "--all", "--skip")
        assert skipped.returncode == 0, skipped.stderr
        assert "replayed 1, skipped 1" in skipped.stdout

        async def applied() -> bool:
            return [r.event_id for r in await archived(engine, talks_id)] == [held.event_id]

        assert await eventually(applied, 30)
    assert [r.status for r in await letters(engine, settings)] == ["skipped", "replayed"]


def cli(s: ProjectorSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARLEY_DATABASE_URL": s.database_url,
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "PARLEY_TOPIC": s.topic,
        "PARLEY_CONSUMER_GROUP": s.consumer_group,
    }
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


async def test_a_record_dead_lettered_before_is_not_dead_lettered_again(engine) -> None:
    topic, group = f"topic-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
    published: list[Any] = []

    class Queue:
        async def publish(self, batch: Any) -> None:
            published.extend(batch)

    projection = Projection(engine, group, topic, dead_letters=DeadLetterBox(group, topic, Queue()))
    garbage = LogRecord(0, 0, b"{", (), b"k")
    assert (await projection.apply([garbage])).rejected == 1
    async with engine.begin() as conn:  # as if the positions were reset, or a rebuild read it
        await conn.execute(
            sa.text("DELETE FROM consumer_positions WHERE consumer_group = :g"), {"g": group}
        )
    again = await projection.apply([garbage])
    assert (again.rejected, again.replays, len(published)) == (0, 1, 1)


async def test_the_api_refuses_a_cursor_it_did_not_hand_out(settings) -> None:
    with TestClient(create_app(ApiSettings(**api_settings(settings)))) as client:
        answer = client.get("/v1/admin/dead-letters?cursor=bogus", headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "cursor"
