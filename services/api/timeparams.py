"""The two times every read takes: ``as_of`` (when, in the world) and ``known_at`` (in the record).

``as_of`` is a date, meaning the end of that day in UTC, or a timestamp; ``known_at`` is a
timestamp, or a date meaning the end of that day. Both default to now. A timestamp without
an offset is refused: it would be ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class BadTime(ValueError):
    """A time parameter that cannot be read; the message says what is allowed."""


def parse_time(name: str, text: str | None, now: datetime) -> datetime:
    """``text`` as a UTC time (a date meaning the end of that day); ``now`` when absent."""
    if text is None or text == "":
        return now
    refused = f"{name}={text!r} is not a date (YYYY-MM-DD) or a timestamp with a UTC offset"
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), time(), UTC)
            moment = day + timedelta(days=1, microseconds=-1)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise BadTime(f"{name}={text!r} has no UTC offset; add one, e.g. Z or +04:00")
            moment = moment.astimezone(UTC)
    except BadTime:
        raise
    except (ValueError, OverflowError):
        raise BadTime(refused) from None
    if not EARLIEST <= moment <= LATEST:
        raise BadTime(f"{name}={text!r} is outside the years {EARLIEST.year} to {LATEST.year}")
    return moment


@dataclass(frozen=True, slots=True)
class Bitemporal:
    as_of: datetime
    known_at: datetime


def bitemporal(as_of: str | None, known_at: str | None, now: datetime | None = None) -> Bitemporal:
    """Read both parameters, defaulting to ``now``."""
    now = now or datetime.now(UTC)
    return Bitemporal(parse_time("as_of", as_of, now), parse_time("known_at", known_at, now))
