"""Settings of the ingest service (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field

from services.common.settings import (
    AuthSettings,
    BaseServiceSettings,
    DatabaseSettings,
    KafkaSettings,
)


class IngestSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings, AuthSettings):
    http_port: int = 8001
    produce_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retry_after_s: int = Field(default=5, ge=1, le=600)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)
    #: Producer batching (docs/benchmarks.md measures them); acks=all and idempotence are fixed.
    #: How long the producer waits for more events to fill a batch to a partition.
    #: 5 ms (aiokafka's default is 0) nearly doubled batch ingest on a 2-core machine.
    producer_linger_ms: int = Field(default=5, ge=0, le=1000)
    #: The largest batch to one partition, in bytes (aiokafka's default is 16 KiB).
    producer_max_batch_size: int = Field(default=256 * 1024, ge=1024, le=8 * 1024 * 1024)
    #: ``gzip``, ``snappy``, ``lz4``, ``zstd`` or unset (none).
    producer_compression: Literal["gzip", "snappy", "lz4", "zstd"] | None = None


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()
