"""Records as the projector reads them from the log, and the headers Parley adds to them.

An operator's replay of a dead letter puts the original record back on the topic with
``parley_replay_of`` (where it first was); the last replay of a parked talks also carries
``parley_release`` (the talks id), which tells the projector it may let the talks go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ``<partition>:<offset>`` of the record a replay re-publishes.
REPLAY_OF = "parley_replay_of"
#: The talks id whose parked records end with this replay.
RELEASE = "parley_release"

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record as the log delivered it."""

    partition: int
    offset: int
    value: bytes
    headers: Headers = ()
    key: bytes | None = None
    _last: dict[str, bytes] = field(init=False, repr=False, compare=False)
    #: What decoding the record gave, once it was decoded ahead (poison.decode_ahead).
    decoded: object = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_last", dict(self.headers))  # a later header wins

    def remember(self, decoded: object) -> None:
        object.__setattr__(self, "decoded", decoded)

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` as text, or ``None`` when absent."""
        found = self._last.get(name)
        return None if found is None else found.decode("utf-8", errors="replace")

    @property
    def is_replay(self) -> bool:
        """Whether an operator re-published this record from the dead letters."""
        return self.header(REPLAY_OF) is not None


def without(headers: Headers, *names: str) -> Headers:
    """``headers`` without any of ``names`` (a replay of a replay gets fresh markers)."""
    return tuple((k, v) for k, v in headers if k not in names)
