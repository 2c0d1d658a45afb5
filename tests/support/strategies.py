"""Hypothesis strategies: random but valid histories of talks, corrections included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from tests.support.builders import Recorder

DAYS = [f"2026-01-{d:02d}" for d in (5, 20, 31)] + [f"2026-02-{d:02d}" for d in (1, 2, 3, 4, 5)]
WHEN = st.one_of(
    st.sampled_from(DAYS),
    st.sampled_from(["2026-01", "2026-02"]),
    st.sampled_from(["2026-02-04T09:00:00+04:00", "2026-02-03T23:30:00Z"]),
    st.sampled_from([{"earliest": "2026-01-31", "latest": "2026-02-02"}]),
)
SUBSTANTIVE: list[tuple[str, dict[str, Any]]] = [
    ("round.scheduled", {"round_id": "r1"}),
    ("round.scheduled", {"round_id": "r2", "planned_start": "2026-02-04"}),
    ("round.postponed", {"round_id": "r2", "new_planned_start": "2026-02-05"}),
    ("round.postponed", {"round_id": "r2", "cancelled": True}),
    ("round.opened", {"round_id": "r1"}),
    ("round.opened", {"round_id": "r2"}),
    ("round.closed", {"round_id": "r1", "outcome": "partial_progress"}),
    ("delegation.named", {"round_id": "r2", "party": "UKR"}),
    ("round.assessed", {"round_id": "r2", "party": "USA", "assessment": "mixed"}),
    ("position.stated", {"party": "UKR", "stance": "rejects"}),
    ("position.stated", {"party": "RUS", "stance": "demands"}),
    ("position.stated", {"party": "RUS", "stance": "withdraws"}),
    ("position.stated", {"party": "USA", "issue": "ceasefire", "stance": "proposes"}),
    ("strike.reported", {}),
    ("ceasefire.agreed", {}),
    ("ceasefire.violation_alleged", {}),
    ("ceasefire.ended", {}),
    ("agreement.reached", {}),
]
CORRECTIONS: list[dict[str, Any]] = [
    {"occurred_at": "2026-02-03"},
    {"occurred_at": "2026-01"},
    {"data": {"round_id": "r2"}},
    {"data": {"stance": "accepts_conditionally"}},
    {"data": {"target_types": ["district_heating"]}},
]


@st.composite
def histories(draw: st.DrawFn, max_size: int = 14) -> Recorder:
    """A talks' events in recording order: substantive reports, then reports about them."""
    rec = Recorder()
    for _ in range(draw(st.integers(1, max_size))):
        rec.clock += timedelta(minutes=draw(st.integers(0, 3)))  # ties in recorded_at happen
        substantive = [e for e in rec.events if e.type not in _REPORTS]
        kind = draw(st.sampled_from(["new"] * 4 + ["corrected", "retracted", "source"]))
        if kind == "new" or not substantive:
            type_, data = draw(st.sampled_from(SUBSTANTIVE))
            sources = draw(
                st.lists(st.sampled_from(["https://a.example", "https://b.example"]), max_size=2)
            )
            rec(type_, draw(WHEN), at=rec.clock, sources=sources, **data)
            continue
        target = str(draw(st.sampled_from(substantive)).event_id)
        if kind == "corrected":
            rec(
                "report.corrected",
                draw(WHEN),
                at=rec.clock,
                target_event_id=target,
                changes=draw(st.sampled_from(CORRECTIONS)),
            )
        elif kind == "retracted":
            rec("report.retracted", draw(WHEN), at=rec.clock, target_event_id=target)
        else:
            rec(
                "source.added",
                draw(WHEN),
                at=rec.clock,
                target_event_id=target,
                source={"url": "https://c.example"},
            )
    return rec


_REPORTS = {"report.corrected", "report.retracted", "source.added"}
