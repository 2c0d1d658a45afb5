"""W3C traceparent: parsing and formatting, and how the ingest carries a trace into Kafka."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.common import tracing
from services.common.logs import JsonFormatter
from services.ingest.app import create_app
from services.ingest.receipts import MemoryReceipts
from services.ingest.settings import IngestSettings
from tests.support.auth import AUTH
from tests.unit.test_events import ROUND_OPENED
from tests.unit.test_ingest_http import MemoryLog

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01"


def test_a_valid_traceparent_is_parsed() -> None:
    assert tracing.parse(VALID) == tracing.TraceContext(TRACE, PARENT, "01")
    assert tracing.parse(f" {VALID}\t") == tracing.TraceContext(TRACE, PARENT, "01")
    assert tracing.parse(VALID.replace("-01", "-00")).sampled is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        VALID[:-1],  # too short
        VALID + "0",  # version 00 is exactly 55 characters
        VALID + "-extra",  # ... even with a further field
        VALID.upper(),  # lower-case hex only
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00_{TRACE}-{PARENT}-01",  # wrong separator
        f"00-{TRACE[:-1]}g-{PARENT}-01",  # not hex
        f"0-{TRACE}-{PARENT}-01",
    ],
)
def test_an_invalid_traceparent_is_none(value: str | None) -> None:
    assert tracing.parse(value) is None


def test_a_later_version_keeps_its_first_fields_and_only_the_sampled_flag() -> None:
    parsed = tracing.parse(f"01-{TRACE}-{PARENT}-03-what-comes-later")
    assert parsed == tracing.TraceContext(TRACE, PARENT, "01")
    assert tracing.parse(f"01-{TRACE}-{PARENT}-03x") is None  # a further field needs a '-'


def test_continuing_keeps_the_trace_and_flags_with_a_new_span() -> None:
    span, continued = tracing.continue_or_start(VALID)
    assert continued
    assert (span.trace_id, span.flags) == (TRACE, "01")
    assert span.span_id != PARENT and len(span.span_id) == 16
    assert tracing.parse(span.header()) == span


def test_absent_or_invalid_starts_a_new_unsampled_trace() -> None:
    first, continued = tracing.continue_or_start(None)
    second, _ = tracing.continue_or_start("00-nonsense")
    assert not continued
    assert first.trace_id != second.trace_id
    assert tracing.parse(first.header()) == first
    assert first.flags == "00"


def test_tracestate_is_passed_on_only_when_printable_and_short() -> None:
    assert tracing.parse_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7") == (
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    )
    assert tracing.parse_state("x" * 513) is None
    assert tracing.parse_state("a=\x01") is None
    assert tracing.parse_state(None) is None


def test_log_lines_carry_the_current_trace_id() -> None:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "hello"})
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
    token = tracing.current.set(tracing.TraceContext(TRACE, PARENT))
    try:
        assert json.loads(JsonFormatter().format(record))["trace_id"] == TRACE
    finally:
        tracing.current.reset(token)


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(IngestSettings())


@pytest.fixture
def client(log: MemoryLog) -> Iterator[TestClient]:
    app = create_app(IngestSettings(), lambda _: log, lambda s, e: MemoryReceipts())
    with TestClient(app, headers=AUTH) as client:
        yield client


def test_the_ingest_continues_the_callers_trace_into_the_record(
    client: TestClient, log: MemoryLog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="services.ingest"):
        response = client.post(
            "/v1/events",
            content=json.dumps(ROUND_OPENED),
            headers={"traceparent": VALID, "tracestate": "rojo=00f067aa0ba902b7"},
        )
    assert response.status_code == 202, response.text
    answered = tracing.parse(response.headers["traceparent"])
    assert answered is not None
    assert (answered.trace_id, answered.flags) == (TRACE, "01")
    assert answered.span_id != PARENT  # the ingest's own span
    [headers] = log.headers
    assert headers["traceparent"].decode() == response.headers["traceparent"]
    assert headers["tracestate"] == b"rojo=00f067aa0ba902b7"
    assert headers["ce_id"].decode() == response.json()["event_id"]
    [line] = [r for r in caplog.records if r.name == "services.ingest.recording"]
    logged = json.loads(JsonFormatter().format(line))
    assert logged["trace_id"] == TRACE
    assert logged["event_id"] == response.json()["event_id"]
    assert logged["talks_id"] == "abu-dhabi-trilateral"


@pytest.mark.parametrize("sent", [None, "00-not-a-trace"])
def test_without_a_valid_traceparent_the_ingest_starts_a_trace(
    client: TestClient, log: MemoryLog, sent: str | None
) -> None:
    headers = {"tracestate": "rojo=1"} | ({"traceparent": sent} if sent else {})
    first = client.post("/v1/events", content=json.dumps(ROUND_OPENED), headers=headers)
    second = client.post("/v1/events", content=json.dumps(ROUND_OPENED), headers=headers)
    assert (first.status_code, second.status_code) == (202, 202)
    traces = [tracing.parse(r.headers["traceparent"]) for r in (first, second)]
    assert traces[0] is not None and traces[1] is not None
    assert traces[0].trace_id != traces[1].trace_id  # a new trace per request
    assert [h["traceparent"].decode() for h in log.headers] == [
        r.headers["traceparent"] for r in (first, second)
    ]
    assert all("tracestate" not in h for h in log.headers)  # meaningless without a parent


def test_a_batch_carries_one_trace_and_refusals_answer_with_it_too(
    client: TestClient, log: MemoryLog
) -> None:
    batch = client.post(
        "/v1/events:batch",
        content=json.dumps([ROUND_OPENED, ROUND_OPENED]),
        headers={"traceparent": VALID},
    )
    assert batch.status_code == 202, batch.text
    assert {h["traceparent"].decode() for h in log.headers} == {batch.headers["traceparent"]}
    invalid = client.post("/v1/events", content=b"{", headers={"traceparent": VALID})
    assert invalid.status_code == 400
    assert tracing.parse(invalid.headers["traceparent"]).trace_id == TRACE  # type: ignore[union-attr]
