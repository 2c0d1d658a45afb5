"""The records the ingest publishes are made without stamping and serializing each event
again; these tests hold them to the bytes the reference functions give: the value to
``to_json(stamp(...))``, the headers to ``headers_for`` and the fingerprint to the JSON of the
submission less its id."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry, Histogram

from bench.generate import talks_history
from services.ingest.publisher import PRODUCE_SECONDS, observe_many
from services.ingest.recording import _fingerprint, _recorded_json, _submitted_json, fingerprint
from shared import cloudevents
from shared.events import EVENT_ADAPTER, EVENT_TYPES, SUBMISSION, Event, stamp, to_json
from tests.support.example import example_events

pytestmark = pytest.mark.unit

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _events() -> list[Event]:
    generated = talks_history("records", 2000, seed=11)
    example = [EVENT_ADAPTER.validate_python(e, context=SUBMISSION) for e in example_events()]
    tricky = [
        {
            "type": "ceasefire.ended",
            "talks_id": "records",
            "occurred_at": {"earliest": "2026-01", "latest": "2026-02-04T09:00:00+04:00"},
            "sources": [{"url": "https://example.org/a,%22data%22:", "publisher": 'a ,"data": b'}],
            "data": {"ceasefire_id": "energy", "reason": "expired"},
        },
        {
            "type": "round.postponed",
            "talks_id": "records",
            "occurred_at": "2026-02-03T23:30:00Z",
            "data": {"round_id": "r2", "cancelled": True},
        },
    ]
    made = [EVENT_ADAPTER.validate_python(e, context=SUBMISSION) for e in tricky]
    return [*generated, *example, *made]


EVENTS = _events()
MOMENTS = [
    datetime(2026, 2, 4, 5, 6, 7, 891011, tzinfo=UTC),
    datetime(2026, 2, 4, 5, 6, 7, tzinfo=UTC),  # no microseconds: none are written
    datetime(2026, 2, 4, 9, 6, 7, 1, tzinfo=timezone(timedelta(hours=4))),  # from elsewhere
]


def test_every_type_is_covered() -> None:
    assert {e.type for e in EVENTS} == set(EVENT_TYPES)
    assert any(e.type == "report.corrected" and "data" in e.data.changes for e in EVENTS)


@pytest.mark.parametrize("recorded_at", MOMENTS)
def test_the_value_is_the_stamped_events_canonical_json(recorded_at: datetime) -> None:
    for event in EVENTS:
        event_id = event.event_id or uuid.uuid4()
        value = _recorded_json(
            _submitted_json(event), str(event_id).encode(), cloudevents.utc_bytes(recorded_at)
        )
        assert value == to_json(stamp(event, event_id, recorded_at)), event.type


@pytest.mark.parametrize("trace", [(None, None), (TRACE, None), (TRACE, "vendor=1")])
def test_the_headers_are_those_of_the_stamped_event(trace: tuple[str | None, str | None]) -> None:
    recorded_at = MOMENTS[0]
    for event in EVENTS:
        event_id = event.event_id or uuid.uuid4()
        stamped = stamp(event, event_id, recorded_at)
        made = cloudevents.record_headers(
            event,
            str(event_id).encode(),
            cloudevents.utc_bytes(recorded_at),
            cloudevents.trace_headers(*trace),
        )
        assert made == cloudevents.headers_for(stamped, *trace) == _headers_of(stamped, *trace)


def test_the_fingerprint_is_the_submission_less_its_id() -> None:
    for event in EVENTS:
        body = event.model_dump_json(exclude_none=True, exclude={"event_id", "recorded_at"})
        expected = hashlib.sha256(body.encode()).hexdigest()
        assert fingerprint(event) == _fingerprint(_submitted_json(event)) == expected


def _headers_of(
    event: Event, traceparent: str | None, tracestate: str | None
) -> list[tuple[str, bytes]]:
    """The headers as the binding spells them out (docs/kafka-contract.md), attribute by
    attribute from the event's own fields."""
    assert event.event_id is not None and event.recorded_at is not None
    occurrence = event.occurrence

    def utc(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    attributes = {
        "ce_specversion": "1.0",
        "ce_id": str(event.event_id),
        "ce_type": cloudevents.ce_type(event.type),
        "ce_source": cloudevents.SOURCE,
        "ce_subject": event.talks_id,
        "ce_time": utc(event.recorded_at),
        "ce_dataschema": cloudevents.schema_uri(event.type),
        "ce_occurredat": occurrence.text,
        "ce_occurredearliest": utc(occurrence.earliest),
        "ce_occurredlatest": utc(occurrence.latest),
        "ce_precision": occurrence.precision.value,
        "ce_recordedat": utc(event.recorded_at),
        "content-type": "application/json",
    }
    if traceparent is not None:
        attributes["traceparent"] = traceparent
        if tracestate is not None:
            attributes["tracestate"] = tracestate
    return [(name, value.encode()) for name, value in attributes.items()]


@pytest.mark.parametrize("amount", [0.0004, 0.02, 0.02 + 1e-12, 12.0])
def test_observing_a_batchs_wait_at_once_is_observing_it_for_each_event(amount: float) -> None:
    registry = CollectorRegistry()
    buckets = PRODUCE_SECONDS._upper_bounds[:-1]
    each = Histogram("each_seconds", "", registry=registry, buckets=buckets)
    at_once = Histogram("at_once_seconds", "", registry=registry, buckets=buckets)
    for _ in range(7):
        each.observe(amount)
    observe_many(at_once, amount, 7)
    observe_many(at_once, amount, 0)
    expected, got = _samples(each), _samples(at_once)
    assert [sample[:2] for sample in got] == [sample[:2] for sample in expected]
    assert [sample[2] for sample in got] == pytest.approx([sample[2] for sample in expected])


def _samples(histogram: Histogram) -> list[tuple[str, dict[str, str], float]]:
    """Each sample by its suffix (``_bucket``, ``_count``, ``_sum``), not its creation time."""
    [metric] = histogram.collect()
    return [
        (s.name.removeprefix(metric.name), s.labels, s.value)
        for s in metric.samples
        if not s.name.endswith("_created")
    ]
