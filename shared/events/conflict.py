"""Events of the fighting around the talks: strikes and ceasefires."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field, NonNegativeInt, model_validator

from shared.events.envelope import Envelope, Name, PointInTime, Strict, Text
from shared.vocabulary import (
    CeasefireEndReason,
    CeasefireScope,
    LocalId,
    Party,
    TargetType,
    WeaponType,
)


class Casualties(Strict):
    """A count with its uncertainty, as UCDP reports it: low <= best <= high."""

    low: NonNegativeInt | None = None
    best: NonNegativeInt | None = None
    high: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Casualties:
        given = [v for v in (self.low, self.best, self.high) if v is not None]
        if given != sorted(given):
            raise ValueError("must satisfy low <= best <= high")
        return self


class Location(Strict):
    admin1: Name | None = Field(default=None, description="Region/oblast, e.g. 'Kyiv Oblast'.")
    settlement: Name | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class StrikeReportedData(Strict):
    attacking_party: Party
    target_party: Party | None = None
    target_types: list[TargetType] = Field(min_length=1)
    weapon_types: list[WeaponType] = Field(min_length=1)
    location: Location | None = None
    launched: NonNegativeInt | None = None
    intercepted: NonNegativeInt | None = None
    killed: Casualties | None = None
    injured: Casualties | None = None
    impact: Text | None = None
    description: Text | None = None
    claimed_by: Party | None = None

    @model_validator(mode="after")
    def _intercepted_of_launched(self) -> StrikeReportedData:
        if None not in (self.launched, self.intercepted) and self.intercepted > self.launched:  # type: ignore[operator]
            raise ValueError("intercepted must not exceed launched")
        return self


class CeasefireAgreedData(Strict):
    ceasefire_id: LocalId
    scope: CeasefireScope
    parties: list[Party] = Field(min_length=2)
    start_at: PointInTime | None = None
    end_at: PointInTime | None = None


class CeasefireViolationAllegedData(Strict):
    ceasefire_id: LocalId
    alleging_party: Party
    accused_party: Party
    incident_event_ids: list[UUID] = Field(default_factory=list)
    description: Text | None = None


class CeasefireEndedData(Strict):
    ceasefire_id: LocalId
    reason: CeasefireEndReason
    by_party: Party | None = None


class StrikeReported(Envelope):
    """An attack was reported (after ACLED's remote-violence events)."""

    type: Literal["strike.reported"] = "strike.reported"
    data: StrikeReportedData


class CeasefireAgreed(Envelope):
    """Parties agreed to stop some or all hostilities."""

    type: Literal["ceasefire.agreed"] = "ceasefire.agreed"
    data: CeasefireAgreedData


class CeasefireViolationAlleged(Envelope):
    """A party accused another of breaking a ceasefire."""

    type: Literal["ceasefire.violation_alleged"] = "ceasefire.violation_alleged"
    data: CeasefireViolationAllegedData


class CeasefireEnded(Envelope):
    """A ceasefire ended."""

    type: Literal["ceasefire.ended"] = "ceasefire.ended"
    data: CeasefireEndedData
