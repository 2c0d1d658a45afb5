"""What we believe about each report, given the corrections, retractions and sources known.

Report events (``report.corrected``, ``report.retracted``, ``source.added``) are applied to
their targets in the order they were recorded. A correction is a JSON merge patch (RFC 7396)
over the target's ``{occurred_at, data}``; one whose result is not a valid event is ignored,
as is any report whose target is unknown or is itself a report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from shared.events import (
    EVENT_ADAPTER,
    REPORT_TYPES,
    Event,
    ReportCorrected,
    ReportRetracted,
    SourceAdded,
)


@lru_cache(maxsize=1 << 16)
def id_text(event_id: object) -> str:
    """An event id as text, kept: the folds and item keys ask for the same ids many times
    and ``str(UUID)`` is not cheap."""
    return str(event_id)


@dataclass(frozen=True, slots=True)
class Believed:
    """A report as currently believed, with the ids of the reports that changed it."""

    event: Event
    report_ids: tuple[str, ...] = ()
    #: Where the event comes in folding order: when it happened, was recorded, its id.
    order: tuple[datetime, datetime, str] = field(init=False, repr=False, compare=False)
    #: The event's id and the ids of the reports that changed it.
    event_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        event = self.event
        event_id = id_text(event.event_id)
        order = (event.occurrence.earliest, event.recorded_at or datetime.min, event_id)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "event_ids", (event_id, *self.report_ids))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def knowledge_order(event: Event) -> tuple[object, ...]:
    return (event.recorded_at, id_text(event.event_id))


def believed_events(events: Iterable[Event]) -> list[Believed]:
    """Every substantive event as corrected and sourced by the reports, less the retracted."""
    believed, retracted = _believe(events)
    return [b for event_id, b in believed.items() if event_id not in retracted]


def every_belief(events: Iterable[Event]) -> list[Event]:
    """Every version any substantive event was believed to be, at any time, retracted or not."""
    versions: list[Event] = []
    _believe(events, versions.append)
    return versions


def _believe(
    events: Iterable[Event], seen: Callable[[Event], object] | None = None
) -> tuple[dict[str, Believed], set[str]]:
    believed: dict[str, Believed] = {}
    reports: list[Event] = []
    for event in events:
        if event.type in REPORT_TYPES:
            reports.append(event)
        else:
            believed[id_text(event.event_id)] = Believed(event)
            if seen is not None:
                seen(event)
    retracted: set[str] = set()
    for report in sorted(reports, key=knowledge_order):
        target_id = str(report.data.target_event_id)
        current = believed.get(target_id)
        if current is None or target_id in retracted:
            continue
        if isinstance(report, ReportRetracted):
            retracted.add(target_id)
            continue
        changed = _apply(current.event, report)
        if changed is not None:
            believed[target_id] = Believed(changed, (*current.report_ids, str(report.event_id)))
            if seen is not None:
                seen(changed)
    return believed, retracted


def _apply(target: Event, report: Event) -> Event | None:
    if isinstance(report, SourceAdded):
        return target.model_copy(update={"sources": [*target.sources, report.data.source]})
    assert isinstance(report, ReportCorrected)
    document = target.model_dump(mode="json", exclude_none=True)
    patched = merge_patch(
        {"occurred_at": document["occurred_at"], "data": document["data"]}, report.data.changes
    )
    try:
        return EVENT_ADAPTER.validate_python({**document, **patched})
    except ValidationError:
        return None  # a correction that would make the report invalid changes nothing
