"""Settings of the API service (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache

from services.common.settings import BaseServiceSettings, DatabaseSettings, KafkaSettings


class ApiSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings):
    http_port: int = 8000


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
