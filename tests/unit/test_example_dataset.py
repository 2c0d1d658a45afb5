"""Golden tests: the state of the Abu Dhabi example dataset on the dates that matter.

The expected values come from the seed article and the fold's documented semantics, chiefly:
an event is in effect from the END of its ``occurred_at`` (the day, month or window by which
it certainly happened), so a "January 2026" event shows only as of 31 January, end of day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from shared.events import CeasefireViolationAlleged, Event, parse_submission, stamp
from shared.state import RoundState, TalksState, fold

pytestmark = pytest.mark.unit

DATASET = Path(__file__).resolve().parents[2] / "examples" / "abu-dhabi-2026.jsonl"
TALKS_ID = "abu-dhabi-trilateral"
RECORDED_FROM = datetime(2026, 2, 5, 12, tzinfo=UTC)

R1_SCHEDULED = "7e1937bb-4533-45df-90cf-0ba3591443ea"
R1_OPENED = "04d1bb31-ad75-40d2-98e5-7d0c9ee3e354"
R1_CLOSED = "a20d8bfe-0ca8-4277-948f-91c5424f6798"
R1_ASSESSED = "b76435d1-17ce-48ad-bc72-6e5f81ece230"
R2_POSTPONED = "45a7669f-6607-41ec-a553-b55888ae7411"
R2_SCHEDULED = "665bea22-dcf6-422a-aec9-611f6175c551"
CEASEFIRE_AGREED = "05a11fa8-3a3f-43ff-b6ee-75ad93c9063b"
STRIKE = "704ec5a9-e1d8-4853-ae80-f9ca3aba9a44"
VIOLATION_ALLEGED = "88e5ff8c-252d-4f97-bc3d-9ae21b32cd19"
R2_OPENED = "f961fae2-419e-49be-adcb-2efbb3ca95ac"
R2_UKR_DELEGATION = "96e4fcec-7ebd-40c6-9110-5f92aae9c6b9"
R2_ASSESSED = "65ce6982-6eaa-469e-b336-11b370e7fbe7"
RUS_TERRITORY = "316598db-7554-4a02-aca9-519406a812d8"
UKR_TERRITORY = "8ce3f9bb-4dd7-4996-929d-4db2010696f6"
UKR_GUARANTEES = "c735f0c1-3a73-4ea6-88ba-85d91c9a8685"
RUS_GUARANTEES = "c250292f-65df-46b7-8d8f-20183c2e1e68"
RUS_FOREIGN_TROOPS = "b967d83f-1329-49b7-b4a6-60fb757c1047"
UKR_CEASEFIRE = "d2df4cfa-dbab-43d3-8b47-5d90621442b8"

EVERY_EVENT = {
    R1_SCHEDULED,
    R1_OPENED,
    R1_CLOSED,
    R1_ASSESSED,
    R2_POSTPONED,
    R2_SCHEDULED,
    CEASEFIRE_AGREED,
    STRIKE,
    VIOLATION_ALLEGED,
    R2_OPENED,
    R2_UKR_DELEGATION,
    R2_ASSESSED,
    RUS_TERRITORY,
    UKR_TERRITORY,
    UKR_GUARANTEES,
    RUS_GUARANTEES,
    RUS_FOREIGN_TROOPS,
    UKR_CEASEFIRE,
}
ABU_DHABI = {"city": "Abu Dhabi", "country": "ARE"}


def event_lines() -> list[tuple[int, str]]:
    """The file's event lines with their line numbers; blank and ``#`` lines are skipped."""
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    return [
        (number, text.strip())
        for number, text in enumerate(lines, start=1)
        if text.strip() and not text.strip().startswith("#")
    ]


def recorded_events() -> list[Event]:
    """The file's events as the ingest would record them: in file order, a second apart."""
    events = [parse_submission(text) for _, text in event_lines()]
    return [
        stamp(e, e.event_id, RECORDED_FROM + timedelta(seconds=i))
        for i, e in enumerate(events)
        if e.event_id is not None
    ]


def state_on(day: date) -> TalksState:
    """The state at the very end of ``day`` (UTC), as known from the whole file."""
    as_of = datetime.combine(day, time.max, tzinfo=UTC)
    return fold(TALKS_ID, recorded_events(), as_of=as_of, known_at=None)


def rounds_of(state: TalksState) -> dict[str, RoundState]:
    return {r.round_id: r for r in state.rounds}


