"""What changed between two views, and the timeline, as pure functions over items."""

from __future__ import annotations

import pytest

from shared.state import diff, items_of, timeline
from shared.state.fold import in_effect
from shared.state.knowledge import believed_events
from shared.state.model import EventItem
from tests.support.builders import Recorder, end_of

pytestmark = pytest.mark.unit


def view(rec: Recorder, day: str, known_at=None):
    known = [e for e in rec.events if known_at is None or e.recorded_at <= known_at]
    return items_of(in_effect(believed_events(known), end_of(day)))


def test_changes_between_two_dates() -> None:
    rec = Recorder()
    rec("round.scheduled", "2026-01-28")
    opened = rec("round.opened", "2026-02-04")
    rec("position.stated", "2026-01-10", party="UKR", stance="open_to_discuss", proposition="Talk.")
    changed = rec("position.stated", "2026-02-02", party="UKR", stance="rejects", proposition="No.")
    agreed = rec("ceasefire.agreed", "2026-01-20")
    alleged = rec("ceasefire.violation_alleged", "2026-02-03")
    strike = rec("strike.reported", "2026-02-02")
    changes = diff(view(rec, "2026-02-01"), view(rec, "2026-02-05"))
    by_change = {c.change: c for c in changes}
    assert set(by_change) == {
        "round.opened",
        "position.changed",
        "ceasefire.violation_alleged",
        "strike.reported",
    }
    assert by_change["round.opened"].details == {
        "round_id": "r2",
        "before": "scheduled",
        "after": "in_progress",
    }
    assert by_change["round.opened"].event_ids == (str(opened.event_id),)
    assert by_change["position.changed"].details["before"] == "open_to_discuss"
    assert by_change["position.changed"].details["after"] == "rejects"
    assert by_change["position.changed"].event_ids == (str(changed.event_id),)
    assert by_change["ceasefire.violation_alleged"].event_ids == (str(alleged.event_id),)
    assert by_change["strike.reported"].event_ids == (str(strike.event_id),)
    started = {c.change: c for c in diff(view(rec, "2026-01-01"), view(rec, "2026-01-21"))}
    assert set(started) == {"position.stated", "ceasefire.started"}
    assert started["ceasefire.started"].event_ids == (str(agreed.event_id),)
    assert started["position.stated"].details["after"] == "open_to_discuss"


def test_withdrawn_position_and_ended_ceasefire() -> None:
    rec = Recorder()
    rec("position.stated", "2026-02-01", party="RUS", stance="demands", proposition="Withdraw.")
    rec("ceasefire.agreed", "2026-02-01")
    rec("position.stated", "2026-02-10", party="RUS", stance="withdraws", proposition="Withdraw.")
    rec("ceasefire.ended", "2026-02-10", reason="collapsed", by_party="RUS")
    changes = {c.change: c for c in diff(view(rec, "2026-02-05"), view(rec, "2026-02-11"))}
    assert set(changes) == {"position.withdrawn", "ceasefire.ended"}
    assert changes["ceasefire.ended"].details == {
        "ceasefire_id": "energy",
        "reason": "collapsed",
        "by_party": "RUS",
    }


def test_belief_diff_sees_a_correction_and_a_retraction() -> None:
    rec = Recorder()
    strike = rec("strike.reported", "2026-02-02")
    other = rec("strike.reported", "2026-02-03")
    cutoff = rec.events[-1].recorded_at
    fix = rec(
        "report.corrected",
        "2026-02-06",
        target_event_id=str(strike.event_id),
        changes={"data": {"weapon_types": ["cruise_missile"]}},
    )
    gone = rec("report.retracted", "2026-02-06", target_event_id=str(other.event_id))
    changes = diff(view(rec, "2026-02-05", cutoff), view(rec, "2026-02-05"))
    kinds = {c.change: c for c in changes}
    assert set(kinds) == {"strike.updated", "strike.removed"}
    assert kinds["strike.updated"].details["fields"] == ["weapon_types"]
    assert kinds["strike.updated"].event_ids == (str(fix.event_id),)
    assert kinds["strike.removed"].key == str(other.event_id)
    assert kinds["strike.removed"].event_ids == (str(other.event_id),)
    assert gone.recorded_at > cutoff


def test_timeline_is_chronological_with_precision() -> None:
    rec = Recorder()
    rec("round.opened", "2026-02-04T09:00:00+04:00")
    rec("round.scheduled", "2026-01")
    rec("strike.reported", {"earliest": "2026-01-31", "latest": "2026-02-02"})
    items = [i for i in items_of(believed_events(rec.events)).values() if isinstance(i, EventItem)]
    entries = timeline(items, None, end_of("2026-02-28"))
    assert [(e.type, e.precision) for e in entries] == [
        ("round.scheduled", "month"),
        ("strike.reported", "between"),
        ("round.opened", "instant"),
    ]
    assert entries[-1].label == "Round r2 opened"
    assert timeline(items, end_of("2026-02-03"), end_of("2026-02-28"))[0].type == "round.opened"
