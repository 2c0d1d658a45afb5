"""Settings of the projector (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from services.common.settings import BaseServiceSettings, DatabaseSettings, KafkaSettings


class ProjectorSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings):
    http_port: int = 8002
    consumer_group: str = "parley-projector"
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(default=200, ge=1, le=60_000)


@lru_cache
def get_settings() -> ProjectorSettings:
    return ProjectorSettings()
