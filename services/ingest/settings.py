"""Settings of the ingest service (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()
