"""Settings of the webhook worker (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from services.common.settings import BaseServiceSettings, DatabaseSettings, KafkaSettings


class WebhookSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings):
    http_port: int = 8003
    webhook_consumer_group: str = "parley-webhooks"
    webhook_max_failures: int = Field(default=8, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=300)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0, le=3600)
    webhook_backoff_max_s: float = Field(default=600.0, gt=0, le=86_400)
    #: At most this many requests in flight at once, over every subscription and talks.
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    #: How often the worker looks for deliveries it was not told of (a resume, a restart).
    webhook_scan_interval_s: float = Field(default=1.0, gt=0, le=300)
    max_batch: int = Field(default=500, ge=1, le=100_000)
    poll_timeout_ms: int = Field(default=200, ge=1, le=60_000)


@lru_cache
def get_settings() -> WebhookSettings:
    return WebhookSettings()
