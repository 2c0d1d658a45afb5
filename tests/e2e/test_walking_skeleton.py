"""The whole path as a user drives it: HTTP in, Kafka, projector, PostgreSQL, HTTP out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import orjson
import pytest
import sqlalchemy as sa

from services.projector.schema import events, item_versions, talks
from services.projector.schema import events as events_table
from tests.support import auth as authed
from tests.support.auth import AUTH
from tests.support.infra import TEST_DIR
from tests.support.polling import eventually
from tests.support.services import ServiceProcess, free_port

pytestmark = pytest.mark.e2e


def round_opened(talks_id: str, round_id: str = "r2", **extra: object) -> dict:
    return {
        "type": "round.opened",
        "talks_id": talks_id,
        "occurred_at": "2026-02-04T09:00:00+04:00",
        "sources": [{"url": "https://example.org/abu-dhabi", "publisher": "Example"}],
        "data": {
            "round_id": round_id,
            "venue": {"city": "Abu Dhabi", "country": "ARE"},
            "parties": ["UKR", "RUS", "USA"],
            "mediators": ["USA"],
        },
        **extra,
    }


def wait_for_state(api_url: str, talks_id: str, ready, timeout_s: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        response = httpx.get(f"{api_url}/v1/talks/{talks_id}/state", timeout=5)
        last = response
        if response.status_code == 200 and ready(response.json()):
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"state not reached in {timeout_s}s; last answer {last and last.text}")


async def end_offsets(stack) -> dict[int, int]:
    log = stack.open_log()
    await log.start()
    try:
        found = await log.end_offsets(stack.topic)
        assert found, f"topic {stack.topic} has no partitions"
        return found
    finally:
        await log.stop()


def test_a_posted_round_shows_in_the_state(stack, talks_id) -> None:
    response = authed.post(
        f"{stack.ingest.url}/v1/events", content=json.dumps(round_opened(talks_id))
    )
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["partition"] >= 0 and receipt["offset"] >= 0
    state = wait_for_state(stack.api.url, talks_id, lambda s: s["rounds"])
    [round_] = state["rounds"]
    assert round_["round_id"] == "r2"
    assert round_["status"] == "in_progress"
    assert round_["venue"] == {"city": "Abu Dhabi", "country": "ARE"}
    assert round_["parties"] == ["UKR", "RUS", "USA"]
    assert round_["event_ids"] == [receipt["event_id"]]


def test_a_closing_round_moves_on(stack, talks_id) -> None:
    post = lambda body: authed.post(f"{stack.ingest.url}/v1/events", content=json.dumps(body))  # noqa: E731
    assert post(round_opened(talks_id)).status_code == 202
    closed = {
        "type": "round.closed",
        "talks_id": talks_id,
        "occurred_at": "2026-02-05",
        "data": {"round_id": "r2", "outcome": "partial_progress"},
    }
    assert post(closed).status_code == 202
    state = wait_for_state(
        stack.api.url, talks_id, lambda s: s["rounds"] and s["rounds"][0]["status"] == "concluded"
    )
    assert state["rounds"][0]["outcome"] == "partial_progress"
    assert state["event_count"] == 2


def test_unknown_talks_is_404(stack) -> None:
    response = httpx.get(f"{stack.api.url}/v1/talks/never-heard-of-{uuid.uuid4().hex[:6]}/state")
    assert response.status_code == 404


async def test_bad_input_is_refused_and_publishes_nothing(stack, talks_id) -> None:
    before = await end_offsets(stack)
    async with httpx.AsyncClient(headers=AUTH, base_url=stack.ingest.url) as client:
        malformed = await client.post("/v1/events", content=b'{"type": "round.opened", ')
        missing = round_opened(talks_id)
        del missing["data"]["round_id"]
        no_round = await client.post("/v1/events", content=json.dumps(missing))
        bad_slug = await client.post("/v1/events", content=json.dumps(round_opened("Not A Slug")))
        unknown = await client.post("/v1/events", content=json.dumps(round_opened(talks_id, x=1)))
    assert malformed.status_code == 400
    assert (no_round.status_code, bad_slug.status_code, unknown.status_code) == (422, 422, 422)
    assert [e["field"] for e in no_round.json()["errors"]] == ["data.round_id"]
    assert [e["field"] for e in bad_slug.json()["errors"]] == ["talks_id"]
    assert [e["field"] for e in unknown.json()["errors"]] == ["x"]
    assert before and await end_offsets(stack) == before


@pytest.mark.kafka_only
def test_without_a_broker_the_ingest_answers_503(stack, talks_id) -> None:
    env = {**stack.env, "PARLEY_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    env["PARLEY_PRODUCE_TIMEOUT_S"] = "2"
    lonely = ServiceProcess("ingest", env, TEST_DIR / "logs").start()
    try:
        lonely.wait_until("/healthz")
        response = authed.post(
            f"{lonely.url}/v1/events", content=json.dumps(round_opened(talks_id))
        )
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        assert uuid.UUID(response.json()["event_id"])
        ready = httpx.get(f"{lonely.url}/readyz")
        assert ready.status_code == 503 and "kafka" in ready.json()["checks"]
    finally:
        lonely.stop()


@pytest.mark.kafka_only
async def test_projector_killed_mid_stream_applies_every_event_once(stack, engine, talks_id):
    """kill -9 the projector while it works through a backlog; restart; count every event."""
    total = 1500
    stack.projector.kill()  # build a backlog for it to be killed in the middle of
    async with httpx.AsyncClient(headers=AUTH, base_url=stack.ingest.url, timeout=30) as client:
        semaphore = asyncio.Semaphore(32)

        async def post(i: int) -> str:
            async with semaphore:
                body = round_opened(talks_id, round_id=f"r{i % 40}")
                response = await client.post("/v1/events", content=json.dumps(body))
                assert response.status_code == 202, response.text
                return response.json()["event_id"]

        acknowledged = set(await asyncio.gather(*(post(i) for i in range(total))))
    assert len(acknowledged) == total

    async def archived() -> int:
        async with engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(events)
            return await conn.scalar(query.where(events.c.talks_id == talks_id)) or 0

    kills = 0
    stack.restart_projector()
    deadline = time.monotonic() + 240
    while kills < 2 and time.monotonic() < deadline:  # kill it twice while it is half-way
        done = await archived()
        if 0 < done < total:
            stack.restart_projector()
            kills += 1
        await asyncio.sleep(0.05)
    stack.projector.wait_until("/readyz")

    async def caught_up() -> bool:
        return await archived() >= total

    assert await eventually(caught_up, timeout_s=240), f"only {await archived()} of {total} applied"

    async with engine.connect() as conn:
        ids = await conn.execute(sa.select(events.c.event_id).where(events.c.talks_id == talks_id))
        archived_ids = [str(i) for i in ids.scalars()]
        counted = await conn.scalar(
            sa.select(talks.c.event_count).where(talks.c.talks_id == talks_id)
        )
        v = item_versions.c
        current_rounds = await conn.execute(
            sa.select(v.doc).where(
                v.talks_id == talks_id,
                v.kind == "round",
                v.known_to.is_(None),
                v.valid_to.is_(None),
            )
        )
        in_rounds = [
            event_id
            for doc in current_rounds.scalars()
            for event_id in orjson.loads(doc)["event_ids"]
        ]
    assert kills >= 1, "the projector finished before it could be killed mid-stream"
    assert sorted(archived_ids) == sorted(acknowledged)  # every event, none twice
    assert counted == total
    assert sorted(in_rounds) == sorted(acknowledged)


def test_every_service_serves_metrics(stack) -> None:
    """Prometheus text on /metrics; the projector reports what it applied and its lag."""
    for service in (stack.ingest, stack.projector, stack.api):
        response = httpx.get(f"{service.url}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
    projector = httpx.get(f"{stack.projector.url}/metrics").text
    assert 'parley_projector_events_total{outcome="applied"}' in projector
    assert "parley_projector_lag{" in projector


async def wait_for_log(service: ServiceProcess, text: str, timeout_s: float = 60) -> None:
    async def seen() -> bool:
        return service.log_path.exists() and text in service.log_path.read_text(errors="replace")

    assert await eventually(seen, timeout_s), (
        f"{service.name} never logged {text!r}:\n{service.tail()}"
    )


@pytest.mark.kafka_only
async def test_a_second_projector_joining_and_leaving_applies_everything_once(
    stack, engine, talks_id
):
    """Rebalances: a second projector joins the group mid-load, then is killed."""
    events = [round_opened(talks_id, round_id=f"r{i % 25}") for i in range(3000)]
    second = ServiceProcess("projector", stack.env, TEST_DIR / "logs")
    acknowledged: list[str] = []
    try:
        async with httpx.AsyncClient(headers=AUTH, base_url=stack.ingest.url, timeout=60) as client:
            for n, start in enumerate(range(0, len(events), 500)):
                response = await client.post(
                    "/v1/events:batch", content=json.dumps(events[start : start + 500])
                )
                assert response.status_code == 202, response.text[:300]
                acknowledged += [r["event_id"] for r in response.json()["results"]]
                if n == 1:
                    second.start()  # joins the group: partitions move
                    await wait_for_log(second, "assigned partitions")
                if n == 4:
                    second.kill()  # leaves without a word: partitions move back
    finally:
        second.kill()

    async def count(query) -> int:
        async with engine.connect() as conn:
            return await conn.scalar(query) or 0

    archived = (
        sa.select(sa.func.count())
        .select_from(events_table)
        .where(events_table.c.talks_id == talks_id)
    )

    async def caught_up() -> bool:
        return await count(archived) >= len(acknowledged)

    assert await eventually(caught_up, timeout_s=240), (
        f"{await count(archived)} of {len(acknowledged)}"
    )
    v = item_versions.c
    current_events = sa.select(sa.func.count()).where(
        v.talks_id == talks_id, v.kind == "event", v.known_to.is_(None)
    )
    counted = sa.select(talks.c.event_count).where(talks.c.talks_id == talks_id)
    assert len(set(acknowledged)) == len(events)
    assert (await count(archived), await count(current_events), await count(counted)) == (
        3000,
        3000,
        3000,
    )
