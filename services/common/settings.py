"""Settings fields shared by the services; each service composes its own ``Settings`` class."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ParleySettings(BaseSettings):
    """Read from ``PARLEY_*`` environment variables (and a ``.env`` file if present)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_file=".env", extra="ignore")


class BaseServiceSettings(ParleySettings):
    http_host: str = "127.0.0.1"
    log_level: str = "info"


class KafkaSettings(ParleySettings):
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "parley.events"
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    topic_replication_factor: int = Field(default=1, ge=1, le=7)


class DatabaseSettings(ParleySettings):
    database_url: str = "postgresql+asyncpg://parley:parley@127.0.0.1:5433/parley"


class AuthSettings(ParleySettings):
    #: One key holding every scope, never stored (local runs and tests); unset in production.
    bootstrap_key: str | None = Field(default=None, min_length=16)
    #: Require a key with the ``read`` scope for reads too.
    require_read_key: bool = False