def test_every_line_is_a_valid_event_of_the_talks_with_a_fixed_unique_id() -> None:
    ids = []
    for number, text in event_lines():
        event = parse_submission(text)  # raises, naming the field, if the line is invalid
        assert event.event_id is not None, f"line {number} has no event_id"
        assert event.talks_id == TALKS_ID, f"line {number}"
        assert event.sources, f"line {number} has no source"
        ids.append(str(event.event_id))
    assert len(ids) == len(set(ids)), "an event_id is used twice"
    assert set(ids) == EVERY_EVENT


def test_the_allegation_names_the_barrage_as_its_incident() -> None:
    alleged = next(e for e in recorded_events() if str(e.event_id) == VIOLATION_ALLEGED)
    assert isinstance(alleged, CeasefireViolationAlleged)
    assert [str(i) for i in alleged.data.incident_event_ids] == [STRIKE]


def test_before_round_1_nothing_is_on_record() -> None:
    state = state_on(date(2025, 12, 31))
    assert state.rounds == ()
    assert state.issues == ()
    assert state.ceasefires == ()
    assert state.recent_strikes.count == 0
    assert state.event_count == 0


def test_round_1_dated_to_january_shows_only_once_january_is_over() -> None:
    assert state_on(date(2026, 1, 30)).rounds == ()
    assert rounds_of(state_on(date(2026, 1, 31)))["r1"].status == "concluded"


def test_between_the_rounds_round_1_is_concluded_and_round_2_not_yet_certain() -> None:
    state = state_on(date(2026, 2, 1))
    rounds = rounds_of(state)
    # Round 2's schedule and postponement are certain only by 3 February (see the dataset).
    assert set(rounds) == {"r1"}
    r1 = rounds["r1"]
    assert r1.status == "concluded"
    assert r1.outcome == "no_agreement"
    assert r1.venue == ABU_DHABI
    assert r1.format == "trilateral"
    assert r1.parties == ("UKR", "RUS", "USA")
    assert r1.mediators == ("USA",)
    assert (r1.opened_at, r1.closed_at) == ("2026-01", "2026-01")
    # The officials' assessment is dated only "after January began, by 4 February".
    assert r1.assessments == ()
    assert r1.event_ids == (R1_SCHEDULED, R1_OPENED, R1_CLOSED)
    # The ceasefire is known to have been agreed only by 2 February, the barrage by then too.
    assert state.ceasefires == ()
    assert state.recent_strikes.count == 0
    assert state.issues == ()


def test_once_the_barrage_is_certain_the_ceasefire_shows_no_allegation_yet() -> None:
    state = state_on(date(2026, 2, 2))
    assert [s.event_id for s in state.recent_strikes.items] == [STRIKE]
    (ceasefire,) = state.ceasefires
    assert ceasefire.status == "in_force"
    assert ceasefire.violations_alleged == ()


def test_the_day_before_round_2() -> None:
    state = state_on(date(2026, 2, 3))
    rounds = rounds_of(state)
    assert rounds["r1"].status == "concluded"

    r2 = rounds["r2"]
    assert r2.status == "scheduled"  # postponed, then scheduled for 4-5 February
    assert (r2.planned_start, r2.planned_end) == (date(2026, 2, 4), date(2026, 2, 5))
    assert r2.venue == ABU_DHABI
    assert r2.parties == ("UKR", "RUS", "USA")
    assert r2.mediators == ("USA",)
    assert r2.postponement_reason == "Logistical coordination among the delegations."
    assert r2.opened_at is None
    assert r2.event_ids == (R2_POSTPONED, R2_SCHEDULED)
    assert [r.round_id for r in state.rounds] == ["r1", "r2"]

    assert state.recent_strikes.count == 1
    (strike,) = state.recent_strikes.items
    assert strike.event_id == STRIKE
    assert strike.occurred_at == "2026-01-31/2026-02-02"
    assert (strike.attacking_party, strike.target_party) == ("RUS", "UKR")
    assert strike.target_types == ("energy_infrastructure",)
    assert strike.weapon_types == ("missile", "drone")
    assert (strike.killed, strike.injured, strike.launched) == (None, None, None)

    (ceasefire,) = state.ceasefires
    assert ceasefire.ceasefire_id == "limited-energy-ceasefire"
    assert ceasefire.status == "in_force"
    assert ceasefire.scope == "energy_infrastructure"
    assert ceasefire.parties == ("UKR", "RUS")
    (allegation,) = ceasefire.violations_alleged
    assert (allegation.alleging_party, allegation.accused_party) == ("UKR", "RUS")
    assert allegation.incident_event_ids == (STRIKE,)
    assert allegation.event_id == VIOLATION_ALLEGED
    assert ceasefire.event_ids == (CEASEFIRE_AGREED, VIOLATION_ALLEGED)

    assert state.issues == ()  # the positions are reported as of the article, 4 February


