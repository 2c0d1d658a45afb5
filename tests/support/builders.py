"""Building recorded events for tests with little ceremony."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.projector.items import version_row
from shared.events import EVENT_ADAPTER, Event, stamp
from shared.state import histories

T0 = datetime(2026, 2, 10, tzinfo=UTC)

DEFAULTS: dict[str, dict[str, Any]] = {
    "round.scheduled": {
        "venue": {"city": "Abu Dhabi", "country": "ARE"},
        "planned_start": "2026-02-04",
    },
    "round.closed": {"outcome": "no_agreement"},
    "delegation.named": {"party": "UKR", "head": {"name": "Rustem Umerov"}},
    "round.assessed": {"party": "USA", "assessment": "constructive"},
    "position.stated": {
        "party": "UKR",
        "issue": "territory",
        "stance": "rejects",
        "proposition": "No withdrawal.",
    },
    "strike.reported": {
        "attacking_party": "RUS",
        "target_party": "UKR",
        "target_types": ["energy_infrastructure"],
        "weapon_types": ["missile", "drone"],
    },
    "ceasefire.agreed": {
        "ceasefire_id": "energy",
        "scope": "energy_infrastructure",
        "parties": ["UKR", "RUS"],
    },
    "ceasefire.violation_alleged": {
        "ceasefire_id": "energy",
        "alleging_party": "UKR",
        "accused_party": "RUS",
    },
    "ceasefire.ended": {"ceasefire_id": "energy", "reason": "expired"},
    "agreement.reached": {
        "agreement_id": "a1",
        "title": "Prisoner exchange",
        "stage": "partial",
        "signatories": ["UKR", "RUS"],
    },
    "report.retracted": {"reason": "false_report"},
    "report.corrected": {"reason": "better figures"},
}
ROUND_TYPES = {
    "round.scheduled",
    "round.postponed",
    "round.opened",
    "round.closed",
    "delegation.named",
    "round.assessed",
}


class Recorder:
    """Records events for one talks with increasing ``recorded_at``, like the ingest would."""

    def __init__(self, talks_id: str = "abu-dhabi", start: datetime = T0) -> None:
        self.talks_id = talks_id
        self.clock = start
        self.events: list[Event] = []

    def __call__(
        self,
        type_: str,
        occurred_at: Any = "2026-02-04",
        *,
        at: datetime | None = None,
        sources: list[str] = (),  # type: ignore[assignment]
        **data: Any,
    ) -> Event:
        body = dict(DEFAULTS.get(type_, {}))
        if type_ in ROUND_TYPES:
            body.setdefault("round_id", "r2")
        body.update(data)
        raw = {
            "type": type_,
            "talks_id": self.talks_id,
            "occurred_at": occurred_at,
            "sources": [{"url": u} for u in sources],
            "data": body,
        }
        self.clock = at or self.clock + timedelta(minutes=1)
        event = stamp(EVENT_ADAPTER.validate_python(raw), uuid.uuid4(), self.clock)
        self.events.append(event)
        return event


def end_of(day: str) -> datetime:
    """The last microsecond of a UTC day, which is what ``as_of=YYYY-MM-DD`` means."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1, microseconds=-1)


def version_rows(talks_id: str, history: list[Event]) -> list[dict[str, Any]]:
    """The ``item_versions`` rows the projector writes for ``history``, without their ids."""
    return [
        version_row(talks_id, key, v)
        for key, versions in histories(history).items()
        for v in versions
    ]
