"""Kafka administration the services share: make sure the topic exists, probe the broker."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


async def ensure_topic(bootstrap: str, topic: str, partitions: int, replication: int) -> None:
    """Create ``topic`` with unlimited retention unless it exists (its settings are then kept)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        if topic in await admin.list_topics():
            return
        response = await admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=partitions,
                    replication_factor=replication,
                    topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                )
            ]
        )
        for name, code, *message in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name!r}: error {code} {message}")
        log.info("created topic %s with %d partitions", topic, partitions)
    finally:
        await admin.close()


async def probe_kafka(bootstrap: str, timeout_s: float = 3.0) -> None:
    """Raise unless a broker at ``bootstrap`` answers a metadata request within ``timeout_s``."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await asyncio.wait_for(admin.describe_cluster(), timeout_s)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partitions of ``topic`` (empty while it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        for described in await admin.describe_topics([topic]):
            if described["topic"] == topic and described["error_code"] == 0:
                return sorted(p["partition"] for p in described["partitions"])
        return []
    finally:
        await admin.close()
