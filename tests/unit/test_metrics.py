"""``/metrics`` counts what a service did, in the Prometheus text format."""

import json

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.ingest.app import create_app
from services.ingest.receipts import MemoryReceipts
from services.ingest.settings import IngestSettings
from tests.support.auth import AUTH
from tests.unit.test_events import ROUND_OPENED
from tests.unit.test_ingest_http import MemoryLog

pytestmark = pytest.mark.unit


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_ingest_requests_and_outcomes_are_counted() -> None:
    log = MemoryLog(IngestSettings())
    app = create_app(IngestSettings(), lambda _: log, lambda s, e: MemoryReceipts())
    with TestClient(app, headers=AUTH) as client:
        before = samples(client.get("/metrics").text)
        body = {**ROUND_OPENED, "event_id": "0c0ffee0-0000-4000-8000-000000000001"}
        client.post("/v1/events", content=json.dumps(body))
        client.post("/v1/events", content=json.dumps(body))
        client.post("/v1/events", content=b"{")
        after = samples(client.get("/metrics").text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    route = {"service": "ingest", "method": "POST", "route": "/v1/events"}
    assert delta("parley_http_requests_total", **route, status="202") == 1
    assert delta("parley_http_requests_total", **route, status="200") == 1
    assert delta("parley_http_requests_total", **route, status="400") == 1
    assert delta("parley_ingest_events_total", outcome="recorded") == 1
    assert delta("parley_ingest_events_total", outcome="duplicate") == 1
