"""Recording events: give each its id and the server's time, then append it to the log.

Every ``event_id`` is recorded once, forever: a retry of the same submission is answered
with the original receipt, a different submission under a known id is a conflict.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import prometheus_client

from services.common.tracing import TraceContext
from services.ingest.publisher import EventPublisher, Receipt, Record, publish_all
from services.ingest.receipts import Claim, ReceiptStore
from shared import cloudevents
from shared.events import Event

Clock = Callable[[], datetime]

log = logging.getLogger(__name__)

EVENTS = prometheus_client.Counter(
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
    #: ``str(event_id)``, when the recording already spelled it (the record carries it).
    event_id_text: str | None = field(default=None, compare=False, repr=False)

    @property
    def id_text(self) -> str:
        return self.event_id_text or str(self.event_id)


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
    return _fingerprint(_submitted_json(event))


def _submitted_json(event: Event) -> bytes:
    """The event's canonical JSON less ``event_id`` and ``recorded_at``: what is fingerprinted,
    and what :func:`_recorded_json` completes into the record's value."""
    # model_dump_json's own call, without decoding the bytes to a str to encode them again
    return event.__pydantic_serializer__.to_json(event, exclude_none=True, exclude=_SERVER_FIELDS)


def _fingerprint(submitted: bytes) -> str:
    return hashlib.sha256(submitted).hexdigest()


_SERVER_FIELDS = {"event_id", "recorded_at"}
#: Where ``data`` starts in a submitted JSON: its last field, and the first ``,"data":`` in it,
#: since the fields before it (type, talks_id, occurred_at, sources) have no such key and a
#: quote inside a JSON string is always escaped.
_DATA = b',"data":'


def _recorded_json(submitted: bytes, event_id: bytes, recorded_at: bytes) -> bytes:
    """``to_json(stamp(event, event_id, recorded_at))`` from the event's :func:`_submitted_json`,
    without copying the model and serializing it again: the id goes first and ``recorded_at``
    just before ``data``, where the model's field order puts them (tests/unit compares the
    two for every event type)."""
    at = submitted.index(_DATA)
    return b"".join(
        (
            b'{"event_id":"',
            event_id,
            b'",',
            submitted[1:at],
            b',"recorded_at":"',
            recorded_at,
            b'"',
            submitted[at:],
        )
    )


async def record_events(
    events: Sequence[Event],
    publisher: EventPublisher,
    receipts: ReceiptStore,
    clock: Clock = utc_now,
    *,
    trace: TraceContext | None = None,
    tracestate: str | None = None,
) -> list[Recorded | NotRecorded | Conflict]:
    """Record each event; the answer for each, in order.

    Every event is claimed in one go, every new one handed to the log at once, and every
    receipt stored in one go once the log acknowledged it. ``trace`` is the ingest's span of
    the request: its ``traceparent`` (and the caller's ``tracestate``) go on every record,
    next to the CloudEvents headers.
    """
    trace_headers = cloudevents.trace_headers(
        trace.header() if trace is not None else None, tracestate
    )
    now = clock()
    submitted = [_submitted_json(e) for e in events]
    claims = [
        Claim(e.event_id or uuid4(), _fingerprint(body), now)
        for e, body in zip(events, submitted, strict=True)
    ]
    earlier = await receipts.claim(claims)

    results: list[Recorded | NotRecorded | Conflict | None] = [None] * len(claims)
    publishing: list[tuple[int, str]] = []  # index, event id as text
    records: list[Record] = []
    now_bytes = cloudevents.utc_bytes(now)
    for i, (event, claim) in enumerate(zip(events, claims, strict=True)):
        before = earlier.get(claim.event_id) if earlier else None
        stamped_at = now_bytes
        if before is not None:
            if before.fingerprint != claim.fingerprint:
                results[i] = Conflict(claim.event_id)
                continue
            if before.receipt is not None:
                r = before.receipt
                results[i] = Recorded(
                    claim.event_id, before.recorded_at, r.partition, r.offset, duplicate=True
                )
                continue
            # a claim never acknowledged is published again with the recorded_at it was given
            stamped_at = cloudevents.utc_bytes(before.recorded_at)
        text = str(claim.event_id)
        event_id = text.encode()
        value = _recorded_json(submitted[i], event_id, stamped_at)
        headers = cloudevents.record_headers(event, event_id, stamped_at, trace_headers)
        records.append((event.talks_id, value, headers))
        publishing.append((i, text))

    answers = await publish_all(publisher, records) if records else []
    acknowledged: dict[UUID, Receipt] = {}
    for (i, text), answer in zip(publishing, answers, strict=True):
        claim = claims[i]
        if isinstance(answer, Receipt):
            acknowledged[claim.event_id] = answer
            before = earlier.get(claim.event_id) if earlier else None
            recorded_at = before.recorded_at if before else claim.recorded_at
            results[i] = Recorded(
                claim.event_id, recorded_at, answer.partition, answer.offset, event_id_text=text
            )
        else:
            results[i] = NotRecorded(claim.event_id, str(answer))
    await receipts.acknowledge(acknowledged)

    outcomes = [o for o in results if o is not None]
    assert len(outcomes) == len(events), "every event has an outcome"
    for name, count in Counter(map(_outcome_name, outcomes)).items():
        EVENTS.labels(name).inc(count)
    logged = log.isEnabledFor(logging.INFO)
    for event, outcome in zip(events, outcomes, strict=True):
        if logged or not isinstance(outcome, Recorded):
            _log(event, outcome, trace)
    return outcomes


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
