"""A trace followed from HTTP through Kafka into the projector's log, on the running stack."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from services.common import tracing
from tests.e2e.test_walking_skeleton import round_opened
from tests.support import auth as authed

pytestmark = [pytest.mark.e2e, pytest.mark.kafka_only]  # the topic's headers, the projector apart


def applied_line(log_text: str, event_id: str) -> dict | None:
    for line in log_text.splitlines():
        if event_id in line and '"applied event"' in line:
            parsed: dict = json.loads(line)
            return parsed
    return None


async def test_a_traceparent_goes_from_http_to_the_record_and_the_projectors_log(
    stack, talks_id
) -> None:
    caller = tracing.new_trace()
    response = authed.post(
        f"{stack.ingest.url}/v1/events",
        content=json.dumps(round_opened(talks_id)),
        headers={"traceparent": caller.header()},
    )
    assert response.status_code == 202, response.text
    receipt = response.json()
    ingest_span = tracing.parse(response.headers["traceparent"])
    assert ingest_span is not None and ingest_span.trace_id == caller.trace_id
    assert ingest_span.span_id != caller.span_id

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.kafka_bootstrap_servers)
    await consumer.start()
    try:
        tp = TopicPartition(stack.env["PARLEY_TOPIC"], receipt["partition"])
        consumer.assign([tp])
        consumer.seek(tp, receipt["offset"])
        batch = await consumer.getmany(tp, timeout_ms=10_000, max_records=1)
    finally:
        await consumer.stop()
    [record] = batch[tp]
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["ce_id"] == receipt["event_id"]
    assert headers["traceparent"] == response.headers["traceparent"]

    deadline = time.monotonic() + 60
    line = None
    while line is None and time.monotonic() < deadline:
        line = applied_line(
            stack.projector.log_path.read_text(errors="replace"), receipt["event_id"]
        )
        await asyncio.sleep(0.2)
    assert line is not None, stack.projector.tail()
    assert (line["trace_id"], line["talks_id"], line["level"]) == (
        caller.trace_id,
        talks_id,
        "info",
    )


def test_the_projector_reports_its_open_dead_letters(stack) -> None:
    group = stack.env["PARLEY_CONSUMER_GROUP"]
    deadline = time.monotonic() + 30
    found: dict[str, float] = {}
    while not found and time.monotonic() < deadline:
        httpx.get(f"{stack.projector.url}/status", timeout=10)  # counts, as it refreshes them
        text = httpx.get(f"{stack.projector.url}/metrics", timeout=10).text
        found = {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "parley_projector_dead_letters_open"
            and s.labels.get("consumer_group") == group
        }
        time.sleep(0.2)
    status = httpx.get(f"{stack.projector.url}/status", timeout=10).json()
    assert found == {"parley_projector_dead_letters_open": status["open_dead_letters"]}
