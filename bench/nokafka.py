"""``python -m bench.nokafka``: the ingest app, built by its own composition root, with a
publisher that acknowledges at once. The single-event benchmark's reference: everything the
ingest does (HTTP, auth, validation, receipts in PostgreSQL) except waiting for Kafka."""

from __future__ import annotations

import itertools

from fastapi import FastAPI

from services.common.logs import configure_logging
from services.ingest.app import create_app
from services.ingest.publisher import Receipt
from services.ingest.serve import serve
from services.ingest.settings import IngestSettings, get_settings


class InstantPublisher:
    """An :class:`~services.ingest.publisher.EventPublisher` that keeps nothing and
    acknowledges every event at once, at increasing offsets of partition 0."""

    def __init__(self, settings: IngestSettings) -> None:
        self._offsets = itertools.count()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        return Receipt(partition=0, offset=next(self._offsets))

    async def ping(self) -> None:
        return None


def app() -> FastAPI:
    """The application of one worker: the ingest's, with the :class:`InstantPublisher`."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, publisher_factory=InstantPublisher)


if __name__ == "__main__":
    # as many workers as the ingest, served the same way
    serve("bench.nokafka:app", get_settings())