def test_during_round_2() -> None:
    state = state_on(date(2026, 2, 5))
    rounds = rounds_of(state)
    assert rounds["r1"].status == "concluded"
    assert [(a.party, a.assessment) for a in rounds["r1"].assessments] == [("USA", "constructive")]

    r2 = rounds["r2"]
    assert r2.status == "in_progress"
    assert r2.opened_at == "2026-02-04"
    assert r2.closed_at is None
    assert r2.outcome is None
    (delegation,) = r2.delegations  # Russia's and the USA's heads are not named
    assert delegation.party == "UKR"
    assert delegation.head["name"] == "Rustem Umerov"
    assert delegation.level == "security_council"
    (assessment,) = r2.assessments
    assert (assessment.party, assessment.assessment) == ("USA", "mixed")
    assert assessment.quote == "productive and constructive"
    assert r2.event_ids == (R2_POSTPONED, R2_SCHEDULED, R2_OPENED, R2_UKR_DELEGATION, R2_ASSESSED)

    issues = {i.issue: i for i in state.issues}
    assert [i.issue for i in state.issues] == [
        "territory",
        "security_guarantees",
        "ceasefire",
        "foreign_troops",
    ]
    stances = {
        name: [(p.party, p.stance) for p in issue.positions] for name, issue in issues.items()
    }
    assert stances == {
        "territory": [("RUS", "demands"), ("UKR", "rejects")],
        "security_guarantees": [("RUS", "opposes"), ("UKR", "demands")],
        "ceasefire": [("UKR", "open_to_discuss")],
        "foreign_troops": [("RUS", "opposes")],
    }
    assert issues["territory"].gap == "opposed"
    assert issues["security_guarantees"].gap == "opposed"
    assert issues["ceasefire"].gap == "unknown"  # only Ukraine's position is reported
    assert issues["foreign_troops"].gap == "unknown"
    assert issues["ceasefire"].positions[0].speaker == {
        "name": "Volodymyr Zelenskyy",
        "role": "President of Ukraine",
    }
    assert all(p.stated_at == "2026-02-04" for i in state.issues for p in i.positions)

    assert [s.event_id for s in state.recent_strikes.items] == [STRIKE]
    assert [c.status for c in state.ceasefires] == ["in_force"]
    assert state.event_count == len(EVERY_EVENT)


def test_during_round_2_every_item_points_at_events_of_the_file() -> None:
    state = state_on(date(2026, 2, 5))
    items = [
        *state.rounds,
        *(p for issue in state.issues for p in issue.positions),
        *state.ceasefires,
        *state.recent_strikes.items,
        *state.agreements,
    ]
    for item in items:
        assert item.event_ids, f"{item!r} names no event"
        assert set(item.event_ids) <= EVERY_EVENT
        assert item.corroboration == 1  # one article behind every item
    named = {i for item in items for i in item.event_ids}
    assert named == EVERY_EVENT  # by 5 February every event of the file is in effect
    inner = [
        *(d.event_id for r in state.rounds for d in r.delegations),
        *(a.event_id for r in state.rounds for a in r.assessments),
        *(v.event_id for c in state.ceasefires for v in c.violations_alleged),
        *(i for c in state.ceasefires for v in c.violations_alleged for i in v.incident_event_ids),
        *(p.event_id for issue in state.issues for p in issue.positions),
    ]
    assert set(inner) <= EVERY_EVENT


def test_a_month_later_the_barrage_has_left_the_window_and_round_2_is_still_open() -> None:
    state = state_on(date(2026, 3, 5))
    assert state.recent_strikes.count == 0  # 2 February is more than 30 days before
    # The article was written during round 2: nothing in the dataset closes it.
    assert rounds_of(state)["r2"].status == "in_progress"
