"""``/metrics`` refreshes gauges read from elsewhere just before it answers."""

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import Gauge

from services.common import metrics
from services.common.metrics import instrument

pytestmark = pytest.mark.unit

SCRAPED = Gauge("parley_test_scrape_refreshed", "How often the test's refresh ran.")


def test_each_scrape_awaits_the_refreshes_and_survives_a_failing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "REFRESH_TIMEOUT_S", 0.1)

    async def refresh() -> None:
        SCRAPED.inc()

    async def broken() -> None:
        raise RuntimeError("the database is away")

    async def slow() -> None:
        await asyncio.sleep(60)

    app = FastAPI()
    instrument(app, "test", before_scrape=[broken, slow, refresh])
    before = SCRAPED._value.get()
    with TestClient(app) as client:
        first = client.get("/metrics")
        second = client.get("/metrics")
    assert (first.status_code, second.status_code) == (200, 200)
    assert SCRAPED._value.get() == before + 2
    assert f"parley_test_scrape_refreshed {before + 2}" in second.text
