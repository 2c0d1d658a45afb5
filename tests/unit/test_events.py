"""Validation of the event envelope: what is accepted, and what is refused with which field."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from shared.events import RoundOpened, parse_recorded, parse_submission, stamp, to_json

pytestmark = pytest.mark.unit

ROUND_OPENED = {
    "type": "round.opened",
    "talks_id": "abu-dhabi-trilateral",
    "occurred_at": "2026-02-04T09:00:00+04:00",
    "sources": [
        {"url": "https://example.org/a", "publisher": "Example", "published_at": "2026-02-04"}
    ],
    "data": {
        "round_id": "r2",
        "venue": {"city": "Abu Dhabi", "country": "ARE"},
        "parties": ["UKR", "RUS", "USA"],
        "mediators": ["USA"],
    },
}


def submit(**changes: object) -> object:
    return parse_submission(json.dumps({**ROUND_OPENED, **changes}))


def fields_in_error(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"][1:]) for e in exc.errors()}


def test_the_documented_example_is_accepted() -> None:
    event = submit()
    assert isinstance(event, RoundOpened)
    assert event.data.round_id == "r2"
    assert event.event_id is None  # the server assigns one
    assert event.occurred_at == "2026-02-04T09:00:00+04:00"  # precision kept as given


def test_a_client_event_id_is_kept() -> None:
    event_id = str(uuid4())
    assert submit(event_id=event_id).event_id == UUID(event_id)


@pytest.mark.parametrize("occurred_at", ["2026-02-04", "2026-01", "2026-02-04T05:00:00Z"])
def test_precision_is_kept_as_given(occurred_at: str) -> None:
    assert submit(occurred_at=occurred_at).occurred_at == occurred_at


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"talks_id": "Abu Dhabi"}, "talks_id"),
        ({"talks_id": "abu--dhabi"}, "talks_id"),
        ({"occurred_at": "4 Feb"}, "occurred_at"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"surprise": 1}, "surprise"),
        ({"recorded_at": "2026-02-04T00:00:00Z"}, "recorded_at"),
        ({"sources": [{"url": "ftp://x"}]}, "sources.0.url"),
        ({"data": {"round_id": "r2", "colour": "red"}}, "data.colour"),
        ({"data": {"venue": {"city": "Abu Dhabi", "country": "ARE"}}}, "data.round_id"),
        ({"data": {"round_id": "r2", "parties": ["Ukraine"]}}, "data.parties.0"),
    ],
)
def test_a_bad_field_is_named(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        submit(**changes)
    assert field in fields_in_error(caught.value)


def test_missing_envelope_fields_are_each_named() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_submission(json.dumps({"type": "round.opened", "data": {"round_id": "r1"}}))
    assert {"talks_id", "occurred_at"} <= fields_in_error(caught.value)


def test_an_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        submit(type="round.exploded")
    assert "round.opened" in str(caught.value)


def test_recorded_event_round_trips_through_json() -> None:
    recorded = stamp(submit(), uuid4(), datetime(2026, 2, 4, 6, tzinfo=UTC))
    assert parse_recorded(to_json(recorded)) == recorded


def test_an_unstamped_event_is_not_a_recorded_one() -> None:
    with pytest.raises(ValueError, match="event_id and recorded_at"):
        parse_recorded(to_json(submit()))
