"""The ingest's publisher on any adapter of the log port (the embedded log, in practice).

The Kafka adapter of the ingest is :class:`services.ingest.publisher.KafkaPublisher`, which
knows Kafka's ways (connecting in the background, replacing a broken idempotent producer).
"""

from __future__ import annotations

from services.common.eventlog import EventLog, LogUnavailable, Outgoing
from services.ingest.publisher import PublisherUnavailable, Receipt
from services.ingest.settings import IngestSettings


class LogPublisher:
    """Appends each event to the topic of ``log``; starts and stops ``log`` if it ``owns`` it."""

    def __init__(self, settings: IngestSettings, log: EventLog, owns: bool = True) -> None:
        self._settings = settings
        self._log, self._owns = log, owns

    async def start(self) -> None:
        if self._owns:
            await self._log.start()
        await self._log.ensure_topic(self._settings.topic, self._settings.topic_partitions)

    async def stop(self) -> None:
        if self._owns:
            await self._log.stop()

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        outgoing = Outgoing(value, key.encode(), tuple(headers))
        try:
            [appended] = await self._log.append(self._settings.topic, [outgoing])
        except LogUnavailable as exc:
            raise PublisherUnavailable(str(exc)) from exc
        return Receipt(appended.partition, appended.offset)

    async def ping(self) -> None:
        await self._log.ping()
