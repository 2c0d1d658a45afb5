"""The events Parley records, one pydantic model per type, under one discriminated union.

Every event shares the envelope: ``event_id``, ``type``, ``talks_id``, ``occurred_at``,
``sources`` and ``data``; the ingest adds ``recorded_at``. Unknown fields are rejected
everywhere. Event types are named in the past tense: they say what happened.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)

from shared.occurrence import Occurrence, check_occurrence, occurrence_of
from shared.vocabulary import PartyCode, RoundFormat, RoundId, RoundOutcome, Slug

#: Validation context for a client's submission (``recorded_at`` belongs to the server).
SUBMISSION = {"submission": True}


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


OccurredAt = Annotated[str, AfterValidator(check_occurrence)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]


class Strict(BaseModel):
    """Base of every event model: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """Where a report came from."""

    url: HttpUrl
    publisher: str | None = Field(default=None, max_length=200)
    published_at: OccurredAt | None = None


class Venue(Strict):
    city: str = Field(min_length=1, max_length=100)
    country: PartyCode


class Envelope(Strict):
    """Fields shared by every event type."""

    event_id: UUID | None = None
    type: str
    talks_id: Slug
    occurred_at: OccurredAt
    sources: list[Source] = Field(default_factory=list, max_length=50)
    recorded_at: datetime | None = None

    @field_validator("recorded_at")
    @classmethod
    def _recorded_by_server(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is not None and info.context and info.context.get("submission"):
            raise ValueError("recorded_at is set by the server; leave it out")
        if value is not None and value.tzinfo is None:
            raise ValueError("recorded_at must carry a UTC offset")
        return value

    @property
    def occurrence(self) -> Occurrence:
        return occurrence_of(self.occurred_at)


# --- data of each event type -------------------------------------------------------------


class RoundScheduledData(Strict):
    round_id: RoundId
    venue: Venue
    planned_start: date
    planned_end: date | None = None
    format: RoundFormat | None = None
    parties: list[PartyCode] = Field(default_factory=list)
    mediators: list[PartyCode] = Field(default_factory=list)


class RoundOpenedData(Strict):
    round_id: RoundId
    venue: Venue | None = None
    parties: list[PartyCode] = Field(default_factory=list)
    mediators: list[PartyCode] = Field(default_factory=list)


class RoundClosedData(Strict):
    round_id: RoundId
    outcome: RoundOutcome
    summary: str | None = Field(default=None, max_length=4000)
    next_round_id: RoundId | None = None


# --- event types -------------------------------------------------------------------------


class RoundScheduled(Envelope):
    """A round of talks was announced for a place and date."""

    type: Literal["round.scheduled"] = "round.scheduled"
    data: RoundScheduledData


class RoundOpened(Envelope):
    """A round of talks began."""

    type: Literal["round.opened"] = "round.opened"
    data: RoundOpenedData


class RoundClosed(Envelope):
    """A round of talks ended, with an outcome."""

    type: Literal["round.closed"] = "round.closed"
    data: RoundClosedData


Event = Annotated[RoundScheduled | RoundOpened | RoundClosed, Field(discriminator="type")]

#: Built once: validation is the hot path of the ingest.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TYPES: tuple[str, ...] = ("round.scheduled", "round.opened", "round.closed")


def parse_submission(body: bytes | str) -> Event:
    """Validate a client's JSON submission (raises ``pydantic.ValidationError``)."""
    return EVENT_ADAPTER.validate_json(body, context=SUBMISSION)


def parse_recorded(body: bytes | str) -> Event:
    """Decode an event as recorded on the log (it carries ``event_id`` and ``recorded_at``)."""
    event = EVENT_ADAPTER.validate_json(body)
    if event.event_id is None or event.recorded_at is None:
        raise ValueError("a recorded event must carry event_id and recorded_at")
    return event


def stamp(event: Event, event_id: UUID, recorded_at: datetime) -> Event:
    """The event as the ingest records it: with its id and the server's clock."""
    return event.model_copy(
        update={"event_id": event_id, "recorded_at": recorded_at.astimezone(UTC)}
    )


def to_json(event: Event) -> bytes:
    """The canonical JSON of an event (fields the client left out stay out)."""
    return event.model_dump_json(exclude_unset=False, exclude_none=True).encode()


def as_dict(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)
