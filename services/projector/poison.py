"""What is poison: records the projector cannot apply however often it tries.

A record is poison when it is not JSON (``undecodable``), names no known event type
(``unknown_type``), fails validation (``invalid``), or when applying it raises an error that
is the record's fault (``projection_failed``). Such a record becomes a :class:`DeadLetter`
and the projector goes on with the rest.

Not poison, and so retried until it succeeds: a record of a schema version newer than this
projector knows (:class:`shared.upcasting.UpcastError`: deploy a newer projector), and every
failure of the infrastructure (the database refusing or unreachable, Kafka, the network).
Dead-lettering those would empty the log into the dead-letter queue during an outage.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa

from services.projector.records import LogRecord
from shared.events import EVENT_TYPES, Event, parse_recorded
from shared.upcasting import UpcastError, upcast_value, version_of

UNDECODABLE = "undecodable"
UNKNOWN_TYPE = "unknown_type"
INVALID = "invalid"
PROJECTION_FAILED = "projection_failed"
#: Not faulty itself: held back behind an earlier dead letter of its talks (policy ``pause``).
PARKED = "parked"

MAX_ERROR = 2000
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the projector set aside, and why."""

    record: LogRecord
    error_type: str
    error: str
    talks_id: str | None = None
    event_id: UUID | None = None


def decode(record: LogRecord) -> Event | DeadLetter:
    """The record's event (upcast to the current version), or the dead letter it makes.

    Raises :class:`UpcastError` for a version this build does not know: that is not poison.
    """
    if record.decoded is not None:
        return record.decoded  # type: ignore[return-value]
    try:
        return parse_recorded(upcast_value(record.value, version_of(record.headers)))
    except UpcastError:
        raise
    except Exception as exc:  # ValidationError, JSONDecodeError, UnicodeDecodeError, an upcaster
        return diagnose(record, exc)


def decode_ahead(records: Sequence[LogRecord]) -> None:
    """Decode ``records`` now and keep the results on them (the consumer loop does it while
    the database works on the batch before). A version this build does not know is left
    for :func:`decode` to raise when the record is applied."""
    for record in records:
        with contextlib.suppress(UpcastError):
            record.remember(decode(record))


def diagnose(record: LogRecord, exc: Exception) -> DeadLetter:
    """The dead letter of a record that did not decode: which kind, and whose it is."""
    try:
        document: Any = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        error_type = UNDECODABLE
        document = {}
    elif document.get("type") not in EVENT_TYPES:
        error_type = UNKNOWN_TYPE
    else:
        error_type = INVALID
    key = record.key.decode("utf-8", errors="replace") if record.key else None
    return DeadLetter(
        record,
        error_type,
        describe(exc),
        talks_id=_slug(document.get("talks_id")) or _slug(key),
        event_id=_uuid(document.get("event_id")),
    )


def failed(record: LogRecord, event: Event, exc: BaseException) -> DeadLetter:
    """The dead letter of a record whose projection raised ``exc``."""
    return DeadLetter(record, PROJECTION_FAILED, describe(exc), event.talks_id, event.event_id)


def parked(record: LogRecord, talks_id: str, event_id: UUID | None) -> DeadLetter:
    """The dead letter of a record held back behind an earlier one of its talks."""
    why = f"talks {talks_id} is parked behind an earlier dead letter (policy pause)"
    return DeadLetter(record, PARKED, why, talks_id, event_id)


def is_poison(exc: BaseException) -> bool:
    """Whether a failure while applying a record is the record's fault.

    The database's *data* errors (SQLSTATE class 22: a value it cannot store) are the
    record's; any other database error (a constraint, a missing table, a lost connection, a
    timeout) is the infrastructure's, as are network errors and an unknown newer version.
    """
    if isinstance(exc, sa.exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(exc, sa.exc.DataError) or str(sqlstate or "").startswith("22")
    if isinstance(exc, sa.exc.StatementError):
        return True  # a parameter of the record's could not be bound
    return not isinstance(exc, sa.exc.SQLAlchemyError | OSError | UpcastError)


def describe(exc: BaseException) -> str:
    """``ExceptionType: message``, cut to a length a header and a table row can hold."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def _slug(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= 64 and _SLUG.match(value):
        return value
    return None


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None
