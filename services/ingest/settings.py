"""Settings of the ingest service (``PARLEY_*`` environment variables)."""

from __future__ import annotations

import os
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
    #: Worker processes serving the port, each with its own producer and database pool
    #: (docs/operations.md, "Scaling"). Unset: one per CPU this process may run on, at most
    #: :data:`MAX_DEFAULT_WORKERS`. Where an orchestrator scales by replicas, set 1.
    ingest_workers: int | None = Field(default=None, ge=1, le=32)

    @property
    def workers(self) -> int:
        """How many worker processes to run."""
        if self.ingest_workers is not None:
            return self.ingest_workers
        return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


#: A bound on the default worker count: each worker holds a database pool and ~150 MB.
MAX_DEFAULT_WORKERS = 4


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()
