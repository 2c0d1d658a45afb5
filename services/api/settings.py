"""Settings of the API service (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from services.common.settings import (
    AuthSettings,
    BaseServiceSettings,
    DatabaseSettings,
    KafkaSettings,
)


class ApiSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings, AuthSettings):
    http_port: int = 8000
    #: How many events a stream client may fall behind before it is disconnected.
    stream_queue_size: int = Field(default=10_000, ge=10, le=1_000_000)


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
