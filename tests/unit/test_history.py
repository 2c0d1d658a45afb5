"""The read models' item histories agree with the pure fold at every (as_of, known_at)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from shared.events import REPORT_TYPES, subject_of
from shared.state import ItemVersion, advance, assemble, fold, history_and_state, item_keys
from shared.state import histories as item_histories
from tests.support.builders import Recorder, end_of
from tests.support.strategies import DAYS, histories

pytestmark = pytest.mark.unit


def all_histories(rec: Recorder) -> list[ItemVersion]:
    """What the projector stores: for every item any event was ever about, its history."""
    return [v for versions in item_histories(rec.events).values() for v in versions]


def select(versions: list[ItemVersion], as_of: datetime, known_at: datetime):
    return [
        v.value
        for v in versions
        if v.known_from <= known_at
        and (v.known_to is None or v.known_to > known_at)
        and v.valid_from <= as_of
        and (v.valid_to is None or v.valid_to > as_of)
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([*DAYS, "2026-03-31"]), st.integers(0, 30))
def test_stored_histories_give_exactly_the_fold(rec: Recorder, day: str, known_step: int) -> None:
    as_of = end_of(day)
    times = sorted({e.recorded_at for e in rec.events})
    known_at = times[min(known_step, len(times) - 1)] + timedelta(seconds=known_step % 2)
    versions = all_histories(rec)
    from_models = assemble("abu-dhabi", select(versions, as_of, known_at), as_of, known_at)
    assert from_models == fold("abu-dhabi", rec.events, as_of=as_of, known_at=known_at)


@settings(max_examples=60, deadline=None)
@given(histories())
def test_versions_never_overlap(rec: Recorder) -> None:
    """At any (as_of, known_at) an item has at most one version."""
    by_item: dict[tuple, list[ItemVersion]] = {}
    for v in all_histories(rec):
        by_item.setdefault((type(v.value), _identity(v.value)), []).append(v)
    for versions in by_item.values():
        for i, a in enumerate(versions):
            for b in versions[i + 1 :]:
                known = _overlap(a.known_from, a.known_to, b.known_from, b.known_to)
                valid = _overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to)
                assert not (known and valid), (a, b)


def _identity(item) -> str:
    for attr in ("round_id", "ceasefire_id", "agreement_id"):
        if hasattr(item, attr):
            return getattr(item, attr)
    if hasattr(item, "issue"):
        return f"{item.issue}/{item.party}"
    return item.event_id


def _overlap(a0, a1, b0, b1) -> bool:
    return (a1 is None or b0 < a1) and (b1 is None or a0 < b1)


def test_reports_are_never_items_themselves() -> None:
    rec = Recorder()
    strike = rec("strike.reported", "2026-02-02")
    rec("report.retracted", "2026-02-03", target_event_id=str(strike.event_id))
    kinds = {type(v.value).__name__ for v in all_histories(rec)}
    assert kinds == {"StrikeState", "EventItem"}


def test_in_order_reports_grow_the_history_linearly() -> None:
    """A round reported day after day: each report closes one version and opens two."""
    rec = Recorder()
    for day in range(1, 29):
        rec("round.assessed", f"2026-02-{day:02d}", party="USA", assessment="mixed")
    versions = [v for v in all_histories(rec) if type(v.value).__name__ == "RoundState"]
    assert len(versions) <= 2 * 28
    assert fold("abu-dhabi", rec.events).rounds[0].event_ids == tuple(
        str(e.event_id) for e in rec.events
    )


def test_an_item_a_correction_moved_a_report_to_keeps_its_history_after_a_retraction() -> None:
    """Hypothesis found this: the item only the corrected version was about was forgotten."""
    rec = Recorder()
    scheduled = rec("round.scheduled", "2026-02-02", round_id="r1")
    moved = rec(
        "report.corrected",
        "2026-02-02",
        target_event_id=str(scheduled.event_id),
        changes={"data": {"round_id": "r3"}},
    )
    rec("report.retracted", "2026-02-02", target_event_id=str(scheduled.event_id))
    versions = all_histories(rec)
    for known_at in (moved.recorded_at, rec.clock):
        expected = fold("abu-dhabi", rec.events, as_of=end_of("2026-02-03"), known_at=known_at)
        chosen = select(versions, end_of("2026-02-03"), known_at)
        assert assemble("abu-dhabi", chosen, end_of("2026-02-03"), known_at) == expected
    believed_then = fold(
        "abu-dhabi", rec.events, as_of=end_of("2026-02-03"), known_at=moved.recorded_at
    )
    assert [r.round_id for r in believed_then.rounds] == ["r3"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(max_size=20), st.integers(0, 20))
def test_advancing_with_events_in_order_writes_the_same_history(rec: Recorder, cut: int) -> None:
    """What the projector does with events that arrive in order: take an item's state where
    its history stood, close and open versions with :func:`advance`, and end with exactly
    the versions a full recomputation gives."""
    times = sorted({e.recorded_at for e in rec.events})
    reported = {subject_of(e) for e in rec.events if e.type in REPORT_TYPES}
    out_of_order = [
        i
        for i, t in enumerate(times)
        if any(
            e.recorded_at == t and (e.type in REPORT_TYPES or e.event_id in reported)
            for e in rec.events
        )
    ]
    first_in_order = max(out_of_order, default=-1) + 1
    start = min(max(cut, first_in_order), len(times))
    hypothesis_event(f"advance steps: {min(len(times) - start, 3)}")
    before = [e for e in rec.events if start == len(times) or e.recorded_at < times[start]]
    keys = {k for e in rec.events if e.type not in REPORT_TYPES for k in item_keys(e)}
    for key in keys:
        stored, state = history_and_state(key, before)
        for t in times[start:]:
            step = advance(key, state, t, [e for e in rec.events if e.recorded_at == t])
            ended = [replace(v, known_to=None) for v in step.closed]  # as they were stored
            stored = [v for v in stored if v not in ended] + [*step.closed, *step.opened]
            state = step.state
        full, full_state = history_and_state(key, rec.events)
        assert sorted(stored, key=repr) == sorted(full, key=repr)
        assert state.open == full_state.open
