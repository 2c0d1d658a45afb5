"""Webhooks as a receiver sees them: signed, in order per talks, none lost, paused and resumed.

A real HTTP server on a free port, in a thread, receives what the webhook worker pushes; it
verifies every signature the way docs/webhooks.md tells receivers to.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support import auth as authed
from tests.support.services import free_port

pytestmark = pytest.mark.e2e

MAX_FAILURES = 10  # PARLEY_WEBHOOK_MAX_FAILURES in the stack fixture


@dataclass(frozen=True)
class Received:
    hook: str
    event_id: str
    event_type: str
    attempt: int
    signature_ok: bool
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers["Content-Length"]))
        hook = self.path.rsplit("/", 1)[-1]
        secret = receiver.secrets[hook].encode()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        got = Received(
            hook=hook,
            event_id=self.headers["X-Parley-Event-Id"],
            event_type=self.headers["X-Parley-Event-Type"],
            attempt=int(self.headers["X-Parley-Delivery-Attempt"]),
            signature_ok=hmac.compare_digest(expected, self.headers["X-Parley-Signature"]),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        with receiver.lock:
            receiver.received.append(got)
            swallow = receiver.swallow > 0
            receiver.swallow -= swallow
            status = receiver.status
        if swallow:  # processed, but the answer is lost: the worker must send it again
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    receiver: Receiver


class Receiver:
    """An HTTP receiver on a fixed port that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.status = 204
        self.swallow = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, hook: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{hook}"

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def of(self, hook: str, talks_id: str | None = None) -> list[Received]:
        with self.lock:
            got = [r for r in self.received if r.hook == hook]
        return [r for r in got if talks_id is None or r.event["talks_id"] == talks_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def subscribe(stack, receiver: Receiver) -> Iterator[Callable[..., dict[str, Any]]]:
    """Register subscriptions pushing to ``receiver``; delete them after the test."""
    created: list[str] = []

    def register(hook: str, **filter_: Any) -> dict[str, Any]:
        secret = f"secret-{uuid.uuid4().hex}"
        receiver.secrets[hook] = secret
        response = authed.post(
            f"{stack.api.url}/v1/subscriptions",
            json={"url": receiver.url(hook), "filter": filter_, "secret": secret},
        )
        assert response.status_code == 201, response.text
        assert secret not in response.text
        created.append(response.json()["id"])
        return response.json()

    yield register
    for subscription_id in created:
        authed.delete(f"{stack.api.url}/v1/subscriptions/{subscription_id}")


def event(type_: str, talks_id: str, n: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "position.stated": {
            "party": "UKR",
            "issue": "territory",
            "stance": ["rejects", "demands"][n % 2],
            "proposition": f"Proposition {n}.",
        },
        "round.opened": {"round_id": f"r{n}"},
        "round.scheduled": {
            "round_id": f"r{n}",
            "venue": {"city": "Abu Dhabi", "country": "ARE"},
            "planned_start": "2026-02-04",
        },
    }[type_]
    return {"type": type_, "talks_id": talks_id, "occurred_at": "2026-02-04", "data": data}


def post(stack, body: dict[str, Any]) -> dict[str, Any]:
    response = authed.post(f"{stack.ingest.url}/v1/events", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def wait_until(check: Callable[[], bool], timeout_s: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def deliveries(stack, subscription_id: str, **params: Any) -> list[dict[str, Any]]:
    url = f"{stack.api.url}/v1/subscriptions/{subscription_id}/deliveries"
    response = authed.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def first_arrivals(received: list[Received]) -> list[str]:
    seen: list[str] = []
    for r in received:
        if r.event_id not in seen:
            seen.append(r.event_id)
    return seen


async def record_values(stack, receipts: list[dict[str, Any]]) -> list[bytes]:
    """The values of the records the ingest acknowledged, read back from the log."""
    log = stack.open_log()
    await log.start()
    try:
        values = []
        ends = await log.end_offsets(stack.topic)
        for receipt in receipts:
            start = {**ends, receipt["partition"]: receipt["offset"]}
            reader = await log.reader(stack.topic, start)
            try:
                found = None
                while found is None:
                    for d in await reader.fetch(1.0, 100):
                        if (d.partition, d.offset) == (receipt["partition"], receipt["offset"]):
                            found = d.value
                values.append(found)
            finally:
                await reader.close()
        return values
    finally:
        await log.stop()


def test_every_event_arrives_signed_and_in_order_per_talks(stack, receiver, subscribe) -> None:
    one, two = (f"talks-{uuid.uuid4().hex[:10]}" for _ in range(2))
    sub_one = subscribe("one", talks_id=one)
    sub_two = subscribe("two", talks_id=two, types=["position.stated", "round.opened"])
    assert sub_one["status"] == "active" and sub_one["filter"]["talks_id"] == one
    assert set(sub_one) >= {"id", "url", "filter", "status", "created_at"}
    assert "secret" not in sub_one

    posted: dict[str, list[dict[str, Any]]] = {one: [], two: []}
    for n in range(6):
        for talks_id in (one, two):
            type_ = ["round.scheduled", "round.opened", "position.stated"][n % 3]
            posted[talks_id].append({**post(stack, event(type_, talks_id, n)), "type": type_})
    wanted_two = [r for r in posted[two] if r["type"] != "round.scheduled"]

    wait_until(lambda: len(first_arrivals(receiver.of("one"))) == 6, what="talks one delivered")
    wait_until(lambda: len(first_arrivals(receiver.of("two"))) == 4, what="talks two delivered")
    got_one, got_two = receiver.of("one"), receiver.of("two")
    assert first_arrivals(got_one) == [r["event_id"] for r in posted[one]]
    assert first_arrivals(got_two) == [r["event_id"] for r in wanted_two]
    assert all(r.signature_ok for r in got_one + got_two)
    assert {r.event["talks_id"] for r in got_one} == {one}
    for r in got_one:
        assert r.event["event_id"] == r.event_id == r.headers["ce-id"]
        assert r.event["type"] == r.event_type
        assert r.headers["ce-type"] == f"org.parley.{r.event_type}.v1"
        assert r.headers["ce-subject"] == one
        assert r.headers["ce-specversion"] == "1.0"
        assert r.headers["content-type"] == "application/json"
    # the body is the record exactly as it is on the topic
    values = asyncio.run(record_values(stack, posted[one]))
    bodies = {r.event_id: r.body for r in got_one}
    assert [bodies[r["event_id"]] for r in posted[one]] == values

    log = deliveries(stack, sub_one["id"])
    assert [d["event_id"] for d in log] == [r["event_id"] for r in reversed(posted[one])]
    assert {(d["status"], d["talks_id"], d["last_status_code"]) for d in log} == {
        ("delivered", one, 204)
    }
    listed = authed.get(f"{stack.api.url}/v1/subscriptions").json()["subscriptions"]
    assert {sub_one["id"], sub_two["id"]} <= {s["id"] for s in listed}

    assert authed.delete(f"{stack.api.url}/v1/subscriptions/{sub_two['id']}").status_code == 204
    assert authed.get(f"{stack.api.url}/v1/subscriptions/{sub_two['id']}").status_code == 404
    post(stack, event("round.opened", two, 99))
    last_one = post(stack, event("round.opened", one, 99))
    wait_until(lambda: last_one["event_id"] in first_arrivals(receiver.of("one")))
    time.sleep(0.5)
    assert len(first_arrivals(receiver.of("two"))) == 4  # a deleted subscription gets nothing


def test_events_published_while_the_receiver_is_down_arrive_in_order_when_it_is_back(
    stack, receiver, subscribe
) -> None:
    talks = [f"talks-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    sub = subscribe("both", types=["position.stated"])
    posted: dict[str, list[str]] = {t: [] for t in talks}

    def post_round(n: int) -> None:
        for talks_id in talks:
            posted[talks_id].append(post(stack, event("position.stated", talks_id, n))["event_id"])

    for n in range(3):
        post_round(n)
    wait_until(lambda: len(first_arrivals(receiver.of("both"))) == 6, what="first six")

    receiver.stop()
    for n in range(3, 7):
        post_round(n)
    wait_until(
        lambda: any(d["last_error"] for d in deliveries(stack, sub["id"], status="pending")),
        what="an attempt failed while the receiver was down",
    )
    receiver.swallow = 1  # the first answer after the restart is lost: one duplicate
    receiver.start()
    wait_until(lambda: len(first_arrivals(receiver.of("both"))) == 14, what="all fourteen")

    for talks_id in talks:
        got = receiver.of("both", talks_id)
        assert first_arrivals(got) == posted[talks_id], "none lost, in order"
        ids = [r.event_id for r in got]
        collapsed = [e for i, e in enumerate(ids) if i == 0 or ids[i - 1] != e]
        assert collapsed == posted[talks_id], "a redelivery repeats the head, never jumps back"
    got = receiver.of("both")
    assert all(r.signature_ok for r in got)
    duplicates = len(got) - len(first_arrivals(got))
    assert duplicates >= 1
    for event_id in {r.event_id for r in got}:
        copies = [r for r in got if r.event_id == event_id]
        assert {r.event["event_id"] for r in copies} == {event_id}  # dedup by the event id
        assert len({r.body for r in copies}) == 1
        assert [r.attempt for r in copies] == sorted(r.attempt for r in copies)
    log = deliveries(stack, sub["id"])
    assert {d["status"] for d in log} == {"delivered"}
    late = {e for t in talks for e in posted[t][3:]}
    assert any(d["attempts"] > 1 for d in log if d["event_id"] in late)
    state = authed.get(f"{stack.api.url}/v1/subscriptions/{sub['id']}").json()
    assert state["status"] == "active" and state["consecutive_failures"] == 0


def test_a_receiver_that_keeps_failing_gets_paused_and_resume_delivers(
    stack, receiver, subscribe
) -> None:
    talks_id = f"talks-{uuid.uuid4().hex[:10]}"
    receiver.status = 500
    sub = subscribe("failing", talks_id=talks_id)
    url = f"{stack.api.url}/v1/subscriptions/{sub['id']}"
    ids = [post(stack, event("position.stated", talks_id, n))["event_id"] for n in range(3)]

    wait_until(lambda: authed.get(url).json()["status"] == "paused", what="paused")
    paused = authed.get(url).json()
    assert paused["paused_at"] is not None
    assert paused["consecutive_failures"] == MAX_FAILURES
    tried = receiver.of("failing")
    assert [r.event_id for r in tried] == [ids[0]] * MAX_FAILURES  # the rest wait behind it
    assert [r.attempt for r in tried] == list(range(1, MAX_FAILURES + 1))
    [failed] = deliveries(stack, sub["id"], status="failed")
    assert failed["event_id"] == ids[0]
    assert (failed["attempts"], failed["last_status_code"]) == (MAX_FAILURES, 500)
    assert failed["last_error"].startswith("HTTP 500")
    assert [d["event_id"] for d in deliveries(stack, sub["id"], status="pending")] == ids[:0:-1]
    time.sleep(1.0)
    assert len(receiver.of("failing")) == MAX_FAILURES  # paused: nothing more is tried

    page = authed.get(f"{url}/deliveries", params={"limit": 2}).json()
    assert [d["event_id"] for d in page["items"]] == [ids[2], ids[1]]
    rest = authed.get(f"{url}/deliveries", params={"limit": 2, "cursor": page["next_cursor"]})
    assert [d["event_id"] for d in rest.json()["items"]] == [ids[0]]
    assert rest.json()["next_cursor"] is None

    receiver.status = 204
    resumed = authed.post(f"{url}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    wait_until(lambda: len(receiver.of("failing")) == MAX_FAILURES + 3, what="resumed delivery")
    after = receiver.of("failing")[MAX_FAILURES:]
    assert [r.event_id for r in after] == ids
    assert after[0].attempt == MAX_FAILURES + 1
    wait_until(lambda: {d["status"] for d in deliveries(stack, sub["id"])} == {"delivered"})


def test_a_bad_subscription_is_refused_naming_the_field(stack) -> None:
    url = f"{stack.api.url}/v1/subscriptions"
    good = {"url": "https://example.org/hook", "secret": "0123456789abcdef"}
    cases = {
        "url": {**good, "url": "example.org/hook"},
        "secret": {**good, "secret": "short"},
        "filter.talks_id": {**good, "filter": {"talks_id": "Not A Slug"}},
        "filter.types.0": {**good, "filter": {"types": ["round.exploded"]}},
    }
    for field, body in cases.items():
        response = authed.post(url, json=body)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert authed.post(url, content=b'{"url": ').status_code == 400
    missing = f"{url}/{uuid.uuid4()}"
    assert authed.get(missing).status_code == 404
    assert authed.delete(missing).status_code == 404
    assert authed.post(f"{missing}/resume").status_code == 404
    assert authed.get(f"{missing}/deliveries").status_code == 404
