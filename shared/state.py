"""The state of the talks, and the pure fold that defines it.

``evolve(state, event)`` applies one event; ``fold(events)`` applies many in the order that
defines the state: by when they happened (``earliest``), then when they were recorded, then id.
The projector applies ``evolve_round`` incrementally; tests compare its tables with ``fold``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from shared.events import Event, RoundClosed, RoundOpened, RoundScheduled


class RoundStatus(StrEnum):
    """Where a round is in its life; later stages win over earlier ones."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


_STAGE = {RoundStatus.SCHEDULED: 0, RoundStatus.OPEN: 1, RoundStatus.CLOSED: 2}


@dataclass(frozen=True, slots=True)
class Round:
    """One round of talks as the events describe it."""

    round_id: str
    status: RoundStatus
    venue_city: str | None = None
    venue_country: str | None = None
    parties: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    planned_start_on: date | None = None
    planned_end_on: date | None = None
    format: str | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    outcome: str | None = None
    summary: str | None = None
    next_round_id: str | None = None
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TalksState:
    """The state of one set of talks: for now, its rounds by id."""

    talks_id: str
    rounds: dict[str, Round] = field(default_factory=dict)


def _advance(current: RoundStatus, to: RoundStatus) -> RoundStatus:
    return to if _STAGE[to] >= _STAGE[current] else current


def evolve_round(current: Round | None, event: Event) -> Round:
    """The round that ``event`` concerns, after the event. Pure; ``current`` may be ``None``."""
    data = event.data
    base = current or Round(round_id=data.round_id, status=RoundStatus.SCHEDULED)
    ids = (*base.event_ids, str(event.event_id)) if event.event_id else base.event_ids
    match event:
        case RoundScheduled(data=d):
            return replace(
                base,
                venue_city=d.venue.city,
                venue_country=d.venue.country,
                planned_start_on=d.planned_start,
                planned_end_on=d.planned_end,
                format=d.format.value if d.format else base.format,
                parties=tuple(d.parties) or base.parties,
                mediators=tuple(d.mediators) or base.mediators,
                event_ids=ids,
            )
        case RoundOpened(data=d):
            return replace(
                base,
                status=_advance(base.status, RoundStatus.OPEN),
                venue_city=d.venue.city if d.venue else base.venue_city,
                venue_country=d.venue.country if d.venue else base.venue_country,
                parties=tuple(d.parties) or base.parties,
                mediators=tuple(d.mediators) or base.mediators,
                opened_at=event.occurred_at,
                event_ids=ids,
            )
        case RoundClosed(data=d):
            return replace(
                base,
                status=_advance(base.status, RoundStatus.CLOSED),
                closed_at=event.occurred_at,
                outcome=d.outcome.value,
                summary=d.summary,
                next_round_id=d.next_round_id,
                event_ids=ids,
            )
    raise TypeError(f"not a round event: {event.type}")


def evolve(state: TalksState, event: Event) -> TalksState:
    """The state after one event of the same talks."""
    if event.talks_id != state.talks_id:
        raise ValueError(f"event of talks {event.talks_id!r} folded into {state.talks_id!r}")
    rounds = dict(state.rounds)
    rounds[event.data.round_id] = evolve_round(rounds.get(event.data.round_id), event)
    return replace(state, rounds=rounds)


def folding_order(event: Event) -> tuple[object, ...]:
    """Events are folded by when they happened, then when they were recorded, then id."""
    return (event.occurrence.earliest, event.recorded_at, str(event.event_id))


def fold(talks_id: str, events: Iterable[Event]) -> TalksState:
    """The state of the talks that ``events`` define."""
    state = TalksState(talks_id)
    for event in sorted(events, key=folding_order):
        state = evolve(state, event)
    return state
