"""Reading events recorded under an older version of their type's schema.

Within a version an event type only gains optional fields; a breaking change makes a new
version (``org.parley.round.opened.v2``), and the records already on the topic keep theirs.
Reading them, each registered upcaster takes a document from one version to the next, until
it is at the current version (:data:`shared.cloudevents.SCHEMA_VERSION`), which the models
then validate. A record of a version newer than this build knows cannot be read at all: that
is an :class:`UpcastError`, not a ``ValueError``, so that a reader stops rather than skip it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from shared.cloudevents import SCHEMA_VERSION, event_type_of

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]

#: ``(event_type, from_version)`` -> the function taking a document to ``from_version + 1``.
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UpcastError(Exception):
    """A recorded event this build cannot bring to the current version of its type."""


def register(event_type: str, from_version: int, upcaster: Upcaster) -> None:
    """Register ``upcaster`` to take ``event_type`` documents from ``from_version`` to the next."""
    if (event_type, from_version) in _UPCASTERS:
        raise ValueError(f"an upcaster of {event_type} v{from_version} is already registered")
    _UPCASTERS[event_type, from_version] = upcaster


def unregister(event_type: str, from_version: int) -> None:
    """Forget the upcaster of ``event_type`` from ``from_version`` (tests register their own)."""
    _UPCASTERS.pop((event_type, from_version), None)


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator form of :func:`register`."""

    def decorate(function: Upcaster) -> Upcaster:
        register(event_type, from_version, function)
        return function

    return decorate


def upcast(document: Document, version: int, current: int = SCHEMA_VERSION) -> Document:
    """``document``, recorded at ``version`` of its type, brought to the ``current`` version."""
    event_type = document.get("type")
    if not isinstance(event_type, str):
        raise ValueError("an event document must carry its type")
    if version > current:
        raise UpcastError(
            f"{event_type} v{version} is newer than this build knows (v{current}): "
            "deploy a version of Parley that knows it"
        )
    for step in range(version, current):
        try:
            document = _UPCASTERS[event_type, step](document)
        except KeyError:
            missing = f"no upcaster takes {event_type} from v{step} to v{step + 1}"
            raise UpcastError(missing) from None
    return document


def version_of(headers: Iterable[tuple[str, bytes]]) -> int:
    """The schema version a record's ``ce_type`` header names; the current one if absent."""
    for name, value in headers:
        if name == "ce_type":
            return event_type_of(value.decode())[1]
    return SCHEMA_VERSION


def upcast_value(value: bytes, version: int) -> bytes | Document:
    """A record's value ready for ``parse_recorded``: as it is when current, else upcast."""
    if version == SCHEMA_VERSION:
        return value
    document = json.loads(value)
    if not isinstance(document, dict):
        raise ValueError("an event must be a JSON object")
    return upcast(document, version)
