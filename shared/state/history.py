"""The full bitemporal history of one item, for the read models.

A version says: from ``known_from`` until ``known_to`` we believed that, from ``valid_from``
until ``valid_to``, the item was ``value`` (``None`` ends mean "still"). Selecting the
version whose two intervals contain ``(known_at, as_of)`` gives exactly what :func:`fold`
gives for that item.

Versions are rectangles in the (known, valid) plane, and a new piece of knowledge only closes
the rectangles whose value it changes: a report that arrives in order (it happened after
everything known before) closes one rectangle and opens two, so an item's history grows
with the number of its events, not with its square.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.events import REPORT_TYPES, Event, subject_of
from shared.state.fold import in_effect, item_keys
from shared.state.items import ItemKey, fold_item
from shared.state.knowledge import Believed, believed_events, every_belief
from shared.state.model import Item


@dataclass(frozen=True, slots=True)
class ItemVersion:
    known_from: datetime
    known_to: datetime | None
    valid_from: datetime
    valid_to: datetime | None
    value: Item


@dataclass(frozen=True, slots=True)
class Segment:
    valid_from: datetime
    valid_to: datetime | None
    value: Item


def timeline(
    kind: str, believed: Sequence[Believed], since: datetime | None = None
) -> list[Segment]:
    """The item's value over validity time, from ``since`` on (from the start when ``None``)."""
    times = sorted({b.event.occurrence.latest for b in believed})
    if since is not None:
        earlier = [t for t in times if t < since]
        times = ([since] if earlier else []) + [t for t in times if t >= since]
    segments: list[Segment] = []
    for i, valid_from in enumerate(times):
        value = fold_item(kind, in_effect(believed, valid_from))
        valid_to = times[i + 1] if i + 1 < len(times) else None
        if value is None:
            continue
        if segments and segments[-1].value == value and segments[-1].valid_to == valid_from:
            segments[-1] = replace(segments[-1], valid_to=valid_to)
        else:
            segments.append(Segment(valid_from, valid_to, value))
    return segments


def _splice(old: list[Segment], new_tail: list[Segment], since: datetime) -> list[Segment]:
    """``old`` before ``since``, then ``new_tail``; equal neighbours merged."""
    head = [
        replace(s, valid_to=since) if s.valid_to is None or s.valid_to > since else s
        for s in old
        if s.valid_from < since
    ]
    merged: list[Segment] = []
    for s in [*head, *new_tail]:
        if merged and merged[-1].value == s.value and merged[-1].valid_to == s.valid_from:
            merged[-1] = replace(merged[-1], valid_to=s.valid_to)
        else:
            merged.append(s)
    return merged


def _holds(segment: Segment, version: ItemVersion) -> bool:
    """Does ``segment`` hold ``version.value`` over all of ``version``'s validity?"""
    if segment.valid_from > version.valid_from or not (
        segment.value is version.value or segment.value == version.value
    ):
        return False
    return segment.valid_to is None or (
        version.valid_to is not None and segment.valid_to >= version.valid_to
    )


def _uncovered(segment: Segment, kept: list[ItemVersion]) -> list[tuple[datetime, datetime | None]]:
    """The parts of ``segment``'s validity that no kept version spans."""
    parts: list[tuple[datetime, datetime | None]] = [(segment.valid_from, segment.valid_to)]
    for v in kept:
        next_parts = []
        for start, end in parts:
            if (end is not None and end <= v.valid_from) or (
                v.valid_to is not None and v.valid_to <= start
            ):
                next_parts.append((start, end))
                continue
            if start < v.valid_from:
                next_parts.append((start, v.valid_from))
            if v.valid_to is not None and (end is None or v.valid_to < end):
                next_parts.append((v.valid_to, end))
        parts = next_parts
    return parts


