"""The API's response models: what clients see (the state items themselves come from shared)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.state import Position, RoundState, StrikeState


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
