"""The pure fold: what the state of the talks is, given its events, as of a date, as known when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.state import fold
from tests.support.builders import Recorder, end_of

pytestmark = pytest.mark.unit


def round_of(state, round_id="r2"):
    return next(r for r in state.rounds if r.round_id == round_id)


def test_a_round_goes_through_its_life() -> None:
    rec = Recorder()
    scheduled = rec(
        "round.scheduled", "2026-01-28", planned_start="2026-02-01", format="trilateral"
    )
    postponed = rec(
        "round.postponed", "2026-01-30", new_planned_start="2026-02-04", reason="logistics"
    )
    opened = rec("round.opened", "2026-02-04T09:00:00+04:00", parties=["UKR", "RUS", "USA"])
    head = rec("delegation.named", "2026-02-04", party="UKR", head={"name": "Rustem Umerov"})
    assessed = rec("round.assessed", "2026-02-05", party="USA", assessment="mixed")
    closed = rec("round.closed", "2026-02-05", outcome="partial_progress")
    status = {
        day: round_of(fold("abu-dhabi", rec.events, as_of=end_of(day))).status
        for day in ("2026-01-28", "2026-01-31", "2026-02-04", "2026-02-05")
    }
    assert status == {
        "2026-01-28": "scheduled",
        "2026-01-31": "postponed",
        "2026-02-04": "in_progress",
        "2026-02-05": "concluded",
    }
    r2 = round_of(fold("abu-dhabi", rec.events))
    assert str(r2.planned_start) == "2026-02-04"
    assert r2.postponement_reason == "logistics"
    assert r2.opened_at == "2026-02-04T09:00:00+04:00"
    assert [(d.party, d.head["name"]) for d in r2.delegations] == [("UKR", "Rustem Umerov")]
    assert [(a.party, a.assessment) for a in r2.assessments] == [("USA", "mixed")]
    assert r2.outcome == "partial_progress"
    ids = {str(e.event_id) for e in (scheduled, postponed, opened, head, assessed, closed)}
    assert set(r2.event_ids) == ids


def test_a_month_is_in_effect_only_once_the_month_is_over() -> None:
    rec = Recorder()
    rec("round.opened", "2026-01", round_id="r1")
    assert fold("abu-dhabi", rec.events, as_of=end_of("2026-01-30")).rounds == ()
    assert (
        round_of(fold("abu-dhabi", rec.events, as_of=end_of("2026-01-31")), "r1").status
        == "in_progress"
    )


def test_cancelled_round() -> None:
    rec = Recorder()
    rec("round.scheduled", "2026-01-28")
    rec("round.postponed", "2026-02-01", cancelled=True)
    assert round_of(fold("abu-dhabi", rec.events)).status == "cancelled"


def test_the_latest_statement_is_the_position_and_withdraws_removes_it() -> None:
    rec = Recorder()
    rec("position.stated", "2026-01-10", party="UKR", stance="open_to_discuss", proposition="Talk.")
    rec(
        "position.stated", "2026-02-01", party="UKR", stance="rejects", proposition="No withdrawal."
    )
    [issue] = fold("abu-dhabi", rec.events).issues
    assert [(p.party, p.stance) for p in issue.positions] == [("UKR", "rejects")]
    assert issue.gap == "unknown"  # only one party has a position
    rec(
        "position.stated",
        "2026-02-02",
        party="UKR",
        stance="withdraws",
        proposition="No withdrawal.",
    )
    assert fold("abu-dhabi", rec.events).issues == ()


@pytest.mark.parametrize(
    ("stances", "gap"),
    [
        (("demands", "rejects"), "opposed"),
        (("red_line", "opposes"), "opposed"),
        (("proposes", "accepts_conditionally"), "partial"),
        (("open_to_discuss", "rejects"), "partial"),
        (("supports", "accepts"), "aligned"),
        (("rejects", "opposes"), "aligned"),
        (("demands",), "unknown"),
    ],
)
def test_gap(stances: tuple[str, ...], gap: str) -> None:
    rec = Recorder()
    for party, stance in zip(("RUS", "UKR", "USA"), stances, strict=False):
        rec("position.stated", "2026-02-01", party=party, stance=stance, proposition="Withdrawal.")
    assert fold("abu-dhabi", rec.events).issues[0].gap == gap


def test_ceasefire_with_allegation_and_end() -> None:
    rec = Recorder()
    rec("ceasefire.agreed", "2026-01-20")
    strike = rec("strike.reported", "2026-02-02")
    alleged = rec(
        "ceasefire.violation_alleged", "2026-02-03", incident_event_ids=[str(strike.event_id)]
    )
    [ceasefire] = fold("abu-dhabi", rec.events, as_of=end_of("2026-02-03")).ceasefires
    assert (ceasefire.status, ceasefire.scope) == ("in_force", "energy_infrastructure")
    [allegation] = ceasefire.violations_alleged
    assert (allegation.alleging_party, allegation.accused_party) == ("UKR", "RUS")
    assert allegation.event_id == str(alleged.event_id)
    assert allegation.incident_event_ids == (str(strike.event_id),)
    rec("ceasefire.ended", "2026-03-01", reason="collapsed", by_party="RUS")
    assert fold("abu-dhabi", rec.events).ceasefires[0].status == "ended"


def test_recent_strikes_are_those_in_the_window_up_to_as_of() -> None:
    rec = Recorder()
    old = rec("strike.reported", "2025-12-01")
    new = rec("strike.reported", {"earliest": "2026-01-31", "latest": "2026-02-02"})
    recent = fold("abu-dhabi", rec.events, as_of=end_of("2026-02-03")).recent_strikes
    assert (recent.window_days, recent.count) == (30, 1)
    assert recent.items[0].event_id == str(new.event_id)
    assert fold("abu-dhabi", rec.events, as_of=end_of("2026-02-01")).recent_strikes.count == 0
    wide = fold("abu-dhabi", rec.events, as_of=end_of("2026-02-03"), window_days=90).recent_strikes
    assert {s.event_id for s in wide.items} == {str(old.event_id), str(new.event_id)}


def test_corroboration_counts_distinct_sources_including_added_ones() -> None:
    rec = Recorder()
    strike = rec(
        "strike.reported", "2026-02-02", sources=["https://a.example/1", "https://b.example/2"]
    )
    added = rec(
        "source.added",
        "2026-02-03",
        target_event_id=str(strike.event_id),
        source={"url": "https://c.example/3", "reliability": "B", "credibility": 2},
    )
    rec(
        "source.added",
        "2026-02-03",
        target_event_id=str(strike.event_id),
        source={"url": "https://a.example/1"},
    )
    item = fold("abu-dhabi", rec.events, as_of=end_of("2026-02-03")).recent_strikes.items[0]
    assert item.corroboration == 3
    assert str(added.event_id) in item.event_ids


def test_a_correction_changes_belief_from_its_recording_on_only() -> None:
    rec = Recorder()
    strike = rec("strike.reported", "2026-02-02", killed={"best": 3})
    corrected = rec(
        "report.corrected",
        "2026-02-06",
        target_event_id=str(strike.event_id),
        changes={"data": {"killed": {"best": 5, "high": 7}}},
    )
    before = fold("abu-dhabi", rec.events, known_at=corrected.recorded_at - timedelta(seconds=1))
    after = fold("abu-dhabi", rec.events, known_at=corrected.recorded_at)
    assert before.recent_strikes.items == () or before.recent_strikes.items[0].killed == {"best": 3}
    everything = fold(
        "abu-dhabi", rec.events, as_of=end_of("2026-02-06"), known_at=corrected.recorded_at
    )
    assert everything.recent_strikes.items[0].killed == {"best": 5, "high": 7}
    assert str(corrected.event_id) in everything.recent_strikes.items[0].event_ids
    assert after.event_count == before.event_count == 1


def test_a_correction_of_the_date_moves_the_event_in_time() -> None:
    rec = Recorder()
    opened = rec("round.opened", "2026-02-05")
    rec(
        "report.corrected",
        "2026-02-06",
        target_event_id=str(opened.event_id),
        changes={"occurred_at": "2026-02-04"},
    )
    assert (
        round_of(fold("abu-dhabi", rec.events, as_of=end_of("2026-02-04"))).status == "in_progress"
    )


def test_an_invalid_correction_changes_nothing() -> None:
    rec = Recorder()
    opened = rec("round.opened", "2026-02-04")
    rec(
        "report.corrected",
        "2026-02-06",
        target_event_id=str(opened.event_id),
        changes={"data": {"round_id": None}},
    )
    assert round_of(fold("abu-dhabi", rec.events)).status == "in_progress"


def test_a_retraction_removes_the_report_from_then_on() -> None:
    rec = Recorder()
    strike = rec("strike.reported", "2026-02-02")
    retraction = rec("report.retracted", "2026-02-03", target_event_id=str(strike.event_id))
    as_of = end_of("2026-02-03")
    assert fold("abu-dhabi", rec.events, as_of=as_of).recent_strikes.count == 0
    earlier = retraction.recorded_at - timedelta(microseconds=1)
    assert fold("abu-dhabi", rec.events, as_of=as_of, known_at=earlier).recent_strikes.count == 1


def test_a_correction_can_move_an_event_to_another_round() -> None:
    rec = Recorder()
    opened = rec("round.opened", "2026-02-04", round_id="r3")
    rec(
        "report.corrected",
        "2026-02-06",
        target_event_id=str(opened.event_id),
        changes={"data": {"round_id": "r2"}},
    )
    assert [r.round_id for r in fold("abu-dhabi", rec.events).rounds] == ["r2"]


def test_events_of_other_talks_are_ignored() -> None:
    mine, theirs = Recorder("abu-dhabi"), Recorder("istanbul")
    mine("round.opened")
    theirs("round.opened")
    assert fold("abu-dhabi", mine.events + theirs.events).event_count == 1
