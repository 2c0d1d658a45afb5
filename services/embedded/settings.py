"""Settings of the embedded mode: every service's, in one process on one port."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings
from services.projector.settings import ProjectorSettings
from services.webhooks.settings import WebhookSettings


class EmbeddedSettings(IngestSettings, ApiSettings, ProjectorSettings, WebhookSettings):
    mode: Literal["kafka", "embedded"] = "embedded"
    http_port: int = 8000


@lru_cache
def get_settings() -> EmbeddedSettings:
    return EmbeddedSettings()
