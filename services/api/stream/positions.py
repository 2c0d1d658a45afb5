"""Stream positions: for every partition, the next offset to read.

A position is what Kafka itself gives (partition, offset) and never a database sequence,
so it is gap-free and commit-ordered. Written as ``0:12,1:5,2:0``; a partition left out is
read from its beginning.
"""

from __future__ import annotations

import re

Position = dict[int, int]

_PART = re.compile(r"^(\d{1,4}):(\d{1,19})$")


class BadPosition(ValueError):
    """A position that is not ``partition:offset,...``."""


def encode(position: Position) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(position.items()))


def decode(text: str) -> Position:
    position: Position = {}
    for part in text.split(","):
        match = _PART.match(part.strip())
        if not match:
            raise BadPosition(
                f"{text!r} is not a stream position: expected 'partition:offset' pairs "
                "separated by commas (as sent in each event's id), 'beginning' or 'now'"
            )
        position[int(match.group(1))] = int(match.group(2))
    return position


def behind(position: Position, target: Position) -> bool:
    """Is ``position`` short of ``target`` on any partition?"""
    return any(position.get(p, 0) < offset for p, offset in target.items())
