"""Server-sent events through the real stack: live, resumable, fanned out, fair to the fast."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.common.eventlog import Outgoing
from shared.cloudevents import headers_for
from shared.events import EVENT_ADAPTER, stamp, to_json
from tests.support.auth import AUTH
from tests.support.infra import TEST_DIR
from tests.support.services import ServiceProcess
from tests.support.sse import SseClient

pytestmark = pytest.mark.e2e


def opened(talks_id: str, n: int) -> dict:
    return {
        "type": "round.opened",
        "talks_id": talks_id,
        "occurred_at": "2026-02-04",
        "event_id": str(uuid.uuid4()),
        "data": {"round_id": f"r{n}"},
    }


async def post_all(ingest: str, events: list[dict], delay_s: float = 0) -> None:
    async with httpx.AsyncClient(headers=AUTH, base_url=ingest, timeout=30) as client:
        for event in events:
            response = await client.post("/v1/events", content=json.dumps(event))
            assert response.status_code == 202, response.text
            if delay_s:
                await asyncio.sleep(delay_s)


async def burst(stack, talks_id: str, count: int) -> list[str]:
    """``count`` events of one talks straight onto the log, as the ingest would write them."""
    events = [
        stamp(EVENT_ADAPTER.validate_python(opened(talks_id, n)), uuid.uuid4(), datetime.now(UTC))
        for n in range(count)
    ]
    log = stack.open_log()
    await log.start()
    try:
        for start in range(0, count, 500):
            await log.append(
                stack.topic,
                [
                    Outgoing(to_json(e), talks_id.encode(), tuple(headers_for(e)))
                    for e in events[start : start + 500]
                ],
            )
    finally:
        await log.stop()
    return [str(e.event_id) for e in events]


async def collect(client: SseClient, count: int, timeout_s: float) -> list:
    got = []

    async def read() -> None:
        async for message in client.messages():
            got.append(message)
            if len(got) >= count:
                return

    await asyncio.wait_for(read(), timeout_s)
    return got


async def test_from_beginning_then_live(stack, talks_id) -> None:
    first = [opened(talks_id, n) for n in range(3)]
    await post_all(stack.ingest.url, first)
    client = await SseClient(
        f"{stack.api.url}/v1/stream", {"talks_id": talks_id, "from": "beginning"}
    ).connect()
    try:
        assert client.status == 200
        early = await collect(client, 3, 20)
        later = [opened(talks_id, n) for n in range(3, 5)]
        await post_all(stack.ingest.url, later)
        live = await collect(client, 2, 20)
    finally:
        client.close()
    got = [json.loads(m.data)["event_id"] for m in early + live]
    assert got == [e["event_id"] for e in first + later]
    assert {m.event for m in early + live} == {"round.opened"}


async def test_reconnecting_mid_burst_loses_and_repeats_nothing(stack, talks_id) -> None:
    events = [opened(talks_id, n) for n in range(300)]
    posting = asyncio.create_task(post_all(stack.ingest.url, events, delay_s=0.005))
    client = await SseClient(
        f"{stack.api.url}/v1/stream", {"talks_id": talks_id, "from": "beginning"}
    ).connect()
    first = await collect(client, 120, 60)
    client.close()
    assert not posting.done(), "the burst should still be going when the client drops"
    resumed = await SseClient(
        f"{stack.api.url}/v1/stream",
        {"talks_id": talks_id, "from": "beginning"},
        client.last_event_id,
    ).connect()
    try:
        rest = await collect(resumed, 180, 60)
    finally:
        resumed.close()
        await posting
    got = [json.loads(m.data)["event_id"] for m in first + rest]
    assert got == [e["event_id"] for e in events]


async def test_two_hundred_clients_get_every_event_of_a_burst(stack, talks_id) -> None:
    clients = [
        await SseClient(
            f"{stack.api.url}/v1/stream", {"talks_id": talks_id, "from": "now"}
        ).connect()
        for _ in range(200)
    ]
    try:
        await asyncio.sleep(0.5)
        ids = await burst(stack, talks_id, 10_000)
        results = await asyncio.gather(*(collect(c, len(ids), 240) for c in clients))
    finally:
        for c in clients:
            c.close()
    first = [json.loads(m.data)["event_id"] for m in results[0]]
    assert first == ids
    for messages in results[1:]:
        assert len(messages) == len(ids)
        assert len({m.id for m in messages}) == len(ids)
        assert messages[-1].data == results[0][-1].data


async def test_a_slow_client_is_cut_off_with_a_reason_and_the_fast_one_is_not(
    stack, talks_id
) -> None:
    api = ServiceProcess(
        "api", {**stack.env, "PARLEY_STREAM_QUEUE_SIZE": "2500"}, TEST_DIR / "logs"
    ).start()
    try:
        api.wait_until("/readyz")
        await asyncio.sleep(1)  # the hub connects after readiness
        params = {"talks_id": talks_id, "from": "now"}
        slow = await SseClient(f"{api.url}/v1/stream", params, receive_buffer=4096).connect()
        fast = await SseClient(f"{api.url}/v1/stream", params).connect()
        # more than the kernel's socket buffers hold for a client that does not read
        reading = asyncio.create_task(collect(fast, 30_000, 120))
        ids = await burst(stack, talks_id, 30_000)
        got = await reading
        assert [json.loads(m.data)["event_id"] for m in got] == ids
        last = None
        async with asyncio.timeout(60):
            async for message in slow.messages():  # now read what the slow one was sent
                last = message
        assert last is not None and last.event == "error"
        assert "behind" in json.loads(last.data)["reason"]
        slow.close()
        fast.close()
    finally:
        api.stop()


def test_a_bad_position_is_refused(stack) -> None:
    response = httpx.get(f"{stack.api.url}/v1/stream", params={"from": "yesterday"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "from"
