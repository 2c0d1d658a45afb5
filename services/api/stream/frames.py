"""Server-sent event frames: what a record says about itself, and its message as bytes.

A frame's ``id`` is the position just after its record. For a client whose position is the
hub's, that id is the same for everyone, so the hub renders each live record's frame once
(:class:`services.api.stream.hub.Batch`) and clients in step only pick the ones their filter
wants; a client that is not in step renders its own with :func:`render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from services.api.stream import positions
from shared.cloudevents import event_type_of

if TYPE_CHECKING:
    from services.api.stream.hub import Record


def describe(record: Record) -> tuple[str, str]:
    """The record's talks and type, from its CloudEvents headers (or its value)."""
    subject, ce = record.headers.get("ce_subject"), record.headers.get("ce_type")
    if subject and ce:
        return subject.decode(), event_type_of(ce.decode())[0]
    document = orjson.loads(record.value)
    return document.get("talks_id", ""), document.get("type", "")


def render(position: positions.Position, type_: str, value: bytes) -> bytes:
    """The SSE message of one event whose ``id`` is ``position``."""
    head = f"id: {positions.encode(position)}\nevent: {type_}\ndata: ".encode()
    return head + value + b"\n\n"


def wanted(talks_id: str, type_: str, want_talks: str | None, want_type: str | None) -> bool:
    """Does a client filtering on ``want_talks`` / ``want_type`` (``None``: any) want it?"""
    return (not want_talks or talks_id == want_talks) and (not want_type or type_ == want_type)
