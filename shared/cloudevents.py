"""The CloudEvents 1.0 binding of Parley's records on Kafka (binary content mode).

Each record's value is the event as JSON; its headers carry the CloudEvents attributes, so a
consumer can route and filter without parsing the value. See docs/kafka-contract.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from shared.events import EVENT_TYPES, Event, OccurredBetween
from shared.occurrence import occurrence_of

SPEC_VERSION = "1.0"
SOURCE = "urn:parley:ingest"
TYPE_PREFIX = "org.parley."
#: The version of every event type's schema; a breaking change makes a new version.
SCHEMA_VERSION = 1


Header = tuple[str, bytes]

SCHEMA_BASE = "https://parley.example/schemas/"


def schema_uri(event_type: str, version: int = SCHEMA_VERSION) -> str:
    """The absolute URI (the ``$id``) of a type's JSON Schema, also served at /v1/schemas."""
    return f"{SCHEMA_BASE}{event_type}.v{version}.json"


def ce_type(event_type: str, version: int = SCHEMA_VERSION) -> str:
    """``round.opened`` -> ``org.parley.round.opened.v1``."""
    return f"{TYPE_PREFIX}{event_type}.v{version}"


def event_type_of(ce: str) -> tuple[str, int]:
    """``org.parley.round.opened.v1`` -> (``round.opened``, 1); ``ValueError`` otherwise."""
    if not ce.startswith(TYPE_PREFIX) or ".v" not in ce:
        raise ValueError(f"not a Parley CloudEvents type: {ce!r}")
    name, _, version = ce[len(TYPE_PREFIX) :].rpartition(".v")
    return name, int(version)


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def headers_for(
    event: Event, traceparent: str | None = None, tracestate: str | None = None
) -> list[tuple[str, bytes]]:
    """The Kafka headers of a recorded event: CloudEvents attributes and extensions.

    ``traceparent`` (and ``tracestate``), already formatted, are the W3C Trace Context of the
    request that recorded it: the CloudEvents Distributed Tracing extension, under the header
    names W3C and OpenTelemetry's Kafka instrumentations use.
    """
    assert event.event_id is not None and event.recorded_at is not None, "stamp the event first"
    return record_headers(
        event,
        str(event.event_id).encode(),
        _utc(event.recorded_at).encode(),
        trace_headers(traceparent, tracestate),
    )


def record_headers(
    event: Event,
    event_id: bytes,
    recorded_at: bytes,
    trace: tuple[tuple[str, bytes], ...] = (),
) -> list[tuple[str, bytes]]:
    """:func:`headers_for` an event not stamped yet, given its id and ``recorded_at`` as the
    header values (:func:`utc_bytes`) and its :func:`trace_headers`. The ingest's hot path: a
    batch shares its ``recorded_at`` and trace, and each type, talks and occurrence text
    encodes to the same values every time, so those are kept rather than made again."""
    occurred, earliest, latest, precision = _occurrence_headers(event.occurred_at)
    return [
        _SPEC_VERSION,
        ("ce_id", event_id),
        _TYPE_HEADERS[event.type],
        _SOURCE,
        ("ce_subject", _subject(event.talks_id)),
        ("ce_time", recorded_at),
        _SCHEMA_HEADERS[event.type],
        occurred,
        earliest,
        latest,
        precision,
        ("ce_recordedat", recorded_at),
        _CONTENT_TYPE,
        *trace,
    ]


def trace_headers(
    traceparent: str | None, tracestate: str | None = None
) -> tuple[tuple[str, bytes], ...]:
    """The W3C Trace Context headers of a record (``tracestate`` only with a ``traceparent``)."""
    if traceparent is None:
        return ()
    if tracestate is None:
        return (("traceparent", traceparent.encode()),)
    return (("traceparent", traceparent.encode()), ("tracestate", tracestate.encode()))


@lru_cache(maxsize=256)
def utc_bytes(moment: datetime) -> bytes:
    """``moment`` as a header value: ISO 8601 in UTC with a ``Z``."""
    return _utc(moment.astimezone(UTC)).encode()


_SPEC_VERSION = ("ce_specversion", SPEC_VERSION.encode())
_SOURCE = ("ce_source", SOURCE.encode())
_CONTENT_TYPE = ("content-type", b"application/json")
_TYPE_HEADERS = {name: ("ce_type", ce_type(name).encode()) for name in EVENT_TYPES}
_SCHEMA_HEADERS = {name: ("ce_dataschema", schema_uri(name).encode()) for name in EVENT_TYPES}


@lru_cache(maxsize=4096)
def _subject(talks_id: str) -> bytes:
    return talks_id.encode()


@lru_cache(maxsize=1 << 14)
def _occurrence_headers(occurred_at: str | OccurredBetween) -> tuple[Header, ...]:
    """The four headers of an occurrence (the envelope's ``occurrence``, kept by its text)."""
    if isinstance(occurred_at, OccurredBetween):
        occurrence = occurrence_of(occurred_at.earliest).between(occurrence_of(occurred_at.latest))
    else:
        occurrence = occurrence_of(occurred_at)
    return (
        ("ce_occurredat", occurrence.text.encode()),
        ("ce_occurredearliest", _utc(occurrence.earliest).encode()),
        ("ce_occurredlatest", _utc(occurrence.latest).encode()),
        ("ce_precision", occurrence.precision.value.encode()),
    )
