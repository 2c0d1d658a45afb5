"""The API's response models: what clients see, kept apart from events and table rows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class RoundView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    round_id: str
    status: str
    venue_city: str | None = None
    venue_country: str | None = None
    parties: list[str]
    mediators: list[str]
    format: str | None = None
    planned_start_on: date | None = None
    planned_end_on: date | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    outcome: str | None = None
    summary: str | None = None
    next_round_id: str | None = None
    event_ids: list[str]


class TalksStateView(BaseModel):
    talks_id: str
    event_count: int
    last_recorded_at: datetime
    rounds: list[RoundView]
