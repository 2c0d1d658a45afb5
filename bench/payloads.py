"""Payloads for the ingest and projection benchmarks: the generated histories of
``bench.generate``, with fresh ids so that a run never meets a receipt of an earlier one."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from itertools import zip_longest

import orjson

from bench.generate import talks_history
from shared.cloudevents import headers_for
from shared.events import EVENT_ADAPTER, Event, stamp, to_json

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fresh_history(talks_id: str, size: int, seed: int) -> list[Event]:
    """``talks_history`` with every event id (and every reference to one) replaced by a new
    random one: the same shapes, sizes and reports, never seen before."""
    events = talks_history(talks_id, size, seed)
    renamed = {str(e.event_id).encode(): str(uuid.uuid4()).encode() for e in events}
    out = []
    for event in events:
        body = _UUID.sub(lambda m: renamed.get(m.group(0), m.group(0)), to_json(event))
        out.append(EVENT_ADAPTER.validate_json(body))
    return out


def histories(prefix: str, talks: int, size: int, seed: int = 0) -> list[Event]:
    """``talks`` fresh histories of ``size`` events, interleaved as a live feed would be."""
    each = [fresh_history(f"{prefix}-{i:03d}", size, seed + i) for i in range(talks)]
    return [e for group in zip_longest(*each) for e in group if e is not None]


def submission(event: Event) -> dict:
    """What a client posts: the event with its id, without the server's ``recorded_at``."""
    return event.model_dump(mode="json", exclude_none=True, exclude={"recorded_at"})


def submission_bytes(event: Event) -> bytes:
    return orjson.dumps(submission(event))


def record(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers exactly as the ingest would publish ``event`` now."""
    assert event.event_id is not None
    stamped = stamp(event, event.event_id, datetime.now(UTC))
    return stamped.talks_id.encode(), to_json(stamped), headers_for(stamped)
