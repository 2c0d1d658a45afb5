"""The state of the talks: plain immutable values, one class per kind of state item.

Every item names the events it derives from (``event_ids``) and how many distinct sources
stand behind it (``corroboration``), so a reader can always ask "why does it say that?".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.vocabulary.base import DescribedEnum


class RoundStatus(DescribedEnum):
    SCHEDULED = "scheduled", "Announced, not yet begun."
    POSTPONED = "postponed", "Moved to a later date, or the date is open."
    IN_PROGRESS = "in_progress", "Opened and not yet closed."
    CONCLUDED = "concluded", "Closed, with an outcome."
    CANCELLED = "cancelled", "Called off."


class CeasefireStatus(DescribedEnum):
    IN_FORCE = "in_force", "Agreed and not ended."
    ENDED = "ended", "Expired, withdrawn, superseded or collapsed."


class Item(BaseModel):
    """What every state item carries."""

    model_config = ConfigDict(frozen=True)

    event_ids: tuple[str, ...] = ()
    corroboration: int = 0


class Delegation(BaseModel):
    model_config = ConfigDict(frozen=True)

    party: str
    head: dict[str, Any]
    members: tuple[dict[str, Any], ...] = ()
    level: str | None = None
    event_id: str


class RoundAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    party: str
    assessment: str
    quote: str | None = None
    speaker: dict[str, Any] | None = None
    event_id: str


class RoundState(Item):
    round_id: str
    status: RoundStatus
    venue: dict[str, Any] | None = None
    format: str | None = None
    parties: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    planned_start: date | None = None
    planned_end: date | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    outcome: str | None = None
    summary: str | None = None
    next_round_id: str | None = None
    postponement_reason: str | None = None
    delegations: tuple[Delegation, ...] = ()
    assessments: tuple[RoundAssessment, ...] = ()


class Position(Item):
    party: str
    issue: str
    stance: str
    proposition: str
    conditionality: str | None = None
    speaker: dict[str, Any] | None = None
    quote: str | None = None
    stated_at: str
    event_id: str


class IssueState(BaseModel):
    model_config = ConfigDict(frozen=True)

    issue: str
    positions: tuple[Position, ...]
    gap: str


class ViolationAllegation(BaseModel):
    model_config = ConfigDict(frozen=True)

    alleging_party: str
    accused_party: str
    alleged_at: str
    incident_event_ids: tuple[str, ...] = ()
    description: str | None = None
    event_id: str


class CeasefireState(Item):
    ceasefire_id: str
    scope: str | None = None
    parties: tuple[str, ...] = ()
    start_at: str | None = None
    end_at: str | None = None
    status: CeasefireStatus
    ended_reason: str | None = None
    ended_by: str | None = None
    violations_alleged: tuple[ViolationAllegation, ...] = ()


class StrikeState(Item):
    event_id: str
    occurred_at: str
    occurred_latest: datetime
    attacking_party: str
    target_party: str | None = None
    target_types: tuple[str, ...]
    weapon_types: tuple[str, ...]
    location: dict[str, Any] | None = None
    launched: int | None = None
    intercepted: int | None = None
    killed: dict[str, Any] | None = None
    injured: dict[str, Any] | None = None
    impact: str | None = None
    description: str | None = None
    claimed_by: str | None = None


class AgreementState(Item):
    agreement_id: str
    title: str
    stage: str
    signatories: tuple[str, ...]
    third_parties: tuple[dict[str, Any], ...] = ()
    issues: tuple[str, ...] = ()
    summary: str | None = None
    reached_at: str


class EventItem(Item):
    """One event as it is believed: corrected, with every source found for it."""

    event_id: str
    type: str
    occurred_at: Any
    event: dict[str, Any]


class RecentStrikes(BaseModel):
    model_config = ConfigDict(frozen=True)

    window_days: int
    count: int
    items: tuple[StrikeState, ...]


class TalksState(BaseModel):
    """The state of one set of talks as of a date, as known at a time."""

    model_config = ConfigDict(frozen=True)

    talks_id: str
    as_of: datetime | None
    known_at: datetime | None
    rounds: tuple[RoundState, ...] = ()
    issues: tuple[IssueState, ...] = ()
    ceasefires: tuple[CeasefireState, ...] = ()
    recent_strikes: RecentStrikes
    agreements: tuple[AgreementState, ...] = ()
    event_count: int = 0
