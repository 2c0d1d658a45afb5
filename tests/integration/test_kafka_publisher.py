"""The ingest's Kafka adapter on a real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from services.ingest.publisher import KafkaPublisher, PublisherUnavailable
from services.ingest.settings import IngestSettings
from tests.support.services import free_port

pytestmark = pytest.mark.integration


async def started(settings: IngestSettings, within_s: float = 30) -> KafkaPublisher:
    publisher = KafkaPublisher(settings)
    await publisher.start()
    for _ in range(int(within_s * 10)):
        try:
            await publisher.ping()
            return publisher
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError("publisher did not connect")


async def test_published_records_are_keyed_by_talks_and_read_back(infra) -> None:
    topic = f"parley.events.it-{uuid.uuid4().hex[:8]}"
    settings = IngestSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, topic=topic)
    publisher = await started(settings)
    try:
        receipts = [
            await publisher.publish("talks-a", f"a{i}".encode(), [("h", b"v")]) for i in range(3)
        ]
        other = await publisher.publish("talks-b", b"b0", [])
    finally:
        await publisher.stop()
    assert len({r.partition for r in receipts}) == 1  # one talks, one partition: order kept
    assert [r.offset for r in receipts] == sorted(r.offset for r in receipts)

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        assert partitions is not None and len(partitions) == settings.topic_partitions
        seen: list[tuple[bytes, bytes, int, int]] = []
        headers: list[dict[str, bytes]] = []
        async with asyncio.timeout(30):
            while len(seen) < 4:
                for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                    seen += [(m.key, m.value, tp.partition, m.offset) for m in messages]
                    headers += [dict(m.headers) for m in messages if m.value.startswith(b"a")]
    finally:
        await consumer.stop()
    by_value = {value: (key, partition, offset) for key, value, partition, offset in seen}
    for i, receipt in enumerate(receipts):
        assert by_value[f"a{i}".encode()] == (b"talks-a", receipt.partition, receipt.offset)
    assert by_value[b"b0"] == (b"talks-b", other.partition, other.offset)
    assert headers == [{"h": b"v"}] * 3


async def test_the_producer_is_idempotent_with_acks_all(infra) -> None:
    settings = IngestSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers)
    publisher = await started(settings)
    try:
        producer = publisher._producer
        assert producer is not None
        assert producer._sender._acks == -1  # acks=all
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0  # the broker assigned an idempotent id
    finally:
        await publisher.stop()


async def test_no_broker_means_unavailable_not_acknowledged() -> None:
    settings = IngestSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = KafkaPublisher(settings)
    await publisher.start()
    try:
        with pytest.raises(PublisherUnavailable):
            await publisher.publish("talks-a", b"x", [])
        with pytest.raises(PublisherUnavailable):
            await publisher.ping()
    finally:
        await publisher.stop()
