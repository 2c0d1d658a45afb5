"""A progress line on stderr: redrawn in place on a terminal, printed now and then elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts finished items and shows ``{label}: done/total events (pct%)`` on ``stream``.

    On a terminal the line is redrawn at most every ``redraw_s``; elsewhere (a log, a pipe)
    a plain line is printed at most every ``every_s``, and once at the end.
    """

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO,
        *,
        redraw_s: float = 0.1,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.done = label, total, 0
        self._stream, self._clock = stream, clock
        self._tty = stream.isatty()
        self._interval = redraw_s if self._tty else every_s
        # Elsewhere the first line waits a full interval: a short load prints only its total.
        self._shown_at: float | None = None if self._tty else clock()
        self._shown_done = 0  # nothing done, nothing to show

    def line(self) -> str:
        """The progress as text, e.g. ``loading x.jsonl: 37/120 events (31%)``."""
        percent = min(round(100 * self.done / self.total), 99) if self.total else 100
        if self.done >= self.total:  # 100% only once everything is done
            percent = 100
        return f"{self.label}: {self.done}/{self.total} events ({percent}%)"

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more finished items; show the line if it is time to."""
        self.done += n
        now = self._clock()
        if self._shown_at is None or now - self._shown_at >= self._interval:
            self._show(now)

    def close(self) -> None:
        """Show the final count and end the line."""
        if self._shown_done != self.done:
            self._show(self._clock())
        if self._tty and self._shown_at is not None:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, now: float) -> None:
        self._shown_at, self._shown_done = now, self.done
        if self._tty:
            self._stream.write(f"\r{self.line()}\x1b[K")  # \x1b[K: erase the rest of the line
        else:
            self._stream.write(self.line() + "\n")
        self._stream.flush()
