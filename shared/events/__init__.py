"""The events Parley records: one pydantic model per type, under one discriminated union.

Every event shares the envelope (``event_id``, ``type``, ``talks_id``, ``occurred_at``,
``sources``, ``data``); the ingest adds ``recorded_at``. Unknown fields are rejected
everywhere. Event types are named in the past tense: they say what happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast, get_args
from uuid import UUID

from pydantic import Field, TypeAdapter

from shared.events.conflict import (
    CeasefireAgreed,
    CeasefireEnded,
    CeasefireViolationAlleged,
    StrikeReported,
)
from shared.events.envelope import Envelope, OccurredBetween, Source
from shared.events.negotiation import (
    AgreementReached,
    DelegationNamed,
    PositionStated,
    RoundAssessed,
    RoundClosed,
    RoundOpened,
    RoundPostponed,
    RoundScheduled,
)
from shared.events.reports import ReportCorrected, ReportRetracted, SourceAdded

AnyEvent = (
    RoundScheduled
    | RoundPostponed
    | RoundOpened
    | DelegationNamed
    | RoundClosed
    | RoundAssessed
    | StrikeReported
    | PositionStated
    | CeasefireAgreed
    | CeasefireViolationAlleged
    | CeasefireEnded
    | AgreementReached
    | ReportCorrected
    | ReportRetracted
    | SourceAdded
)
Event = Annotated[AnyEvent, Field(discriminator="type")]

#: Built once: validation is the hot path of the ingest.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

#: Every event type by its ``type`` name.
EVENT_CLASSES: dict[str, type[Envelope]] = {
    cls.model_fields["type"].default: cls for cls in get_args(AnyEvent)
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CLASSES)
#: Types that say something about an earlier report rather than about the talks.
REPORT_TYPES = frozenset({"report.corrected", "report.retracted", "source.added"})

#: Validation context for a client's submission (``recorded_at`` belongs to the server).
SUBMISSION = {"submission": True}


def parse_submission(body: bytes | str) -> Event:
    """Validate a client's JSON submission (raises ``pydantic.ValidationError``)."""
    return EVENT_ADAPTER.validate_json(body, context=SUBMISSION)


def parse_recorded(body: bytes | str | dict[str, Any]) -> Event:
    """Decode an event as recorded (it carries ``event_id`` and ``recorded_at``).

    ``body`` is the JSON from the log, or the dict the archive's JSON column returns.
    """
    if isinstance(body, dict):
        event = EVENT_ADAPTER.validate_python(body)
    else:
        event = EVENT_ADAPTER.validate_json(body)
    if event.event_id is None or event.recorded_at is None:
        raise ValueError("a recorded event must carry event_id and recorded_at")
    return event


def stamp(event: Event, event_id: UUID, recorded_at: datetime) -> Event:
    """The event as the ingest records it: with its id and the server's clock."""
    stamped = {"event_id": event_id, "recorded_at": recorded_at.astimezone(UTC)}
    return event.model_copy(update=stamped)


def to_json(event: Event) -> bytes:
    """The canonical JSON of an event (absent optional fields stay absent)."""
    return event.model_dump_json(exclude_none=True).encode()


def subject_of(event: Event) -> UUID:
    """The substantive event this event is about: its target for a report, else itself."""
    if event.type in REPORT_TYPES:  # a string test: far cheaper than isinstance of a union
        return cast(ReportCorrected | ReportRetracted | SourceAdded, event).data.target_event_id
    assert event.event_id is not None, "only recorded events have a subject"
    return event.event_id


def as_dict(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)


__all__ = [
    "EVENT_ADAPTER",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "REPORT_TYPES",
    "SUBMISSION",
    "AgreementReached",
    "AnyEvent",
    "CeasefireAgreed",
    "CeasefireEnded",
    "CeasefireViolationAlleged",
    "DelegationNamed",
    "Envelope",
    "Event",
    "OccurredBetween",
    "PositionStated",
    "ReportCorrected",
    "ReportRetracted",
    "RoundAssessed",
    "RoundClosed",
    "RoundOpened",
    "RoundPostponed",
    "RoundScheduled",
    "Source",
    "SourceAdded",
    "StrikeReported",
    "as_dict",
    "parse_recorded",
    "parse_submission",
    "stamp",
    "subject_of",
    "to_json",
]
