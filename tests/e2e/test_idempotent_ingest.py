"""Idempotent and batch ingest through the real stack: each event_id recorded exactly once."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.support import auth as authed

pytestmark = pytest.mark.e2e


def event(talks_id: str, n: int, **extra) -> dict:
    return {
        "type": "round.opened",
        "talks_id": talks_id,
        "occurred_at": "2026-02-04",
        "event_id": str(uuid.uuid4()),
        "data": {"round_id": f"r{n}"},
        **extra,
    }


def test_retries_and_conflicts(stack, talks_id) -> None:
    body = event(talks_id, 1)
    first = authed.post(f"{stack.ingest.url}/v1/events", content=json.dumps(body))
    retry = authed.post(f"{stack.ingest.url}/v1/events", content=json.dumps(body))
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json() == {**first.json(), "duplicate": True}
    changed = authed.post(
        f"{stack.ingest.url}/v1/events", content=json.dumps({**body, "occurred_at": "2026-02-05"})
    )
    assert changed.status_code == 409


def test_a_batch_lands_whole_and_once(stack, talks_id) -> None:
    events = [event(talks_id, n) for n in range(1000)]
    response = authed.post(
        f"{stack.ingest.url}/v1/events:batch", content=json.dumps(events), timeout=60
    )
    assert response.status_code == 202, response.text[:500]
    results = response.json()["results"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert len({(r["partition"], r["offset"]) for r in results}) == 1000
    again = authed.post(
        f"{stack.ingest.url}/v1/events:batch", content=json.dumps(events[:10]), timeout=60
    )
    assert again.status_code == 202 and all(r["duplicate"] for r in again.json()["results"])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = httpx.get(f"{stack.api.url}/v1/talks/{talks_id}/state")
        if state.status_code == 200 and state.json()["event_count"] == 1000:
            break
        time.sleep(0.2)
    assert state.json()["event_count"] == 1000
    assert len(state.json()["rounds"]) == 1000


def test_an_invalid_batch_publishes_nothing(stack, talks_id) -> None:
    events = [event(talks_id, 1), event(talks_id, 2, occurred_at="soon")]
    response = authed.post(f"{stack.ingest.url}/v1/events:batch", content=json.dumps(events))
    assert response.status_code == 422
    assert response.json()["errors"][0]["index"] == 1
    time.sleep(1)
    assert httpx.get(f"{stack.api.url}/v1/talks/{talks_id}/state").status_code == 404
