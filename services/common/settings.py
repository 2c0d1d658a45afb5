"""Settings fields shared by the services; each service composes its own ``Settings`` class."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ParleySettings(BaseSettings):
    """Read from ``PARLEY_*`` environment variables (and a ``.env`` file if present)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_file=".env", extra="ignore")


class BaseServiceSettings(ParleySettings):
    http_host: str = "127.0.0.1"
    log_level: str = "info"


class ModeSettings(ParleySettings):
    #: ``kafka``: the log is a Kafka topic and the read models live in PostgreSQL (the product).
    #: ``embedded``: the log and the read models are SQLite files under ``data_dir``.
    mode: Literal["kafka", "embedded"] = "kafka"
    data_dir: Path = Path(".parley/embedded")

    @property
    def log_path(self) -> Path:
        """The embedded log's file."""
        return self.data_dir / "log.sqlite3"


class KafkaSettings(ModeSettings):
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "parley.events"
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    topic_replication_factor: int = Field(default=1, ge=1, le=7)


class DatabaseSettings(ModeSettings):
    #: Defaults to the local stack's PostgreSQL, or in embedded mode to ``data_dir``'s SQLite.
    database_url: str = ""

    @model_validator(mode="after")
    def _default_database(self) -> DatabaseSettings:
        if not self.database_url:
            self.database_url = (
                f"sqlite+aiosqlite:///{self.data_dir / 'parley.sqlite3'}"
                if self.mode == "embedded"
                else "postgresql+asyncpg://parley:parley@127.0.0.1:5433/parley"
            )
        return self


class AuthSettings(ParleySettings):
    #: One key holding every scope, never stored (local runs and tests); unset in production.
    bootstrap_key: str | None = Field(default=None, min_length=16)
    #: Require a key with the ``read`` scope for reads too.
    require_read_key: bool = False
