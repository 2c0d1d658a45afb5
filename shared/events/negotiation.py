"""Events of the negotiation: rounds, delegations, assessments, positions, agreements."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from shared.events.envelope import Envelope, Name, Person, Speaker, Strict, Text, Venue
from shared.vocabulary import (
    AgreementStage,
    Assessment,
    Conditionality,
    DelegationLevel,
    Issue,
    LocalId,
    Party,
    RoundFormat,
    RoundOutcome,
    Stance,
    ThirdPartyRole,
)

Parties = list[Party]


class RoundScheduledData(Strict):
    round_id: LocalId
    venue: Venue
    planned_start: date
    planned_end: date | None = None
    format: RoundFormat | None = None
    parties: Parties = Field(default_factory=list)
    mediators: Parties = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> RoundScheduledData:
        if self.planned_end and self.planned_end < self.planned_start:
            raise ValueError("planned_end must not be before planned_start")
        return self


class RoundPostponedData(Strict):
    round_id: LocalId
    new_planned_start: date | None = None
    new_planned_end: date | None = None
    reason: Text | None = None
    cancelled: bool = False


class RoundOpenedData(Strict):
    round_id: LocalId
    venue: Venue | None = None
    parties: Parties = Field(default_factory=list)
    mediators: Parties = Field(default_factory=list)


class DelegationNamedData(Strict):
    round_id: LocalId
    party: Party
    head: Person
    members: list[Person] = Field(default_factory=list, max_length=100)
    level: DelegationLevel | None = None


class RoundClosedData(Strict):
    round_id: LocalId
    outcome: RoundOutcome
    summary: Text | None = None
    next_round_id: LocalId | None = None


class RoundAssessedData(Strict):
    round_id: LocalId
    party: Party
    assessment: Assessment
    quote: Text | None = None
    speaker: Speaker | None = None


class PositionStatedData(Strict):
    party: Party
    issue: Issue
    stance: Stance
    proposition: Name = Field(description="One normalised sentence: what is demanded or rejected.")
    speaker: Speaker | None = None
    quote: Text | None = None
    conditionality: Conditionality | None = None


class ThirdParty(Strict):
    party: Party
    role: ThirdPartyRole


class AgreementReachedData(Strict):
    agreement_id: LocalId
    title: Name
    stage: AgreementStage
    signatories: Parties = Field(min_length=1)
    third_parties: list[ThirdParty] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    summary: Text | None = None


class RoundScheduled(Envelope):
    """A round of talks was announced for a place and date."""

    type: Literal["round.scheduled"] = "round.scheduled"
    data: RoundScheduledData


class RoundPostponed(Envelope):
    """A scheduled round was moved, or called off (``cancelled``)."""

    type: Literal["round.postponed"] = "round.postponed"
    data: RoundPostponedData


class RoundOpened(Envelope):
    """A round of talks began."""

    type: Literal["round.opened"] = "round.opened"
    data: RoundOpenedData


class DelegationNamed(Envelope):
    """A party named who leads (and sits in) its delegation to a round."""

    type: Literal["delegation.named"] = "delegation.named"
    data: DelegationNamedData


class RoundClosed(Envelope):
    """A round of talks ended, with an outcome."""

    type: Literal["round.closed"] = "round.closed"
    data: RoundClosedData


class RoundAssessed(Envelope):
    """A party said how the round went."""

    type: Literal["round.assessed"] = "round.assessed"
    data: RoundAssessedData


class PositionStated(Envelope):
    """A party stated its stance on an issue."""

    type: Literal["position.stated"] = "position.stated"
    data: PositionStatedData


class AgreementReached(Envelope):
    """Parties reached a written agreement."""

    type: Literal["agreement.reached"] = "agreement.reached"
    data: AgreementReachedData
