"""The log of record: one port (:mod:`.port`), a Kafka and an embedded (SQLite) adapter."""

from __future__ import annotations

from services.common.eventlog.embedded import EmbeddedLog
from services.common.eventlog.kafka import KafkaLog
from services.common.eventlog.port import (
    Appended,
    Consumer,
    Delivered,
    EventLog,
    Headers,
    LogUnavailable,
    Outgoing,
    Positions,
)
from services.common.settings import KafkaSettings


def open_log(settings: KafkaSettings, client_id: str) -> EventLog:
    """The log the settings choose (``PARLEY_MODE``); not connected until started."""
    if settings.mode == "embedded":
        return EmbeddedLog(settings.log_path)
    return KafkaLog(settings.kafka_bootstrap_servers, client_id, settings.topic_replication_factor)


__all__ = [
    "Appended",
    "Consumer",
    "Delivered",
    "EmbeddedLog",
    "EventLog",
    "Headers",
    "KafkaLog",
    "LogUnavailable",
    "Outgoing",
    "Positions",
    "open_log",
]
