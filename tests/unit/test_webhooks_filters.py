"""Which events a subscription gets, and which filters the API refuses."""

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.api.subscription_models import SubscriptionRequest, field_errors
from services.webhooks.filters import SubscriptionFilter, wanted
from services.webhooks.outbox import Subscriber, TopicRecord, delivery_rows, facts_of
from shared.events import EVENT_TYPES

pytestmark = pytest.mark.unit

T0 = datetime(2026, 2, 4, 9, tzinfo=UTC)


def test_an_empty_filter_matches_everything() -> None:
    f = SubscriptionFilter()
    assert all(f.matches("any-talks", t) for t in EVENT_TYPES)


def test_talks_and_types_must_both_match() -> None:
    f = SubscriptionFilter(talks_id="abu-dhabi", types=["round.opened", "round.closed"])
    assert f.matches("abu-dhabi", "round.opened")
    assert f.matches("abu-dhabi", "round.closed")
    assert not f.matches("abu-dhabi", "strike.reported")
    assert not f.matches("geneva", "round.opened")


def test_only_events_recorded_since_the_subscription_are_wanted() -> None:
    f = SubscriptionFilter(talks_id="abu-dhabi")
    kwargs = {"talks_id": "abu-dhabi", "event_type": "round.opened"}
    assert wanted(f, T0, recorded_at=T0, **kwargs)
    assert wanted(f, T0, recorded_at=T0 + timedelta(seconds=1), **kwargs)
    assert not wanted(f, T0, recorded_at=T0 - timedelta(microseconds=1), **kwargs)


def _record(offset: int, talks_id: str, type_: str, recorded_at: datetime) -> TopicRecord:
    body = {
        "event_id": str(uuid4()),
        "type": type_,
        "talks_id": talks_id,
        "recorded_at": recorded_at.isoformat().replace("+00:00", "Z"),
    }
    return TopicRecord(
        3, offset, json.dumps(body).encode(), (("ce_id", body["event_id"].encode()),)
    )


def test_each_record_becomes_one_row_per_subscriber_that_wants_it() -> None:
    everything = Subscriber(uuid4(), SubscriptionFilter(), T0)
    rounds = Subscriber(uuid4(), SubscriptionFilter(types=["round.opened"]), T0)
    late = Subscriber(uuid4(), SubscriptionFilter(), T0 + timedelta(hours=1))
    records = [
        _record(10, "abu-dhabi", "round.opened", T0 + timedelta(minutes=1)),
        TopicRecord(3, 11, b"not json"),
        _record(12, "geneva", "strike.reported", T0 + timedelta(minutes=2)),
    ]
    rows = delivery_rows(records, [everything, rounds, late], now=T0)
    assert [(r["subscription_id"], r["offset"]) for r in rows] == [
        (everything.id, 10),
        (rounds.id, 10),
        (everything.id, 12),
    ]
    assert rows[0]["body"] == records[0].value  # the bytes as on the topic
    assert rows[0]["headers"] == {"ce_id": str(rows[0]["event_id"])}
    assert {r["status"] for r in rows} == {"pending"}


def test_facts_of_refuses_a_record_without_them() -> None:
    with pytest.raises(ValueError, match="not a recorded event"):
        facts_of(b'{"type": "round.opened"}')


def _errors(body: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        SubscriptionRequest.model_validate_json(json.dumps(body))
    return field_errors(caught.value)


GOOD = {"url": "https://example.org/hook", "secret": "0123456789abcdef"}


def test_a_valid_request() -> None:
    request = SubscriptionRequest.model_validate_json(
        json.dumps({**GOOD, "filter": {"talks_id": "abu-dhabi", "types": ["round.opened"]}})
    )
    assert request.filter.talks_id == "abu-dhabi"
    assert SubscriptionRequest.model_validate_json(json.dumps(GOOD)).filter == SubscriptionFilter()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "/relative/hook"}, "url"),
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"secret": "too-short"}, "secret"),
        ({"secret": "x" * 201}, "secret"),
        ({"filter": {"talks_id": "Not A Slug"}}, "filter.talks_id"),
        ({"filter": {"types": ["round.exploded"]}}, "filter.types.0"),
        ({"filter": {"types": []}}, "filter.types"),
        ({"filter": {"talks": "abu-dhabi"}}, "filter.talks"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_field_is_named(change: dict, field: str) -> None:
    errors = _errors({**GOOD, **change})
    assert [e["field"] for e in errors] == [field]
    assert "too-short" not in json.dumps(errors)  # a secret is never echoed


def test_a_missing_secret_is_named_and_a_bad_type_lists_the_allowed() -> None:
    assert [e["field"] for e in _errors({"url": GOOD["url"]})] == ["secret"]
    [error] = _errors({**GOOD, "filter": {"types": ["nope"]}})
    assert error["allowed"] == list(EVENT_TYPES)
