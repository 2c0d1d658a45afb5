"""Appending records to one topic of the log, returning once it acknowledged every one."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.eventlog import EventLog, KafkaLog, Outgoing

__all__ = ["KafkaAppender", "Outgoing", "TopicAppender"]


class TopicAppender:
    """Appends to ``topic`` of ``log``; order is kept per partition.

    It starts and stops ``log`` only when it ``owns`` it (a log shared in the process is
    started and stopped by the composition root).
    """

    def __init__(self, log: EventLog, topic: str, owns: bool = False) -> None:
        self.topic = topic
        self._log, self._owns = log, owns

    async def start(self) -> None:
        if self._owns:
            await self._log.start()

    async def stop(self) -> None:
        if self._owns:
            await self._log.stop()  # flushes what is in flight

    async def partitions(self) -> set[int]:
        """The topic's partitions."""
        return set(await self._log.partitions(self.topic))

    async def append(self, records: Sequence[Outgoing]) -> None:
        """Append ``records`` in order and wait until every one is acknowledged."""
        await self._log.append(self.topic, records)


class KafkaAppender(TopicAppender):
    """An idempotent producer (``acks=all``) for one Kafka topic."""

    def __init__(self, bootstrap_servers: str, topic: str, client_id: str) -> None:
        super().__init__(KafkaLog(bootstrap_servers, client_id), topic, owns=True)
