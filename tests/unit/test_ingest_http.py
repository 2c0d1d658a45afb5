"""The ingest's HTTP contract, with an in-memory log standing in for Kafka."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.publisher import PublisherUnavailable, Receipt
from services.ingest.receipts import MemoryReceipts
from services.ingest.settings import IngestSettings
from shared.events import parse_recorded
from tests.support.auth import AUTH, KEY
from tests.unit.test_events import ROUND_OPENED

pytestmark = pytest.mark.unit


class MemoryLog:
    """An in-memory stand-in for the topic: one list of (key, value) per partition."""

    def __init__(self, settings: IngestSettings, up: bool = True) -> None:
        self.records: list[tuple[str, bytes]] = []
        self.headers: list[dict[str, bytes]] = []
        self.up = up

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        if not self.up:
            raise PublisherUnavailable("broker down")
        self.records.append((key, value))
        self.headers.append(dict(headers))
        return Receipt(partition=0, offset=len(self.records) - 1)

    async def ping(self) -> None:
        if not self.up:
            raise PublisherUnavailable("broker down")


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(IngestSettings())


@pytest.fixture
def client(log: MemoryLog) -> Iterator[TestClient]:
    with TestClient(
        create_app(IngestSettings(), lambda _: log, lambda s, e: MemoryReceipts()), headers=AUTH
    ) as client:
        yield client


def test_an_event_is_recorded_and_keyed_by_its_talks(client: TestClient, log: MemoryLog) -> None:
    response = client.post("/v1/events", content=json.dumps(ROUND_OPENED))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"event_id", "recorded_at", "partition", "offset", "duplicate"}
    assert body["duplicate"] is False
    [(key, value)] = log.records
    assert key == "abu-dhabi-trilateral"
    recorded = parse_recorded(value)
    assert str(recorded.event_id) == body["event_id"]
    assert recorded.recorded_at is not None and body["recorded_at"].endswith("Z")
    [headers] = log.headers
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"].decode() == body["event_id"]
    assert headers["ce_type"] == b"org.parley.round.opened.v1"
    assert headers["ce_subject"] == b"abu-dhabi-trilateral"
    assert headers["ce_recordedat"].decode() == body["recorded_at"]
    assert headers["ce_occurredlatest"] == b"2026-02-04T05:00:00Z"
    assert headers["content-type"] == b"application/json"


def test_no_content_type_is_needed(client: TestClient) -> None:
    """``curl -d @round.json`` sends form encoding; the body is JSON all the same."""
    response = client.post(
        "/v1/events",
        content=json.dumps(ROUND_OPENED),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 202


def test_malformed_json_is_400_and_nothing_is_published(client: TestClient, log: MemoryLog) -> None:
    response = client.post("/v1/events", content=b'{"type": "round.opened",')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert log.records == []


def test_a_missing_field_is_422_naming_it(client: TestClient, log: MemoryLog) -> None:
    body = {**ROUND_OPENED, "data": {"venue": {"city": "Abu Dhabi", "country": "ARE"}}}
    response = client.post("/v1/events", content=json.dumps(body))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"field": "data.round_id", "message": "Field required", "type": "missing"} in errors
    assert log.records == []


def test_the_server_sets_recorded_at(client: TestClient) -> None:
    body = {**ROUND_OPENED, "recorded_at": "2026-02-04T00:00:00Z"}
    response = client.post("/v1/events", content=json.dumps(body))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "recorded_at"


def test_broker_down_is_503_with_retry_after_and_the_event_id(log: MemoryLog) -> None:
    log.up = False
    with TestClient(
        create_app(IngestSettings(), lambda _: log, lambda s, e: MemoryReceipts()), headers=AUTH
    ) as client:
        response = client.post("/v1/events", content=json.dumps(ROUND_OPENED))
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert response.json()["event_id"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


def test_a_retry_of_the_same_event_is_answered_with_the_original_receipt(client, log) -> None:
    body = {**ROUND_OPENED, "event_id": "7f9c8a52-3b7a-4c4e-9d55-8f1f0a1b2c3d"}
    first = client.post("/v1/events", content=json.dumps(body))
    again = client.post("/v1/events", content=json.dumps(body))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert len(log.records) == 1


def test_the_same_event_id_with_another_body_is_a_conflict(client, log) -> None:
    body = {**ROUND_OPENED, "event_id": "7f9c8a52-3b7a-4c4e-9d55-8f1f0a1b2c3e"}
    assert client.post("/v1/events", content=json.dumps(body)).status_code == 202
    other = {**body, "occurred_at": "2026-02-05"}
    response = client.post("/v1/events", content=json.dumps(other))
    assert response.status_code == 409
    assert response.json()["event_id"] == body["event_id"]
    assert len(log.records) == 1


def test_a_retry_after_a_503_keeps_the_recorded_at_it_was_first_given(log) -> None:
    receipts = MemoryReceipts()
    body = {**ROUND_OPENED, "event_id": "7f9c8a52-3b7a-4c4e-9d55-8f1f0a1b2c3f"}
    with TestClient(
        create_app(IngestSettings(), lambda _: log, lambda s, e: receipts), headers=AUTH
    ) as client:
        log.up = False
        assert client.post("/v1/events", content=json.dumps(body)).status_code == 503
        log.up = True
        retried = client.post("/v1/events", content=json.dumps(body))
    assert retried.status_code == 202
    [claim] = receipts.claims.values()
    assert retried.json()["recorded_at"] == claim.recorded_at.isoformat().replace("+00:00", "Z")


def test_a_batch_is_all_published_with_a_result_each(client, log) -> None:
    events = [{**ROUND_OPENED, "data": {"round_id": f"r{i}"}} for i in range(5)]
    response = client.post("/v1/events:batch", content=json.dumps(events))
    assert response.status_code == 202, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(5))
    assert all(r["status"] == 202 for r in results)
    assert [parse_recorded(v).data.round_id for _, v in log.records] == [f"r{i}" for i in range(5)]


def test_one_bad_item_fails_the_whole_batch_and_publishes_nothing(client, log) -> None:
    events = [ROUND_OPENED, {**ROUND_OPENED, "talks_id": "Bad Slug"}, ROUND_OPENED, {"type": "x"}]
    response = client.post("/v1/events:batch", content=json.dumps(events))
    assert response.status_code == 422
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {
        (1, "talks_id"),
        (3, "type"),
    }
    assert log.records == []


@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_a_batch_may_not_repeat_an_event_id(client, log, spelling) -> None:
    event_id = "7f9c8a52-3b7a-4c4e-9d55-8f1f0a1b2c40"
    event = {**ROUND_OPENED, "event_id": event_id}
    again = {**ROUND_OPENED, "event_id": spelling(event_id)}  # the same UUID, however spelt
    response = client.post("/v1/events:batch", content=json.dumps([event, again]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["index"] == 1
    assert log.records == []


@pytest.mark.parametrize(
    ("path", "size"), [("/v1/events", 1024 * 1024 + 1), ("/v1/events:batch", 10 * 1024 * 1024 + 1)]
)
def test_too_large_bodies_are_413(client, log, path: str, size: int) -> None:
    response = client.post(path, content=b" " * size)
    assert response.status_code == 413
    assert log.records == []


def test_a_batch_must_be_a_non_empty_array(client) -> None:
    assert client.post("/v1/events:batch", content=b"[]").status_code == 422
    assert client.post("/v1/events:batch", content=b"{}").status_code == 422
    assert client.post("/v1/events:batch", content=b"[").status_code == 400


def test_a_batch_over_the_limit_is_422_and_nothing_is_published(log) -> None:
    settings = IngestSettings(max_batch_events=3)
    app = create_app(settings, lambda _: log, lambda s, e: MemoryReceipts())
    with TestClient(app, headers=AUTH) as client:
        response = client.post("/v1/events:batch", content=json.dumps([ROUND_OPENED] * 4))
        assert response.status_code == 422
        assert response.json()["detail"] == "the body must be a JSON array of 1 to 3 events"
        assert client.post("/v1/events:batch", content=json.dumps([ROUND_OPENED] * 3)).is_success
    assert len(log.records) == 3


def test_a_bad_item_is_named_whatever_else_is_wrong_with_the_json(client, log) -> None:
    """The batch is validated from its bytes; a bad one is parsed and checked item by item,
    with the same errors as before: JSON that is not an object, a wrong type, a bad field."""
    body = json.dumps([ROUND_OPENED, 7, {**ROUND_OPENED, "occurred_at": "yesterday"}])
    response = client.post("/v1/events:batch", content=body)
    assert response.status_code == 422
    assert {e["index"] for e in response.json()["errors"]} == {1, 2}
    assert response.json()["detail"] == "2 of 3 events are not valid; nothing was published"
    assert log.records == []


class ReadOnlyKeys:
    async def scopes(self, key: str) -> frozenset[str]:
        return frozenset({"read"}) if key == "reader" else frozenset()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nonsense"}, 401),
        ({"Authorization": "Bearer reader"}, 403),
    ],
)
def test_writes_need_a_key_with_the_scope(log, headers: dict, status: int) -> None:
    app = create_app(
        IngestSettings(), lambda _: log, lambda s, e: MemoryReceipts(), lambda s, e: ReadOnlyKeys()
    )
    with TestClient(app) as client:
        response = client.post("/v1/events", content=json.dumps(ROUND_OPENED), headers=headers)
        batch = client.post("/v1/events:batch", content=json.dumps([ROUND_OPENED]), headers=headers)
    assert (response.status_code, batch.status_code) == (status, status)
    assert response.json()["detail"]
    assert log.records == []
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_bootstrap_key_holds_every_scope(log) -> None:
    settings = IngestSettings(bootstrap_key=KEY)
    with TestClient(create_app(settings, lambda _: log, lambda s, e: MemoryReceipts())) as client:
        response = client.post("/v1/events", content=json.dumps(ROUND_OPENED), headers=AUTH)
    assert response.status_code == 202
