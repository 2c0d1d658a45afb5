"""When an event happened, at the precision the report gave it.

A client may give an exact timestamp with a UTC offset (``2026-02-04T09:00:00+04:00``), a day
(``2026-02-04``) or a month (``2026-01``). The text is kept as given; :func:`occurrence_of`
turns it into the interval ``[earliest, latest]`` that the precision implies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache


class Precision(StrEnum):
    """How precisely a report dates an event."""

    INSTANT = "instant"
    DAY = "day"
    MONTH = "month"
    BETWEEN = "between"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """The interval in which an event happened; both ends are included."""

    text: str
    precision: Precision
    earliest: datetime
    latest: datetime

    def between(self, later: Occurrence) -> Occurrence:
        """The window from the start of this occurrence to the end of ``later``."""
        return Occurrence(
            f"{self.text}/{later.text}", Precision.BETWEEN, self.earliest, later.latest
        )


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMS = "an ISO 8601 timestamp with a UTC offset, a day (YYYY-MM-DD) or a month (YYYY-MM)"


def occurrence_of(text: str) -> Occurrence:
    """Parse ``text`` into an :class:`Occurrence`; raise ``ValueError`` saying what is allowed.

    Pure, and asked for again and again of the same texts (every fold orders events by it),
    so the answers are kept: an :class:`Occurrence` is immutable. Errors are not kept.
    """
    if not isinstance(text, str):
        raise ValueError(f"must be a string: {_FORMS}")
    return _parse(text)


@lru_cache(maxsize=1 << 16)
def _parse(text: str) -> Occurrence:
    if not isinstance(text, str):
        raise ValueError(f"must be a string: {_FORMS}")
    if m := _MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} out of range in {text!r}; expected {_FORMS}")
        start = datetime(year, month, 1, tzinfo=UTC)
        nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return Occurrence(text, Precision.MONTH, start, nxt - timedelta(microseconds=1))
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a calendar day; expected {_FORMS}") from exc
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return Occurrence(text, Precision.DAY, start, start + timedelta(days=1, microseconds=-1))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not {_FORMS}") from exc
    if "T" not in text:
        raise ValueError(f"{text!r} is not {_FORMS}")
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset; add one, e.g. +00:00 or Z")
    moment = moment.astimezone(UTC)
    return Occurrence(text, Precision.INSTANT, moment, moment)


def check_occurrence(text: str) -> str:
    """Validate ``text`` as an occurrence and return it unchanged (precision is kept)."""
    occurrence_of(text)
    return text
