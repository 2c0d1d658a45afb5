from datetime import UTC, datetime
from uuid import uuid4

import pytest

from shared.cloudevents import ce_type, event_type_of, headers_for
from shared.events import EVENT_TYPES, parse_submission, stamp

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_types_round_trip(event_type: str) -> None:
    assert event_type_of(ce_type(event_type)) == (event_type, 1)


def test_not_a_parley_type() -> None:
    with pytest.raises(ValueError, match="not a Parley"):
        event_type_of("com.example.thing")


def test_headers_carry_the_attributes_and_both_times() -> None:
    event = parse_submission(
        '{"type": "strike.reported", "talks_id": "abu-dhabi", '
        '"occurred_at": {"earliest": "2026-01-31", "latest": "2026-02-02"}, '
        '"data": {"attacking_party": "RUS", "target_types": ["energy_infrastructure"], '
        '"weapon_types": ["missile"]}}'
    )
    event_id = uuid4()
    headers = dict(headers_for(stamp(event, event_id, datetime(2026, 2, 3, 8, tzinfo=UTC))))
    assert {k: v.decode() for k, v in headers.items()} == {
        "ce_specversion": "1.0",
        "ce_id": str(event_id),
        "ce_type": "org.parley.strike.reported.v1",
        "ce_source": "urn:parley:ingest",
        "ce_subject": "abu-dhabi",
        "ce_time": "2026-02-03T08:00:00Z",
        "ce_dataschema": "https://parley.example/schemas/strike.reported.v1.json",
        "ce_occurredat": "2026-01-31/2026-02-02",
        "ce_occurredearliest": "2026-01-31T00:00:00Z",
        "ce_occurredlatest": "2026-02-02T23:59:59.999999Z",
        "ce_precision": "between",
        "ce_recordedat": "2026-02-03T08:00:00Z",
        "content-type": "application/json",
    }
