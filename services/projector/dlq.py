"""The dead-letter topic (``<topic>.dlq``): what a dead letter carries there, and its adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.common.eventlog import EventLog, KafkaLog
from services.projector.appender import Outgoing, TopicAppender
from services.projector.poison import DeadLetter
from services.projector.settings import ProjectorSettings

MAX_ERROR_HEADER = 1000


class DeadLetterQueue(Protocol):
    """The dead-letter topic."""

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Append ``letters``; return only once the log acknowledged every one."""
        ...


def dlq_headers(letter: DeadLetter, topic: str) -> list[tuple[str, bytes]]:
    """The original record's headers, then why and where it was set aside."""
    record = letter.record
    return [
        *record.headers,
        ("parley_error", letter.error[:MAX_ERROR_HEADER].encode()),
        ("parley_error_type", letter.error_type.encode()),
        ("parley_original_topic", topic.encode()),
        ("parley_original_partition", str(record.partition).encode()),
        ("parley_original_offset", str(record.offset).encode()),
    ]


class LogDeadLetterQueue:
    """The dead-letter topic of the log: each letter goes to the partition it came from."""

    def __init__(
        self, log: EventLog, dlq_topic: str, source_topic: str, owns: bool = False
    ) -> None:
        self.topic, self._source = dlq_topic, source_topic
        self._appender = TopicAppender(log, dlq_topic, owns)

    async def start(self) -> None:
        await self._appender.start()

    async def stop(self) -> None:
        await self._appender.stop()

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        partitions = await self._appender.partitions()
        await self._appender.append(
            [
                Outgoing(
                    letter.record.value,
                    letter.record.key,
                    tuple(dlq_headers(letter, self._source)),
                    letter.record.partition if letter.record.partition in partitions else None,
                )
                for letter in letters
            ]
        )


class KafkaDeadLetterQueue(LogDeadLetterQueue):
    """The dead-letter topic on Kafka."""

    def __init__(self, bootstrap_servers: str, dlq_topic: str, source_topic: str) -> None:
        log = KafkaLog(bootstrap_servers, "parley-projector-dlq")
        super().__init__(log, dlq_topic, source_topic, owns=True)


async def ensure_log_topics(log: EventLog, settings: ProjectorSettings) -> None:
    """The topic, and its dead-letter topic with as many partitions."""
    await log.ensure_topic(settings.topic, settings.topic_partitions)
    partitions = len(await log.partitions(settings.topic))
    await log.ensure_topic(settings.dead_letter_topic, partitions or settings.topic_partitions)


async def ensure_topics(settings: ProjectorSettings) -> None:
    """:func:`ensure_log_topics` on the Kafka cluster of ``settings``."""
    log = KafkaLog(
        settings.kafka_bootstrap_servers, "parley-admin", settings.topic_replication_factor
    )
    await ensure_log_topics(log, settings)
