"""The pure fold: what the state of the talks is, given its events."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import EVENT_ADAPTER, Event, stamp
from shared.state import RoundStatus, TalksState, evolve, evolve_round, fold

pytestmark = pytest.mark.unit

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def event(
    kind: str, round_id: str = "r2", occurred_at: str = "2026-02-04", n: int = 0, **data
) -> Event:
    body = {"round_id": round_id, **data}
    if kind == "round.scheduled":
        body.setdefault("venue", {"city": "Abu Dhabi", "country": "ARE"})
        body.setdefault("planned_start", "2026-02-01")
    if kind == "round.closed":
        body.setdefault("outcome", "no_agreement")
    raw = {"type": kind, "talks_id": "abu-dhabi", "occurred_at": occurred_at, "data": body}
    return stamp(EVENT_ADAPTER.validate_python(raw), uuid4(), T0 + timedelta(seconds=n))


def test_a_round_goes_from_scheduled_to_open_to_closed() -> None:
    events = [
        event("round.scheduled", occurred_at="2026-01-28", n=0, planned_start="2026-02-01"),
        event("round.opened", occurred_at="2026-02-04T09:00:00+04:00", n=1, parties=["UKR", "RUS"]),
        event("round.closed", occurred_at="2026-02-05", n=2, outcome="partial_progress"),
    ]
    states = []
    state = TalksState("abu-dhabi")
    for e in events:
        state = evolve(state, e)
        states.append(state.rounds["r2"].status)
    assert states == [RoundStatus.SCHEDULED, RoundStatus.OPEN, RoundStatus.CLOSED]
    final = state.rounds["r2"]
    assert final.venue_city == "Abu Dhabi"
    assert final.parties == ("UKR", "RUS")
    assert final.outcome == "partial_progress"
    assert final.opened_at == "2026-02-04T09:00:00+04:00"
    assert final.event_ids == tuple(str(e.event_id) for e in events)


def test_fold_orders_by_occurrence_not_by_arrival() -> None:
    closed = event("round.closed", occurred_at="2026-02-05", n=0)
    opened = event("round.opened", occurred_at="2026-02-04", n=1)
    state = fold("abu-dhabi", [closed, opened])
    assert state.rounds["r2"].event_ids == (str(opened.event_id), str(closed.event_id))


def test_rounds_are_kept_apart() -> None:
    state = fold(
        "abu-dhabi", [event("round.opened", "r1", "2026-01-23"), event("round.scheduled", "r2")]
    )
    assert {k: r.status for k, r in state.rounds.items()} == {
        "r1": RoundStatus.OPEN,
        "r2": RoundStatus.SCHEDULED,
    }


def test_an_event_of_other_talks_is_refused() -> None:
    with pytest.raises(ValueError, match="folded into"):
        evolve(TalksState("elsewhere"), event("round.opened"))


KINDS = st.lists(st.sampled_from(["round.scheduled", "round.opened", "round.closed"]), min_size=1)


@given(KINDS, st.randoms())
def test_status_does_not_depend_on_the_order_reports_arrive_in(kinds: list[str], rnd) -> None:
    events = [event(kind, n=i) for i, kind in enumerate(kinds)]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    current = None
    for e in shuffled:  # what the projector does: apply in arrival order
        current = evolve_round(current, e)
    expected = max((RoundStatus.SCHEDULED, *(_status(k) for k in kinds)), key=_rank)
    assert current is not None
    assert current.status == expected == fold("abu-dhabi", events).rounds["r2"].status
    assert sorted(current.event_ids) == sorted(str(e.event_id) for e in events)


def _status(kind: str) -> RoundStatus:
    return {
        "round.scheduled": RoundStatus.SCHEDULED,
        "round.opened": RoundStatus.OPEN,
        "round.closed": RoundStatus.CLOSED,
    }[kind]


def _rank(status: RoundStatus) -> int:
    return list(RoundStatus).index(status)
