"""A client's own reader of the topic, from its position up to where the live hub began.

Each catching-up client gets a short-lived consumer of its own (no consumer group), so that
reading history, however long, never delays the live fan-out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.api.stream.hub import Record
from services.api.stream.positions import Position


async def catch_up(
    bootstrap: str, topic: str, start: Position, stop: Position
) -> AsyncIterator[Record]:
    """Every record at or after ``start`` and before ``stop``, partition by partition in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="parley-api-catchup"
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(stop)]
        consumer.assign(partitions)
        first = await consumer.beginning_offsets(partitions)
        remaining: dict[TopicPartition, int] = {}
        for tp in partitions:
            begin = max(start.get(tp.partition, 0), first[tp])
            if begin < stop[tp.partition]:
                consumer.seek(tp, begin)
                remaining[tp] = stop[tp.partition]
        consumer.pause(*[tp for tp in partitions if tp not in remaining])
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=1000)
            for tp, messages in batch.items():
                end = remaining.get(tp)
                for m in messages:
                    if end is None or m.offset >= end:
                        break
                    yield Record(tp.partition, m.offset, m.value or b"", dict(m.headers))
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    consumer.pause(tp)
                    del remaining[tp]
    finally:
        await consumer.stop()
