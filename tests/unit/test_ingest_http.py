"""The ingest's HTTP contract, with an in-memory log standing in for Kafka."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.publisher import PublisherUnavailable, Receipt
from services.ingest.settings import IngestSettings
from shared.events import parse_recorded
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
    with TestClient(create_app(IngestSettings(), lambda _: log)) as client:
        yield client


def test_an_event_is_recorded_and_keyed_by_its_talks(client: TestClient, log: MemoryLog) -> None:
    response = client.post("/v1/events", content=json.dumps(ROUND_OPENED))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"event_id", "recorded_at", "partition", "offset"}
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
    with TestClient(create_app(IngestSettings(), lambda _: log)) as client:
        response = client.post("/v1/events", content=json.dumps(ROUND_OPENED))
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert response.json()["event_id"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
