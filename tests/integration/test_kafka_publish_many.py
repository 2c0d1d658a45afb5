"""The Kafka adapter's batch publishing on a real broker: every record handed to the producer,
then one wait; each key on the partition the producer itself would have chosen."""

from __future__ import annotations

import uuid

import pytest

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


async def test_no_broker_means_every_record_is_unavailable() -> None:
    settings = IngestSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = KafkaPublisher(settings)
    await publisher.start()
    try:
        answers = await publisher.publish_many([("talks-a", b"x", []), ("talks-b", b"y", [])])
    finally:
        await publisher.stop()
    assert [type(a) for a in answers] == [PublisherUnavailable, PublisherUnavailable]
