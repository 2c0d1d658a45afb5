"""Recording events: give each its id and the server's time, then append it to the log.

Every ``event_id`` is recorded once, forever: a retry of the same submission is answered
with the original receipt, a different submission under a known id is a conflict.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from prometheus_client import Counter

from services.common.tracing import TraceContext
from services.ingest.publisher import EventPublisher, PublisherUnavailable, Receipt
from services.ingest.receipts import Claim, ReceiptStore
from shared.cloudevents import headers_for
from shared.events import Event, stamp, to_json

Clock = Callable[[], datetime]

log = logging.getLogger(__name__)

EVENTS = Counter(
    "parley_ingest_events_total",
    "Events submitted to the ingest, by outcome: recorded, duplicate, conflict, unavailable.",
    ["outcome"],
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event the log holds."""

    event_id: UUID
    recorded_at: datetime
    partition: int
    offset: int
    duplicate: bool = False


class NotRecorded(Exception):
    """The log did not acknowledge the event; retrying with the same ``event_id`` is safe."""

    def __init__(self, event_id: UUID, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


class Conflict(Exception):
    """The ``event_id`` was recorded before with a different body."""

    def __init__(self, event_id: UUID) -> None:
        super().__init__(f"event_id {event_id} was already recorded with a different body")
        self.event_id = event_id


def fingerprint(event: Event) -> str:
    """What makes two submissions the same: the event as submitted, less its id."""
    body = event.model_dump_json(exclude_none=True, exclude={"event_id", "recorded_at"})
    return hashlib.sha256(body.encode()).hexdigest()


async def record_events(
    events: Sequence[Event],
    publisher: EventPublisher,
    receipts: ReceiptStore,
    clock: Clock = utc_now,
    *,
    trace: TraceContext | None = None,
    tracestate: str | None = None,
) -> list[Recorded | NotRecorded | Conflict]:
    """Record each event; the answer for each, in order. Publishes concurrently.

    ``trace`` is the ingest's span of the request: its ``traceparent`` (and the caller's
    ``tracestate``) go on every record, next to the CloudEvents headers.
    """
    traceparent = trace.header() if trace is not None else None
    now = clock()
    claims = [Claim(e.event_id or uuid4(), fingerprint(e), now) for e in events]
    earlier = await receipts.claim(claims)

    async def one(event: Event, claim: Claim) -> Recorded | NotRecorded | Conflict | Receipt:
        before = earlier.get(claim.event_id)
        if before is not None and before.fingerprint != claim.fingerprint:
            return Conflict(claim.event_id)
        if before is not None and before.receipt is not None:
            r = before.receipt
            return Recorded(
                claim.event_id, before.recorded_at, r.partition, r.offset, duplicate=True
            )
        recorded_at = before.recorded_at if before else claim.recorded_at
        stamped = stamp(event, claim.event_id, recorded_at)
        try:
            headers = headers_for(stamped, traceparent, tracestate)
            return await publisher.publish(stamped.talks_id, to_json(stamped), headers)
        except PublisherUnavailable as exc:
            return NotRecorded(claim.event_id, str(exc))

    outcomes = await asyncio.gather(*(one(e, c) for e, c in zip(events, claims, strict=True)))
    acknowledged = {
        c.event_id: o for c, o in zip(claims, outcomes, strict=True) if isinstance(o, Receipt)
    }
    await receipts.acknowledge(acknowledged)
    results: list[Recorded | NotRecorded | Conflict] = []
    for event, claim, outcome in zip(events, claims, outcomes, strict=True):
        if isinstance(outcome, Receipt):
            recorded_at = (
                earlier[claim.event_id].recorded_at
                if claim.event_id in earlier
                else claim.recorded_at
            )
            outcome = Recorded(claim.event_id, recorded_at, outcome.partition, outcome.offset)
        results.append(outcome)
        EVENTS.labels(_outcome_name(outcome)).inc()
        _log(event, outcome, trace)
    return results


def _log(
    event: Event, outcome: Recorded | NotRecorded | Conflict, trace: TraceContext | None
) -> None:
    """One line per event: what became of it, with its ids and the request's trace."""
    extra: dict[str, object] = {
        "event_id": str(outcome.event_id),
        "talks_id": event.talks_id,
        "type": event.type,
        "outcome": _outcome_name(outcome),
    }
    if trace is not None:
        extra["trace_id"] = trace.trace_id
    if isinstance(outcome, Recorded):
        extra |= {"partition": outcome.partition, "offset": outcome.offset}
        log.info("event %s", extra["outcome"], extra=extra)
    elif isinstance(outcome, NotRecorded):
        log.warning("event not recorded: %s", outcome.reason, extra=extra)
    else:
        log.warning("event_id conflict", extra=extra)


def _outcome_name(outcome: Recorded | NotRecorded | Conflict) -> str:
    if isinstance(outcome, Recorded):
        return "duplicate" if outcome.duplicate else "recorded"
    return "conflict" if isinstance(outcome, Conflict) else "unavailable"
