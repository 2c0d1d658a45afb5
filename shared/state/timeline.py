"""Chronological entries for drawing a timeline: one per event as currently believed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.events import (
    EVENT_ADAPTER,
    AgreementReached,
    CeasefireAgreed,
    CeasefireEnded,
    CeasefireViolationAlleged,
    DelegationNamed,
    Event,
    PositionStated,
    RoundAssessed,
    RoundClosed,
    RoundOpened,
    RoundPostponed,
    RoundScheduled,
    StrikeReported,
)
from shared.state.items import item_key
from shared.state.model import EventItem


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    item: str
    label: str
    occurred_at: str
    precision: str
    earliest: datetime
    latest: datetime
    corroboration: int
    event_ids: tuple[str, ...]


def label(event: Event) -> str:
    """A one-line caption for the event."""
    d = event.data
    match event:
        case RoundScheduled():
            return f"Round {d.round_id} scheduled in {d.venue.city} for {d.planned_start}"
        case RoundPostponed():
            return f"Round {d.round_id} {'cancelled' if d.cancelled else 'postponed'}"
        case RoundOpened():
            return f"Round {d.round_id} opened" + (f" in {d.venue.city}" if d.venue else "")
        case DelegationNamed():
            return f"{d.party} delegation to round {d.round_id} led by {d.head.name}"
        case RoundClosed():
            return f"Round {d.round_id} closed: {d.outcome.value.replace('_', ' ')}"
        case RoundAssessed():
            return f"{d.party} calls round {d.round_id} {d.assessment.value}"
        case PositionStated():
            stance, issue = d.stance.value.replace("_", " "), d.issue.value.replace("_", " ")
            return f"{d.party} {stance} on {issue}: {d.proposition}"
        case StrikeReported():
            targets = ", ".join(t.value.replace("_", " ") for t in d.target_types)
            return f"{d.attacking_party} strike on {targets}" + (
                f" in {d.target_party}" if d.target_party else ""
            )
        case CeasefireAgreed():
            return f"Ceasefire {d.ceasefire_id} agreed ({d.scope.value.replace('_', ' ')})"
        case CeasefireViolationAlleged():
            accused = f"{d.accused_party} of violating ceasefire {d.ceasefire_id}"
            return f"{d.alleging_party} accuses {accused}"
        case CeasefireEnded():
            return f"Ceasefire {d.ceasefire_id} ended: {d.reason.value}"
        case AgreementReached():
            return f"Agreement reached: {d.title}"
    return event.type


def timeline(
    items: Iterable[EventItem], start: datetime | None, end: datetime | None
) -> list[TimelineEntry]:
    """Entries for the events whose occurrence falls in ``[start, end]``, in time order."""
    entries = []
    for item in items:
        event = EVENT_ADAPTER.validate_python(item.event)
        occurrence = event.occurrence
        if (start and occurrence.latest < start) or (end and occurrence.latest > end):
            continue
        key = item_key(event)
        entries.append(
            TimelineEntry(
                event_id=item.event_id,
                type=event.type,
                item=f"{key.kind}:{key.key}",
                label=label(event),
                occurred_at=occurrence.text,
                precision=occurrence.precision.value,
                earliest=occurrence.earliest,
                latest=occurrence.latest,
                corroboration=item.corroboration,
                event_ids=item.event_ids,
            )
        )
    return sorted(entries, key=lambda e: (e.earliest, e.latest, e.event_id))
