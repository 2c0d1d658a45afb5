"""The ``/v1/stream`` endpoint: records as server-sent events, each ``id`` a resumable position."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from services.api.stream import positions
from services.api.stream.catchup import catch_up
from services.api.stream.hub import Closed, Record, StreamHub
from services.api.validation import BadParameter, one_of
from shared.cloudevents import event_type_of
from shared.events import EVENT_TYPES

router = APIRouter(prefix="/v1", tags=["subscribe"])

HEARTBEAT_S = 15.0
MAX_CHUNK = 200


def _describe(record: Record) -> tuple[str, str]:
    """The record's talks and type, from its CloudEvents headers (or its value)."""
    subject, ce = record.headers.get("ce_subject"), record.headers.get("ce_type")
    if subject and ce:
        return subject.decode(), event_type_of(ce.decode())[0]
    document = orjson.loads(record.value)
    return document.get("talks_id", ""), document.get("type", "")


class Cursor:
    """A client's position, advanced past every record it has been sent (or skipped)."""

    def __init__(self, start: positions.Position, talks_id: str | None, type_: str | None):
        self.position = dict(start)
        self.talks_id, self.type_ = talks_id, type_

    def frame(self, record: Record) -> str | None:
        """The SSE message for ``record``; ``None`` if already sent or filtered out."""
        if record.offset < self.position.get(record.partition, 0):
            return None  # seen during catch-up, or before the position asked for
        self.position[record.partition] = record.offset + 1
        talks_id, type_ = _describe(record)
        if (self.talks_id and talks_id != self.talks_id) or (self.type_ and type_ != self.type_):
            return None
        value = record.value.decode()
        return f"id: {positions.encode(self.position)}\nevent: {type_}\ndata: {value}\n\n"


async def _frames(request: Request, hub: StreamHub, cursor: Cursor) -> AsyncIterator[str]:
    subscriber, live_from = hub.subscribe()
    settings = request.state.settings
    try:
        where = positions.encode(cursor.position) or "the beginning"
        yield f"retry: 2000\n: streaming from {where}\n\n"
        if positions.behind(cursor.position, live_from):
            chunk: list[str] = []
            async for record in catch_up(hub.log, settings.topic, cursor.position, live_from):
                if (frame := cursor.frame(record)) is not None:
                    chunk.append(frame)
                if len(chunk) >= MAX_CHUNK:
                    yield "".join(chunk)
                    chunk = []
            if chunk:
                yield "".join(chunk)
        while True:
            try:
                item = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            chunk = []
            while True:
                if isinstance(item, Closed):
                    reason = orjson.dumps({"reason": item.reason}).decode()
                    yield "".join(chunk) + f"event: error\ndata: {reason}\n\n"
                    return
                if (frame := cursor.frame(item)) is not None:
                    chunk.append(frame)
                if len(chunk) >= MAX_CHUNK or subscriber.queue.empty():
                    break
                item = subscriber.queue.get_nowait()
            if chunk:
                yield "".join(chunk)
    finally:
        hub.unsubscribe(subscriber)


@router.get("/stream")
async def stream(
    request: Request,
    talks_id: Annotated[
        str | None, Query(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)
    ] = None,
    type: str | None = None,
    from_: Annotated[str, Query(alias="from", description="beginning, now, or a position")] = "now",
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Every event as a server-sent event, live, optionally filtered by `talks_id` and `type`.

    Each message's `data` is the event as JSON (`event_id` included), its `event` the type,
    and its `id` a position (Kafka partition offsets). Reconnecting with `Last-Event-ID`
    (browsers do it themselves) resumes right after the last message, with no gap and no
    duplicate; it takes precedence over `from`. Comments keep idle connections open.
    """
    hub: StreamHub = request.state.hub
    if not hub.ready:
        raise HTTPException(
            503, "the stream is not connected to Kafka yet", headers={"Retry-After": "2"}
        )
    if type:
        one_of("type", type, dict.fromkeys(EVENT_TYPES, ""))
    chosen = last_event_id or from_
    if chosen == "beginning":
        start: positions.Position = {p: 0 for p in hub.position}
    elif chosen == "now":
        start = hub.position
    else:
        try:
            start = positions.decode(chosen)
        except positions.BadPosition as exc:
            field = "Last-Event-ID" if last_event_id else "from"
            raise BadParameter(field, str(exc)) from None
    cursor = Cursor(start, talks_id, type)
    return StreamingResponse(
        _frames(request, hub, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
