"""Deciding, record by record in log order, whether to apply a record or set it aside.

Pure: the projection feeds it decoded records and the outcome of applying them, and writes
what it decided. Under the policy ``skip`` a dead letter holds nothing back. Under ``pause`` a
dead letter of a known talks *parks* that talks: its later records are dead-lettered too, as
``parked``, until an operator replays or skips the letters. The operator's replay puts them
back on the log with ``parley_replay_of``, which a *releasing* talks lets through, the last
one also with ``parley_release``: once that one is applied the talks is let go, unless
records of it were parked meanwhile (they then wait for the next replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from services.projector.poison import PARKED, DeadLetter, failed, parked
from services.projector.records import RELEASE, LogRecord
from shared.events import Event

Policy = Literal["skip", "pause"]


@dataclass(slots=True)
class Park:
    """A parked talks: whether its replay is under way, and how many of its letters are open."""

    releasing: bool = False
    open_letters: int = 0


@dataclass(frozen=True, slots=True)
class Apply:
    """A record to apply."""

    record: LogRecord
    event: Event


@dataclass(frozen=True, slots=True)
class ParkChanges:
    """What to write to ``parked_talks`` after a batch."""

    park: list[str]
    halt: list[str]  # a release went wrong, or records were parked during it
    release: list[str]


class Triage:
    """The decisions for one batch, from the parked talks as they stood when it began."""

    def __init__(self, policy: Policy, parks: Mapping[str, Park]) -> None:
        self.policy = policy
        self.initial = {talks: replace(park) for talks, park in parks.items()}
        self.parks = {talks: replace(park) for talks, park in parks.items()}

    def route(self, record: LogRecord, decoded: Event | DeadLetter) -> Apply | DeadLetter:
        """Apply the record, or dead-letter it (it is poison, or its talks is parked)."""
        if isinstance(decoded, DeadLetter):
            return self._letter(decoded)
        park = self.parks.get(decoded.talks_id)
        if park is None or (park.releasing and record.is_replay):
            return Apply(record, decoded)
        return self._letter(parked(record, decoded.talks_id, decoded.event_id))

    def applied(self, step: Apply) -> None:
        """``step`` was applied: a talks whose last replay this was is let go."""
        talks = step.record.header(RELEASE)
        park = self.parks.get(talks) if talks else None
        if talks is None or park is None or not park.releasing:
            return
        if park.open_letters:
            park.releasing = False
        else:
            del self.parks[talks]

    def failed(self, step: Apply, exc: BaseException) -> DeadLetter:
        """Applying ``step`` raised ``exc``, which is poison: dead-letter the record."""
        return self._letter(failed(step.record, step.event, exc))

    def changes(self) -> ParkChanges:
        """How the parked talks differ from when the batch began."""
        before, after = self.initial, self.parks
        return ParkChanges(
            park=sorted(set(after) - set(before)),
            halt=sorted(
                t for t in after if t in before and before[t].releasing > after[t].releasing
            ),
            release=sorted(set(before) - set(after)),
        )

    def _letter(self, letter: DeadLetter) -> DeadLetter:
        talks = letter.talks_id
        if talks is None:
            return letter  # whose it is is unknown: it can hold nothing back
        park = self.parks.get(talks)
        if park is None and self.policy == "pause":
            park = self.parks[talks] = Park()
        if park is not None:
            park.open_letters += 1
            if letter.error_type != PARKED:
                park.releasing = False
        return letter
