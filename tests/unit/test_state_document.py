"""The state read's JSON, spliced from stored item JSON, is byte for byte the fold's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import START, talks_history
from services.api.responses import state_document
from shared.state import EventItem, Item, ItemKey, ItemVersion, fold
from shared.state import histories as item_histories
from tests.support.builders import Recorder, end_of
from tests.support.strategies import DAYS, histories

pytestmark = pytest.mark.unit


def _sort_fields(item: Item) -> tuple[str | None, str | None]:
    """What the query reads beside the JSON, as ``body->>field`` would give it."""
    fields = item.model_dump(mode="json")
    first = {"RoundState": "planned_start", "Position": "stance", "StrikeState": "occurred_latest"}
    name = {**first, "AgreementState": "reached_at"}.get(type(item).__name__)
    second = fields["opened_at"] if type(item).__name__ == "RoundState" else None
    return (fields[name] if name else None), second


def served(
    talks_id: str,
    versions: list[tuple[ItemKey, ItemVersion]],
    as_of: datetime,
    known_at: datetime,
    window: int,
) -> bytes:
    """What the state read does, with the rectangles selected in Python instead of SQL: it
    passes every visible strike, not only those in the window, to show the window applies."""
    visible = [
        (key, v.value)
        for key, v in versions
        if v.known_from <= known_at
        and (v.known_to is None or v.known_to > known_at)
        and v.valid_from <= as_of
        and (v.valid_to is None or v.valid_to > as_of)
    ]
    rows = [
        (key.kind, key.key, item.model_dump_json(), *_sort_fields(item))
        for key, item in visible
        if not isinstance(item, EventItem)
    ]
    count = sum(isinstance(item, EventItem) for _, item in visible)
    return state_document(talks_id, as_of, known_at, window, rows, count)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.sampled_from([*DAYS, "2026-03-31"]),
    st.integers(0, 30),
    st.sampled_from([1, 30]),
)
def test_the_document_is_the_folds_json(
    rec: Recorder, day: str, known_step: int, window: int
) -> None:
    as_of = end_of(day)
    times = sorted({e.recorded_at for e in rec.events})
    known_at = times[min(known_step, len(times) - 1)] + timedelta(seconds=known_step % 2)
    versions = [(k, v) for k, vs in item_histories(rec.events).items() for v in vs]
    expected = fold("abu-dhabi", rec.events, as_of=as_of, known_at=known_at, window_days=window)
    document = served("abu-dhabi", versions, as_of, known_at, window)
    assert document == expected.model_dump_json().encode()


@pytest.mark.parametrize("days", [40, 200, 400, 700])
def test_a_generated_history_with_many_items_of_every_kind(days: int) -> None:
    events = talks_history("bench-000", 1500, 0)
    versions = [(k, v) for k, vs in item_histories(events).items() for v in vs]
    as_of = START + timedelta(days=days)
    for known_at in (as_of, as_of + timedelta(days=20), START + timedelta(days=800)):
        expected = fold("bench-000", events, as_of=as_of, known_at=known_at)
        assert expected.rounds and expected.issues and expected.recent_strikes.items
        document = served("bench-000", versions, as_of, known_at, 30)
        assert document == expected.model_dump_json().encode()


def test_no_item_gives_the_empty_state() -> None:
    now = START
    expected = fold("quiet", [], as_of=now, known_at=now)
    assert state_document("quiet", now, now, 30, [], 0) == expected.model_dump_json().encode()
