"""The CloudEvents 1.0 binding of Parley's records on Kafka (binary content mode).

Each record's value is the event as JSON; its headers carry the CloudEvents attributes, so a
consumer can route and filter without parsing the value. See docs/kafka-contract.md.
"""

from __future__ import annotations

from datetime import datetime

from shared.events import Event

SPEC_VERSION = "1.0"
SOURCE = "urn:parley:ingest"
TYPE_PREFIX = "org.parley."
#: The version of every event type's schema; a breaking change makes a new version.
SCHEMA_VERSION = 1


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
    occurrence = event.occurrence
    attributes = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": str(event.event_id),
        "ce_type": ce_type(event.type),
        "ce_source": SOURCE,
        "ce_subject": event.talks_id,
        "ce_time": _utc(event.recorded_at),
        "ce_dataschema": schema_uri(event.type),
        "ce_occurredat": occurrence.text,
        "ce_occurredearliest": _utc(occurrence.earliest),
        "ce_occurredlatest": _utc(occurrence.latest),
        "ce_precision": occurrence.precision.value,
        "ce_recordedat": _utc(event.recorded_at),
        "content-type": "application/json",
    }
    if traceparent is not None:
        attributes["traceparent"] = traceparent
        if tracestate is not None:
            attributes["tracestate"] = tracestate
    return [(name, value.encode()) for name, value in attributes.items()]
