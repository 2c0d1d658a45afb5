"""The load: events posted to the ingest as a careful client would.

Every event carries its own ``event_id``, so a client that got ``503`` (or no answer) sends
the same body again after ``Retry-After``: the event is recorded once however often it is
sent. The ledger keeps every answer with when its request started and ended.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from faults.events import Event, generate
from faults.processes import Service
from faults.scenario import Scenario, reporting, say
from services.cli.posting import retry_after

ACCEPTED = (200, 202)  # recorded now, or by an earlier request
NO_ANSWER = 0  # the request failed before any answer: it may or may not have been recorded
RETRIED = (503, NO_ANSWER)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer about one event; times are ``time.monotonic()``."""

    event_id: str
    status: int
    started_at: float
    ended_at: float


@dataclass
class Ledger:
    """Every answer the ingest gave, and where the log put each acknowledged event."""

    answers: list[Answer] = field(default_factory=list)
    acknowledged: dict[str, tuple[int, int]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # the ``detail`` of each refusal

    def record(self, answer: Answer, body: dict[str, Any] | None = None) -> None:
        """Note ``answer``; ``body``: the answer's JSON about this event (a receipt, a problem)."""
        self.answers.append(answer)
        self.statuses[answer.status] += 1
        if answer.status in ACCEPTED and body is not None:
            self.acknowledged[answer.event_id] = (body["partition"], body["offset"])
        elif body and body.get("detail"):
            self.refusals[str(body["detail"])] += 1

    def summary(self) -> str:
        counts = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(self.statuses.items()))
        return f"acknowledged {len(self.acknowledged)} ({counts or 'no answers yet'})"


class LoadRefused(RuntimeError):
    """The ingest refused the load itself (the events or the key): a bug here, not a fault."""


REFUSED = (400, 401, 403, 413, 422)


def client(ingest_url: str, key: str | None) -> httpx.AsyncClient:
    """An HTTP client for the ingest, sending the bootstrap key when there is one."""
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return httpx.AsyncClient(base_url=ingest_url, headers=headers, timeout=60)


async def post_singly(
    http: httpx.AsyncClient,
    events: Sequence[Event],
    ledger: Ledger,
    give_up_at: float,
    clients: int = 16,
) -> None:
    """Post each event with ``POST /v1/events`` from ``clients`` concurrent clients, until
    every event was answered or it is ``give_up_at`` (``time.monotonic()``)."""
    queue = iter(events)

    async def one_client() -> None:
        for event in queue:  # shared: each client takes the next event not yet taken
            if time.monotonic() > give_up_at:
                return
            await _post_until_answered(http, event, ledger, give_up_at)

    await asyncio.gather(*(one_client() for _ in range(clients)))


async def _post_until_answered(
    http: httpx.AsyncClient, event: Event, ledger: Ledger, give_up_at: float
) -> None:
    body, event_id = orjson.dumps(event), event["event_id"]
    while True:
        started = time.monotonic()
        try:
            response = await http.post("/v1/events", content=body)
        except httpx.TransportError:
            ledger.record(Answer(event_id, NO_ANSWER, started, time.monotonic()))
            wait = 1.0
        else:
            answer = Answer(event_id, response.status_code, started, time.monotonic())
            ledger.record(answer, _json(response))
            if response.status_code in REFUSED:
                raise LoadRefused(f"{response.status_code} {response.text[:500]}")
            if response.status_code not in RETRIED:
                return
            wait = retry_after(response)
        if time.monotonic() + wait > give_up_at:
            return
        await asyncio.sleep(wait)


async def post_batches(
    http: httpx.AsyncClient,
    events: Sequence[Event],
    ledger: Ledger,
    give_up_at: float,
    size: int = 1000,
    concurrency: int = 4,
) -> None:
    """Post the events with ``POST /v1/events:batch``, ``size`` at a time, resending the
    events a batch answered ``503`` for, until ``give_up_at`` (``time.monotonic()``)."""
    batches = iter(_chunks(events, size))

    async def one_client() -> None:
        for batch in batches:
            if time.monotonic() > give_up_at:
                return
            await _post_batch_until_answered(http, batch, ledger, give_up_at)

    await asyncio.gather(*(one_client() for _ in range(concurrency)))


async def _post_batch_until_answered(
    http: httpx.AsyncClient, batch: Sequence[Event], ledger: Ledger, give_up_at: float
) -> None:
    pending = list(batch)
    while pending:
        started = time.monotonic()
        try:
            response = await http.post("/v1/events:batch", content=orjson.dumps(pending))
        except httpx.TransportError:
            status, results, wait = NO_ANSWER, [], 1.0
        else:
            status, results = response.status_code, _json(response).get("results", [])
            if status in REFUSED:
                raise LoadRefused(f"{status} {response.text[:500]}")
            wait = retry_after(response)
        ended = time.monotonic()
        if not results:  # no answer per event: the batch's status is each one's
            results = [{"index": i, "status": status} for i in range(len(pending))]
        for item in results:
            event_id = pending[item["index"]]["event_id"]
            ledger.record(Answer(event_id, item["status"], started, ended), item)
        pending = [pending[r["index"]] for r in results if r["status"] in RETRIED]
        if not pending or time.monotonic() + wait > give_up_at:
            return
        await asyncio.sleep(wait)


async def backlog(scenario: Scenario, ingest: Service, count: int, within_s: float = 600) -> Ledger:
    """Load ``count`` generated events through ``POST /v1/events:batch``, 1,000 at a time."""
    ledger = Ledger()
    async with client(ingest.url, scenario.key) as http, reporting(ledger.summary):
        events = generate(count, scenario.talks_prefix)
        await post_batches(http, events, ledger, give_up_at=time.monotonic() + within_s)
    say(f"loaded: {ledger.summary()}")
    return ledger


def _chunks(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
