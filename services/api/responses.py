"""The API's response models: what clients see (the state items themselves come from shared)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.state import Change, Position, RoundState, StrikeState, TimelineEntry


class TalksSummary(BaseModel):
    talks_id: str
    event_count: int
    first_recorded_at: datetime
    last_recorded_at: datetime


class TalksList(BaseModel):
    talks: list[TalksSummary]


class TimeEcho(BaseModel):
    """The times a read used, so that a response can always be reproduced."""

    as_of: datetime
    known_at: datetime


class RoundsResponse(TimeEcho):
    talks_id: str
    rounds: list[RoundState]


class PositionsResponse(TimeEcho):
    talks_id: str
    positions: list[Position]


class StrikesPage(TimeEcho):
    items: list[StrikeState]
    next_cursor: str | None


class EventsPage(TimeEcho):
    items: list[dict[str, Any]]
    next_cursor: str | None


class Vocabulary(BaseModel):
    name: str
    values: dict[str, str]


class Problem(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None


class DateChanges(BaseModel):
    """What changed in the state between two dates, as known at ``known_at``."""

    talks_id: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    known_at: datetime
    changes: list[Change]

    model_config = ConfigDict(populate_by_name=True)


class BeliefChanges(BaseModel):
    """What we learned between ``known_from`` and ``known_to`` about the talks as of ``as_of``."""

    talks_id: str
    as_of: datetime
    known_from: datetime
    known_to: datetime
    changes: list[Change]
    reports: list[dict[str, Any]]


class Timeline(BaseModel):
    talks_id: str
    from_: datetime | None = Field(alias="from", serialization_alias="from")
    to: datetime
    known_at: datetime
    entries: list[TimelineEntry]

    model_config = ConfigDict(populate_by_name=True)


class Provenance(BaseModel):
    event_id: str
    subject_event_id: str
    recorded: dict[str, Any]
    corrections: list[dict[str, Any]]
    retraction: dict[str, Any] | None
    sources_added: list[dict[str, Any]]
    believed: dict[str, Any] | None
    believed_event_ids: list[str] | None
