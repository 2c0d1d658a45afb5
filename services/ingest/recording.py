"""Recording an event: give it its id and the server's time, then append it to the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from services.ingest.publisher import EventPublisher, PublisherUnavailable
from shared.cloudevents import headers_for
from shared.events import Event, stamp, to_json

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event the log acknowledged."""

    event_id: UUID
    recorded_at: datetime
    partition: int
    offset: int


class NotRecorded(Exception):
    """The log did not acknowledge the event; retrying with the same ``event_id`` is safe."""

    def __init__(self, event_id: UUID, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


async def record_event(event: Event, publisher: EventPublisher, clock: Clock = utc_now) -> Recorded:
    """Stamp ``event`` and publish it keyed by its talks; return once the log acknowledged it."""
    event_id = event.event_id or uuid4()
    recorded = stamp(event, event_id, clock())
    try:
        receipt = await publisher.publish(
            recorded.talks_id, to_json(recorded), headers_for(recorded)
        )
    except PublisherUnavailable as exc:
        raise NotRecorded(event_id, str(exc)) from exc
    assert recorded.recorded_at is not None
    return Recorded(event_id, recorded.recorded_at, receipt.partition, receipt.offset)
