"""The ``/v1/stream`` endpoint: records as server-sent events, each ``id`` a resumable position."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from services.api.stream import positions
from services.api.stream.catchup import catch_up
from services.api.stream.frames import describe, render, wanted
from services.api.stream.hub import Batch, Closed, Record, StreamHub
from services.api.validation import BadParameter, one_of
from shared.events import EVENT_TYPES

router = APIRouter(prefix="/v1", tags=["subscribe"])

HEARTBEAT_S = 15.0
MAX_CHUNK = 200  # frames per send while catching up
MAX_SEND = 1 << 20  # bytes per send while live, unless one batch alone is more


class Cursor:
    """A client's position, advanced past every record it has been sent (or skipped)."""

    def __init__(self, start: positions.Position, talks_id: str | None, type_: str | None):
        self.position = dict(start)
        self.talks_id, self.type_ = talks_id, type_
        self._shared = False  # is ``position`` a batch's (in step with the hub), not to change

    def frame(self, record: Record, described: tuple[str, str] | None = None) -> bytes | None:
        """The SSE message for ``record``; ``None`` if already sent or filtered out."""
        if record.offset < self.position.get(record.partition, 0):
            return None  # seen during catch-up, or before the position asked for
        if self._shared:
            self.position, self._shared = dict(self.position), False
        self.position[record.partition] = record.offset + 1
        talks_id, type_ = described or describe(record)
        if not wanted(talks_id, type_, self.talks_id, self.type_):
            return None
        return render(self.position, type_, record.value)

    def frames(self, batch: Batch) -> bytes:
        """The messages for a live batch: the hub's own frames if this client is in step
        with it (its position is where the batch begins), else each rendered here."""
        if self.position is batch.before or self.position == batch.before:
            self.position, self._shared = batch.after, True
            return batch.frames(self.talks_id, self.type_)
        sent = b"".join(
            frame
            for e in batch.entries
            if (frame := self.frame(e.record, (e.talks_id, e.type))) is not None
        )
        if self.position == batch.after:
            self.position, self._shared = batch.after, True
        return sent


async def _frames(request: Request, hub: StreamHub, cursor: Cursor) -> AsyncIterator[bytes]:
    subscriber, live_from = hub.subscribe()
    settings = request.state.settings
    try:
        where = positions.encode(cursor.position) or "the beginning"
        yield f"retry: 2000\n: streaming from {where}\n\n".encode()
        if positions.behind(cursor.position, live_from):
            chunk: list[bytes] = []
            async for record in catch_up(hub.log, settings.topic, cursor.position, live_from):
                if (frame := cursor.frame(record)) is not None:
                    chunk.append(frame)
                if len(chunk) >= MAX_CHUNK:
                    yield b"".join(chunk)
                    chunk = []
            if chunk:
                yield b"".join(chunk)
        while True:
            item = await subscriber.get(HEARTBEAT_S)
            if item is None:
                yield b": heartbeat\n\n"
                continue
            chunk, size = [], 0
            while item is not None:
                if isinstance(item, Closed):
                    reason = orjson.dumps({"reason": item.reason})
                    yield b"".join(chunk) + b"event: error\ndata: " + reason + b"\n\n"
                    return
                if sent := cursor.frames(item):
                    chunk.append(sent)
                    size += len(sent)
                if size >= MAX_SEND:
                    break
                item = subscriber.get_nowait()
            if chunk:
                yield b"".join(chunk)
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
