"""The full bitemporal history of one item, for the read models.

For every time ``known_at`` at which something new was recorded about the item, and every
time ``as_of`` at which one of its events came into effect, the item has one value. A
version says: from ``known_from`` until ``known_to`` we believed that, from ``valid_from``
until ``valid_to``, the item was ``value``. ``None`` ends mean "still". Selecting the version
whose two intervals contain ``(known_at, as_of)`` gives exactly what :func:`fold` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.events import Event
from shared.state.fold import in_effect, item_keys, known_by
from shared.state.items import ItemKey, fold_item
from shared.state.knowledge import believed_events
from shared.state.model import Item


@dataclass(frozen=True, slots=True)
class ItemVersion:
    known_from: datetime
    known_to: datetime | None
    valid_from: datetime
    valid_to: datetime | None
    value: Item


def item_history(key: ItemKey, events: Sequence[Event]) -> list[ItemVersion]:
    """Every version of the item ``key``, from all events that ever concerned it.

    ``events`` are the substantive events that were ever about the item (under any of their
    corrections) and the report events about those; others are ignored.
    """
    knowledge_times = sorted({e.recorded_at for e in events if e.recorded_at is not None})
    versions: list[ItemVersion] = []
    for i, known_from in enumerate(knowledge_times):
        known_to = knowledge_times[i + 1] if i + 1 < len(knowledge_times) else None
        believed = [
            b for b in believed_events(known_by(events, known_from)) if key in item_keys(b.event)
        ]
        valid_times = sorted({b.event.occurrence.latest for b in believed})
        timeline: list[tuple[datetime, datetime | None, Item]] = []
        for j, valid_from in enumerate(valid_times):
            value = fold_item(key.kind, in_effect(believed, valid_from))
            if value is None:
                continue
            valid_to = valid_times[j + 1] if j + 1 < len(valid_times) else None
            if timeline and timeline[-1][2] == value and timeline[-1][1] == valid_from:
                timeline[-1] = (timeline[-1][0], valid_to, value)  # unchanged: extend
            else:
                timeline.append((valid_from, valid_to, value))
        versions += [ItemVersion(known_from, known_to, vf, vt, v) for vf, vt, v in timeline]
    return _merge_unchanged_knowledge(versions)


def _merge_unchanged_knowledge(versions: list[ItemVersion]) -> list[ItemVersion]:
    """Where a newer knowledge time left the timeline as it was, keep one version, longer."""
    by_known: dict[datetime, list[ItemVersion]] = {}
    for v in versions:
        by_known.setdefault(v.known_from, []).append(v)
    merged: list[ItemVersion] = []
    previous: list[ItemVersion] = []
    for known_from in sorted(by_known):
        current = by_known[known_from]
        contiguous = bool(previous) and previous[0].known_to == known_from
        same = (
            contiguous
            and len(current) == len(previous)
            and all(
                (a.valid_from, a.valid_to, a.value) == (b.valid_from, b.valid_to, b.value)
                for a, b in zip(previous, current, strict=True)
            )
        )
        if same:
            extended = [
                ItemVersion(p.known_from, c.known_to, p.valid_from, p.valid_to, p.value)
                for p, c in zip(previous, current, strict=True)
            ]
            merged[-len(previous) :] = extended
            previous = extended
        else:
            merged += current
            previous = current
    return merged
