"""Settings of the projector (``PARLEY_*`` environment variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field

from services.common.settings import BaseServiceSettings, DatabaseSettings, KafkaSettings
from services.projector.items import CACHED_EVENTS


class ProjectorSettings(BaseServiceSettings, KafkaSettings, DatabaseSettings):
    http_port: int = 8002
    consumer_group: str = "parley-projector"
    #: Records per transaction; larger batches make the IN lists of items.py too deep.
    max_batch: int = Field(default=1000, ge=1, le=2000)
    poll_timeout_ms: int = Field(default=200, ge=1, le=60_000)
    #: How many events the remembered item states may hold together (services/projector/
    #: items.py): memory for speed. 20,000 took about 67 MB and made a rebuild 1.6x faster
    #: than 2,000, but with the next batch prepared ahead a 1,000,000-event rebuild then
    #: peaked at 312 MB; 0 remembers nothing (every touched item is recomputed).
    item_cache_events: int = Field(default=CACHED_EVENTS, ge=0, le=1_000_000)
    #: Where poison records go; ``<topic>.dlq`` when unset.
    dlq_topic: str | None = None
    #: ``skip``: a dead letter holds nothing back. ``pause``: the later records of its talks
    #: wait (as dead letters ``parked``) until it is replayed or skipped.
    poison_policy: Literal["skip", "pause"] = "skip"

    @property
    def dead_letter_topic(self) -> str:
        return self.dlq_topic or f"{self.topic}.dlq"


@lru_cache
def get_settings() -> ProjectorSettings:
    return ProjectorSettings()
