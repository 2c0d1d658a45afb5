"""The log of record, as the services use it: a port with a Kafka and an embedded adapter.

A *topic* has numbered partitions; a record's partition comes from its key, so the records
of one talks stay in order. Each partition's records have consecutive offsets from 0. A
*consumer* reads from positions it is given (its own, stored beside its work) and commits
them to the log only for the log's own tools; a *reader* follows a topic from positions or
from its end, with no group at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Headers = tuple[tuple[str, bytes], ...]
#: Next offset to read, per partition.
Positions = dict[int, int]


@dataclass(frozen=True, slots=True)
class Delivered:
    """A record as the log delivered it."""

    partition: int
    offset: int
    value: bytes
    headers: Headers = ()
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to append; ``partition`` ``None`` lets the key choose it."""

    value: bytes
    key: bytes | None = None
    headers: Headers = ()
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    """Where the log put a record once it acknowledged it."""

    partition: int
    offset: int


class LogUnavailable(Exception):
    """The log cannot take or give records now; nothing was acknowledged."""


class Consumer(Protocol):
    """Reads a topic batch by batch, each partition in offset order."""

    async def fetch(self, timeout_s: float, max_records: int) -> list[Delivered]:
        """The next records (possibly none after ``timeout_s``)."""
        ...

    async def positions(self) -> Positions:
        """Where each partition it reads will be read next."""
        ...

    async def commit(self, positions: Positions) -> None:
        """Tell the log how far the group got (informational: the database holds the truth)."""
        ...

    def lag(self, partition: int, next_offset: int) -> int | None:
        """Records after ``next_offset`` in ``partition`` as last seen, or ``None``."""
        ...

    async def close(self) -> None: ...


StoredPositions = Callable[[], Awaitable[Positions]]


class EventLog(Protocol):
    """A partitioned, append-only log of records."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> None:
        """Raise unless the log is reachable."""
        ...

    async def ensure_topic(self, topic: str, partitions: int) -> None:
        """Create ``topic`` with ``partitions`` partitions unless it exists."""
        ...

    async def partitions(self, topic: str) -> list[int]:
        """The topic's partitions; empty when it does not exist."""
        ...

    async def end_offsets(self, topic: str) -> Positions:
        """The offset the next record of each partition will get."""
        ...

    async def append(self, topic: str, records: Sequence[Outgoing]) -> list[Appended]:
        """Append ``records`` in order; return once the log acknowledged every one durably."""
        ...

    async def consumer(
        self, topic: str, group: str, stored: StoredPositions, max_records: int
    ) -> Consumer:
        """A member of ``group``: each partition it is given starts where ``stored`` says
        (from the beginning when it says nothing)."""
        ...

    async def reader(self, topic: str, start: Positions | None) -> Consumer:
        """Every partition from ``start`` (the beginning where it says nothing), or from the
        end when ``start`` is ``None``."""
        ...
