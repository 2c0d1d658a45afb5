"""Through the real stack: the API's state equals ``fold()`` of the same events (property test)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import parse_submission, stamp
from shared.state import fold
from tests.support.auth import AUTH
from tests.support.builders import end_of
from tests.support.strategies import DAYS, histories

pytestmark = pytest.mark.e2e


def post_all(ingest: str, talks_id: str, events: list) -> list:
    """Post the events as a client would; return them as the server recorded them."""
    recorded = []
    with httpx.Client(headers=AUTH, base_url=ingest, timeout=30) as client:
        for event in events:
            body = event.model_dump(mode="json", exclude_none=True, exclude={"recorded_at"})
            body["talks_id"] = talks_id
            response = client.post("/v1/events", content=json.dumps(body))
            assert response.status_code == 202, response.text
            answer = response.json()
            when = datetime.fromisoformat(answer["recorded_at"].replace("Z", "+00:00"))
            recorded.append(stamp(parse_submission(json.dumps(body)), event.event_id, when))
    return recorded


def wait_until_archived(api: str, talks_id: str, count: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page = httpx.get(f"{api}/v1/events", params={"talks_id": talks_id, "limit": 1000}).json()
        if len(page["items"]) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{count} events not archived within {timeout_s}s")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    histories(max_size=10),
    st.randoms(use_true_random=False),
    st.sampled_from([*DAYS, "2026-03-31"]),
    st.integers(0, 20),
)
def test_served_state_is_the_fold(stack, rec, rnd, day: str, known_step: int) -> None:
    """Random histories of every type, corrections and retractions included, posted in a
    random order (a correction may arrive before its report), read at a random time."""
    talks_id = f"prop-{uuid.uuid4().hex[:10]}"
    events = list(rec.events)
    rnd.shuffle(events)
    recorded = post_all(stack.ingest.url, talks_id, events)
    wait_until_archived(stack.api.url, talks_id, len(recorded))
    times = sorted(e.recorded_at for e in recorded)
    known_at = times[min(known_step, len(times) - 1)]
    as_of = end_of(day)
    served = httpx.get(
        f"{stack.api.url}/v1/talks/{talks_id}/state",
        params={"as_of": as_of.isoformat(), "known_at": known_at.isoformat()},
    )
    assert served.status_code == 200, served.text
    expected = fold(talks_id, recorded, as_of=as_of, known_at=known_at)
    assert served.json() == json.loads(expected.model_dump_json())