@dataclass(frozen=True, slots=True)
class ItemState:
    """Where an item's history stands once the knowledge up to ``known`` is folded in.

    ``believed`` are the item's events as believed then, ``segments`` its value over validity
    time, and ``open`` the versions still believed (together they cover ``segments``). This
    is all :func:`advance` needs to go on with events that arrive in order.
    """

    known: datetime | None = None
    believed: tuple[Believed, ...] = ()
    segments: tuple[Segment, ...] = ()
    open: tuple[ItemVersion, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One recording time folded in: the state after it, the versions it closed (their
    ``known_to`` set) and the versions it opened."""

    state: ItemState
    closed: tuple[ItemVersion, ...] = ()
    opened: tuple[ItemVersion, ...] = ()


def advance(
    key: ItemKey, state: ItemState, known_from: datetime, arriving: Sequence[Event]
) -> Step:
    """Fold in ``arriving``, recorded at ``known_from`` and *in order*: after ``state.known``,
    substantive events that no report is about. Versions are only closed and opened, never
    rewritten, so a store can apply a step as it is."""
    mine = [Believed(e) for e in arriving if key in item_keys(e)]
    if not mine:
        return Step(replace(state, known=known_from))
    if len(mine) == 1 and not state.believed:
        return _first(key, known_from, mine[0])
    believed = (*state.believed, *mine)
    since = min(b.event.occurrence.latest for b in mine)
    segments = _splice(list(state.segments), timeline(key.kind, believed, since), since)
    return _revise(state, known_from, believed, segments)


def _first(key: ItemKey, known_from: datetime, only: Believed) -> Step:
    """A new item's first event: what the general case gives, without its machinery."""
    value = fold_item(key.kind, (only,))
    if value is None:
        return Step(ItemState(known_from, (only,)))
    start = only.event.occurrence.latest
    version = ItemVersion(known_from, None, start, None, value)
    return Step(
        ItemState(known_from, (only,), (Segment(start, None, value),), (version,)), (), (version,)
    )


def _revise(
    state: ItemState,
    known_from: datetime,
    believed: tuple[Believed, ...],
    segments: list[Segment],
) -> Step:
    """Close the open versions the new ``segments`` no longer hold; open versions for the rest.

    Segments are disjoint and in time order, so only the segment where an open version starts
    can hold it (found by bisection: a step costs O(n log n) in the item's versions)."""
    starts = [s.valid_from for s in segments]
    kept: list[ItemVersion] = []
    inside: dict[int, list[ItemVersion]] = {}
    for v in state.open:
        i = bisect_right(starts, v.valid_from) - 1
        if i >= 0 and _holds(segments[i], v):
            kept.append(v)
            inside.setdefault(i, []).append(v)
    still = {id(v) for v in kept}
    closed = tuple(replace(v, known_to=known_from) for v in state.open if id(v) not in still)
    opened = tuple(
        ItemVersion(known_from, None, start, end, s.value)
        for i, s in enumerate(segments)
        for start, end in _uncovered(s, inside.get(i, []))
    )
    return Step(ItemState(known_from, believed, tuple(segments), (*kept, *opened)), closed, opened)


def history_and_state(key: ItemKey, events: Sequence[Event]) -> tuple[list[ItemVersion], ItemState]:
    """Every version of the item ``key`` from all events that ever concerned it, and the state
    its history ends in (for :func:`advance` to go on from).

    ``events`` are the substantive events that were ever about the item (under any of their
    corrections) and the report events about those; others are ignored.
    """
    if len(events) == 1:  # most items of a live feed: an event's own, a new one's
        only = events[0]
        if only.recorded_at is not None and only.type not in REPORT_TYPES:
            if key not in item_keys(only):
                return [], ItemState(only.recorded_at)
            step = _first(key, only.recorded_at, Believed(only))
            return list(step.opened), step.state
    by_time: dict[datetime, list[Event]] = {}
    for event in events:
        if event.recorded_at is not None:
            by_time.setdefault(event.recorded_at, []).append(event)
    known: list[Event] = []
    state = ItemState()
    closed: list[ItemVersion] = []
    reported: set[object] = set()
    for known_from in sorted(by_time):
        arriving = by_time[known_from]
        known += arriving
        in_order = not any(e.type in REPORT_TYPES or e.event_id in reported for e in arriving)
        reported.update(subject_of(e) for e in arriving if e.type in REPORT_TYPES)
        if in_order:
            step = advance(key, state, known_from, arriving)
        else:
            believed = tuple(b for b in believed_events(known) if key in item_keys(b.event))
            step = _revise(state, known_from, believed, timeline(key.kind, believed))
        closed += step.closed
        state = step.state
    return closed + list(state.open), state


def item_history(key: ItemKey, events: Sequence[Event]) -> list[ItemVersion]:
    """Every version of the item ``key``, from all events that ever concerned it."""
    return history_and_state(key, events)[0]


def family_keys(subject: object, family: Sequence[Event]) -> set[ItemKey]:
    """The items a report's family (the report and every report about it) was ever about."""
    original = next((e for e in family if e.event_id == subject), None)
    if original is None:
        return set()  # reports about an event not recorded (yet)
    if len(family) == 1:  # no report about it: only ever what it says
        return set(item_keys(original))
    keys: set[ItemKey] = set()
    for version in every_belief(family):  # a version later retracted was still believed once
        keys.update(item_keys(version))
    return keys


def histories(events: Sequence[Event]) -> dict[ItemKey, list[ItemVersion]]:
    """Every item's history, from all the events of one talks (what the read models hold)."""
    families: dict[object, list[Event]] = {}
    for event in events:
        families.setdefault(subject_of(event), []).append(event)
    members: dict[ItemKey, list[Event]] = {}
    for subject, family in families.items():
        for key in family_keys(subject, family):
            members.setdefault(key, []).extend(family)
    return {key: item_history(key, family) for key, family in members.items()}
