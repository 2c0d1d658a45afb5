"""The sort fields the projector stores beside each item's JSON (``item_versions.sort_first``
and ``sort_second``, which the covering indexes of 0009 hold) order the state as the fold does.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bench.generate import START, talks_history
from services.api.responses import state_document
from services.projector.schema import sort_fields
from shared.state import EventItem, fold, histories

pytestmark = pytest.mark.unit

EVENTS = talks_history("bench-001", 1500, 1)


@pytest.mark.parametrize("days", [60, 250, 500, 720])
def test_the_stored_sort_fields_give_the_folds_order(days: int) -> None:
    as_of = START + timedelta(days=days)
    for known_at in (as_of, as_of + timedelta(days=30), START + timedelta(days=800)):
        rows, count = [], 0
        for key, versions in histories(EVENTS).items():
            for v in versions:
                if not (
                    v.known_from <= known_at
                    and (v.known_to is None or v.known_to > known_at)
                    and v.valid_from <= as_of
                    and (v.valid_to is None or v.valid_to > as_of)
                ):
                    continue
                if isinstance(v.value, EventItem):
                    count += 1
                    continue
                doc = v.value.model_dump_json()
                rows.append((key.kind, key.key, doc, *sort_fields(key.kind, json.loads(doc))))
        expected = fold("bench-001", EVENTS, as_of=as_of, known_at=known_at)
        served = state_document("bench-001", as_of, known_at, 30, rows, count)
        assert served == expected.model_dump_json().encode()


def test_an_event_item_has_no_sort_fields() -> None:
    assert sort_fields("event", {"event_id": "x"}) == (None, None)
    assert sort_fields("round", {"planned_start": None, "opened_at": "2026-02-04T09:00:00Z"}) == (
        None,
        "2026-02-04T09:00:00Z",
    )
