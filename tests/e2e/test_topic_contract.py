"""The topic as a public contract, checked on the real stack as a subscriber would read it."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from jsonschema import Draft202012Validator

from shared.events import EVENT_TYPES, Event, as_dict
from tests.support.auth import AUTH
from tests.unit.test_schemas import SCHEMAS, one_event_of_each_type

pytestmark = [pytest.mark.e2e, pytest.mark.kafka_only]  # the topic's CloudEvents headers

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "examples" / "consumer" / "consumer.py"
HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_subject",
    "ce_time",
    "ce_dataschema",
    "ce_occurredat",
    "ce_occurredearliest",
    "ce_occurredlatest",
    "ce_precision",
    "ce_recordedat",
    "content-type",
}


@pytest.fixture(scope="module")
def posted(stack) -> list[Event]:
    """One event of every type, posted to the ingest; the reports are about the first one."""
    events = one_event_of_each_type(f"contract-{uuid.uuid4().hex[:12]}")
    with httpx.Client(headers=AUTH, base_url=stack.ingest.url, timeout=30) as client:
        for event in events:
            body = {k: v for k, v in as_dict(event).items() if k != "recorded_at"}
            response = client.post("/v1/events", content=json.dumps(body))
            assert response.status_code == 202, response.text
    return events


async def read_topic(stack) -> list[ConsumerRecord]:
    """Every record on the topic, from the beginning to the end it had when we started."""
    topic, bootstrap = stack.env["PARLEY_TOPIC"], stack.infra.kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    assert partitions, f"no topic {topic}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        for tp, first in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, first)  # not seek_to_beginning(), which races the fetcher
        records: list[ConsumerRecord] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            records += [r for messages in batch.values() for r in messages]
        return records
    finally:
        with contextlib.suppress(asyncio.CancelledError):  # aiokafka's group-less consumer
            await consumer.stop()


def validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{event_type}.v1.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


async def test_every_record_keeps_the_contract(stack, posted: list[Event]) -> None:
    records = await read_topic(stack)
    ours = {str(e.event_id) for e in posted}
    validators = {t: validator(t) for t in EVENT_TYPES}
    seen: set[str] = set()
    for record in records:
        headers = {name: value.decode() for name, value in record.headers}
        value: dict[str, Any] = json.loads(record.value)
        where = f"partition {record.partition} offset {record.offset}"
        assert set(headers) >= HEADERS, (where, HEADERS - set(headers))
        assert headers["ce_type"] == f"org.parley.{value['type']}.v1", where
        assert headers["ce_id"] == value["event_id"], where
        assert headers["ce_subject"] == value["talks_id"] == record.key.decode(), where
        expected_schema = f"https://parley.example/schemas/{value['type']}.v1.json"
        assert headers["ce_dataschema"] == expected_schema, where
        assert headers["ce_recordedat"] == headers["ce_time"], where
        errors = [e.message for e in validators[value["type"]].iter_errors(value)]
        assert not errors, (where, errors)
        seen.add(value["event_id"])
    assert ours <= seen, "some posted event is not on the topic"


def test_the_api_serves_what_is_committed(stack) -> None:
    with httpx.Client(headers=AUTH, base_url=stack.api.url, timeout=10) as client:
        listed = client.get("/v1/schemas").json()["schemas"]
        assert sorted(s["type"] for s in listed) == sorted(EVENT_TYPES)
        for entry in listed:
            served = client.get(entry["url"]).json()
            assert served == validator(entry["type"]).schema
        document = client.get("/v1/asyncapi.json").json()
    [channel] = document["channels"].values()
    assert channel["address"] == stack.env["PARLEY_TOPIC"]


def test_the_example_consumer_finds_every_event_valid(stack, posted: list[Event]) -> None:
    total = len(asyncio.run(read_topic(stack)))
    assert total >= len(posted)
    result = subprocess.run(
        [
            sys.executable,
            "-I",  # no current directory or PYTHONPATH on the path
            str(CONSUMER),
            "--bootstrap-servers",
            stack.infra.kafka_bootstrap_servers,
            "--topic",
            stack.env["PARLEY_TOPIC"],
            "--group",
            f"example-consumer-{uuid.uuid4().hex[:8]}",
            "--api-url",
            stack.api.url,
            "--from-beginning",
            "--max-events",
            str(total),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",  # it needs nothing of the repository
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[2]: line for line in result.stdout.splitlines()}
    assert len(lines) == total, result.stdout
    for event in posted:
        assert lines[str(event.event_id)] == f"{event.talks_id} {event.type} {event.event_id} ok"


def test_the_example_consumer_imports_nothing_of_parley() -> None:
    tree = ast.parse(CONSUMER.read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - sys.stdlib_module_names == {"aiokafka", "jsonschema"}
