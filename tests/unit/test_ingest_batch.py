"""The batch endpoint's answers when a batch mixes outcomes: new, duplicate, conflict, unsent.

The answers are built from plain dicts and serialized with orjson; these tests hold them to
the bytes the documented models (``BatchResult``, ``Accepted``) serialize to.
"""

import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.publisher import PublisherUnavailable, Receipt
from services.ingest.receipts import MemoryReceipts
from services.ingest.routes import Accepted, BatchResult
from services.ingest.settings import IngestSettings
from tests.support.auth import AUTH
from tests.unit.test_events import ROUND_OPENED
from tests.unit.test_ingest_http import MemoryLog

pytestmark = pytest.mark.unit


class PartlyDownLog(MemoryLog):
    """Takes every event but those of the talks in ``down``."""

    def __init__(self, settings: IngestSettings) -> None:
        super().__init__(settings)
        self.down: set[str] = set()

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        if key in self.down:
            raise PublisherUnavailable("partition leader gone")
        return await super().publish(key, value, headers)


@pytest.fixture
def log() -> PartlyDownLog:
    return PartlyDownLog(IngestSettings())


@pytest.fixture
def receipts() -> MemoryReceipts:
    return MemoryReceipts()


@pytest.fixture
def client(log: PartlyDownLog, receipts: MemoryReceipts) -> Iterator[TestClient]:
    app = create_app(IngestSettings(), lambda _: log, lambda s, e: receipts)
    with TestClient(app, headers=AUTH) as client:
        yield client


def event(talks_id: str = "abu-dhabi-trilateral", **changes: object) -> dict:
    return {**ROUND_OPENED, "talks_id": talks_id, "event_id": str(uuid.uuid4()), **changes}


def as_documented(content: bytes) -> bytes:
    """The bytes ``JSONResponse`` gave for the same answer through the pydantic model."""
    model = BatchResult.model_validate_json(content)
    return JSONResponse(model.model_dump(exclude_none=True)).body


def test_a_batch_mixing_every_outcome_answers_each_and_the_worst(client, log, receipts) -> None:
    recorded, changed, unsent, fresh = event(), event(), event("talks-down"), event()
    first = client.post("/v1/events:batch", content=json.dumps([recorded, changed]))
    assert first.status_code == 202, first.text
    log.down.add("talks-down")

    batch = [recorded, {**changed, "occurred_at": "2026-02-05"}, unsent, fresh]
    response = client.post("/v1/events:batch", content=json.dumps(batch))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/json"
    assert response.content == as_documented(response.content)
    results = response.json()["results"]
    statuses = [200, 409, 503, 202]
    assert [(r["index"], r["status"], r["event_id"]) for r in results] == [
        (i, status, e["event_id"])
        for i, (status, e) in enumerate(zip(statuses, batch, strict=True))
    ]
    original = first.json()["results"][0]
    assert results[0] == {**original, "status": 200, "duplicate": True}
    assert set(results[1]) == {"index", "status", "event_id", "duplicate", "detail"}
    assert "different body" in results[1]["detail"]
    assert "partition leader gone" in results[2]["detail"]
    assert "recorded_at" not in results[2] and results[3]["recorded_at"].endswith("Z")
    # acknowledged: exactly what the log took
    acked = {str(i) for i, c in receipts.claims.items() if c.receipt is not None}
    assert acked == {recorded["event_id"], changed["event_id"], fresh["event_id"]}
    assert len(log.records) == 3


def test_a_conflict_without_an_unsent_event_answers_409(client) -> None:
    known = event()
    assert client.post("/v1/events:batch", content=json.dumps([known])).status_code == 202
    batch = [event(), {**known, "occurred_at": "2026-02-05"}]
    response = client.post("/v1/events:batch", content=json.dumps(batch))
    assert response.status_code == 409
    assert [r["status"] for r in response.json()["results"]] == [202, 409]
    assert response.content == as_documented(response.content)


def test_a_batch_shares_one_recorded_at_and_publishes_in_order(client, log) -> None:
    batch = [event(f"talks-{i % 3}", data={"round_id": f"r{i}"}) for i in range(30)]
    response = client.post("/v1/events:batch", content=json.dumps(batch))
    assert response.status_code == 202
    results = response.json()["results"]
    assert len({r["recorded_at"] for r in results}) == 1
    assert [json.loads(value)["event_id"] for _, value in log.records] == [
        e["event_id"] for e in batch
    ]
    assert [r["offset"] for r in results] == list(range(30))
    assert response.content == as_documented(response.content)


def test_the_single_event_answer_is_the_documented_model(client) -> None:
    body = event()
    first = client.post("/v1/events", content=json.dumps(body))
    again = client.post("/v1/events", content=json.dumps(body))
    for response in (first, again):
        model = Accepted.model_validate_json(response.content)
        assert response.content == JSONResponse(model.model_dump()).body
    assert (first.status_code, again.json()["duplicate"]) == (202, True)
