"""The Kafka adapter's batch publishing on a real broker: every record handed to the producer,
then one wait; each key on the partition the producer itself would have chosen."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from services.ingest.publisher import KafkaPublisher, PublisherUnavailable, Receipt
from services.ingest.settings import IngestSettings
from tests.integration.test_kafka_publisher import started
from tests.support.services import free_port

pytestmark = pytest.mark.integration


async def test_a_batch_lands_in_order_on_each_keys_own_partition(infra) -> None:
    topic = f"parley.events.it-{uuid.uuid4().hex[:8]}"
    settings = IngestSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, topic=topic)
    publisher = await started(settings)
    keys = [f"talks-{i}" for i in range(12)]
    try:
        # one record per key the producer places itself (no partition given) ...
        own = {key: await publisher.publish(key, b"first", []) for key in keys}
        records = [(keys[i % len(keys)], f"v{i}".encode(), [("h", b"v")]) for i in range(600)]
        answers = await publisher.publish_many(records)
    finally:
        await publisher.stop()
    assert all(isinstance(a, Receipt) for a in answers)
    # ... and the batch puts every key's records on that same partition, after it, in order
    for key in keys:
        mine = [a for (k, _, _), a in zip(records, answers, strict=True) if k == key]
        assert {a.partition for a in mine} == {own[key].partition}
        offsets = [a.offset for a in mine]
        assert offsets == sorted(offsets) and offsets[0] > own[key].offset
        assert len(set(offsets)) == len(offsets)


@pytest.mark.parametrize(
    ("count", "max_batch_size"), [(500, 1024), (500, 256 * 1024), (40, 256 * 1024)]
)
async def test_each_receipt_names_the_record_the_log_holds_there(
    infra, count, max_batch_size
) -> None:
    """Receipts are counted from each record batch's base offset: read back at each receipt's
    partition and offset, the log holds exactly that record (small batches: many per call;
    few records per partition: each through ``send``)."""
    topic = f"parley.events.it-{uuid.uuid4().hex[:8]}"
    settings = IngestSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        topic=topic,
        producer_max_batch_size=max_batch_size,
    )
    publisher = await started(settings)
    records = [
        (f"talks-{i % 7}", f"value {i} ".encode() * (1 + i % 9), [("n", str(i).encode())])
        for i in range(count)
    ]
    try:
        half = count // 2
        answers = await asyncio.gather(
            publisher.publish_many(records[:half]), publisher.publish_many(records[half:])
        )
    finally:
        await publisher.stop()
    receipts = [a for answer in answers for a in answer]
    assert all(isinstance(r, Receipt) for r in receipts)
    assert len({(r.partition, r.offset) for r in receipts}) == len(records)
    held = await _read_all(infra.kafka_bootstrap_servers, topic, len(records))
    for (key, value, headers), receipt in zip(records, receipts, strict=True):
        assert held[(receipt.partition, receipt.offset)] == (key.encode(), value, headers)


async def _read_all(bootstrap: str, topic: str, count: int) -> dict:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    held: dict = {}
    try:
        async with asyncio.timeout(30):
            while len(held) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for m in batch:
                        held[(m.partition, m.offset)] = (m.key, m.value, list(m.headers))
    finally:
        await consumer.stop()
    return held


async def test_no_broker_means_every_record_is_unavailable() -> None:
    settings = IngestSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = KafkaPublisher(settings)
    await publisher.start()
    try:
        answers = await publisher.publish_many([("talks-a", b"x", []), ("talks-b", b"y", [])])
    finally:
        await publisher.stop()
    assert [type(a) for a in answers] == [PublisherUnavailable, PublisherUnavailable]
