"""Consumers whose positions live in the database, beside what they wrote, not in Kafka."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

log = logging.getLogger(__name__)


class SeekToStoredPositions(ConsumerRebalanceListener):
    """On assignment, start each partition where the database says the group got to.

    ``positions`` reads the next offset per partition from the table written in the same
    transaction as the consumer's work; a partition without one starts at the beginning.
    """

    def __init__(
        self, consumer: AIOKafkaConsumer, positions: Callable[[], Awaitable[dict[int, int]]]
    ) -> None:
        self._consumer = consumer
        self._positions = positions

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Nothing to flush: every batch was committed to the database whole."""

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        positions = await self._positions()
        for tp in assigned:
            if tp.partition in positions:
                self._consumer.seek(tp, positions[tp.partition])
            else:
                await self._consumer.seek_to_beginning(tp)
        log.info(
            "assigned partitions %s at %s",
            sorted(tp.partition for tp in assigned),
            {tp.partition: positions.get(tp.partition, 0) for tp in assigned},
        )
