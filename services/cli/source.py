"""Reading a JSON Lines file of events: one event per line, numbered as an editor numbers it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event line of the file: its number, its text, and its JSON value or why it has none."""

    number: int
    text: str
    body: Any = None
    error: str | None = None

    @property
    def talks_key(self) -> str:
        """The talks the line belongs to; a line without a usable ``talks_id`` stands alone."""
        if isinstance(self.body, dict) and isinstance(self.body.get("talks_id"), str):
            return str(self.body["talks_id"])
        return f"\0line {self.number}"  # cannot collide with a talks id, which is a slug

    @property
    def event_id(self) -> object:
        """The ``event_id`` the line carries, if any."""
        return self.body.get("event_id") if isinstance(self.body, dict) else None


def parse_lines(raw_lines: Iterable[bytes]) -> list[EventLine]:
    """The event lines of a JSON Lines file; blank lines and ``#`` comments are skipped.

    A line that is not UTF-8 or not JSON is kept, with ``error`` saying why, so that it can be
    reported with its number; it is never sent.
    """
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            lines.append(
                EventLine(number, "", error=f"not UTF-8: {exc.reason} at byte {exc.start}")
            )
            continue
        if not text or text.startswith("#"):
            continue
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            lines.append(
                EventLine(number, text, error=f"not JSON: {exc.msg} at column {exc.colno}")
            )
            continue
        lines.append(EventLine(number, text, body))
    return lines
