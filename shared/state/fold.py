"""The pure fold: the single definition of "the state of the talks".

``fold(talks_id, events, as_of, known_at)`` takes the events recorded by ``known_at``, applies
the corrections, retractions and added sources among them, keeps what was in effect by
``as_of`` (its ``latest`` is not after ``as_of``), folds each item's events in folding order,
and assembles the state. ``assemble`` is shared with the read models, which store the items
and only need assembling.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from shared.events import Event
from shared.state.items import ItemKey, fold_item, item_key
from shared.state.knowledge import Believed, believed_events, id_text
from shared.state.model import (
    AgreementState,
    CeasefireState,
    EventItem,
    IssueState,
    Item,
    Position,
    RecentStrikes,
    RoundState,
    StrikeState,
    TalksState,
)
from shared.vocabulary import AGAINST_STANCES, FOR_STANCES, HEDGED_STANCES, Gap, Issue

DEFAULT_WINDOW_DAYS = 30


#: item_keys' answers for the events asked about last, by object (a corrected version of an
#: event is another object with the same id, and may be about another item).
_KEYS: dict[int, tuple[Event, tuple[ItemKey, ItemKey]]] = {}
_KEYS_KEPT = 10_000


def item_keys(event: Event) -> tuple[ItemKey, ItemKey]:
    """The item a substantive event is about, and the event's own item."""
    kept = _KEYS.get(id(event))
    if kept is not None and kept[0] is event:
        return kept[1]
    keys = item_key(event), ItemKey("event", id_text(event.event_id))
    if len(_KEYS) >= _KEYS_KEPT:
        _KEYS.clear()
    _KEYS[id(event)] = (event, keys)
    return keys


def known_by(events: Iterable[Event], known_at: datetime | None) -> list[Event]:
    """The events recorded at or before ``known_at`` (all of them when ``None``)."""
    return [e for e in events if known_at is None or (e.recorded_at and e.recorded_at <= known_at)]


def in_effect(believed: Iterable[Believed], as_of: datetime | None) -> list[Believed]:
    """The events that had certainly happened by ``as_of``: ``latest <= as_of``."""
    return [b for b in believed if as_of is None or b.event.occurrence.latest <= as_of]


def items_of(believed: Iterable[Believed]) -> dict[ItemKey, Item]:
    """Every item the events define, keyed by kind and key."""
    grouped: dict[ItemKey, list[Believed]] = defaultdict(list)
    for b in believed:
        for key in item_keys(b.event):
            grouped[key].append(b)
    items = {key: fold_item(key.kind, group) for key, group in grouped.items()}
    return {key: item for key, item in items.items() if item is not None}


def gap(positions: Sequence[Position]) -> Gap:
    """How far apart the parties are on one issue."""
    stances = {p.stance for p in positions}
    if len({p.party for p in positions}) < 2:
        return Gap.UNKNOWN
    if stances & FOR_STANCES and stances & AGAINST_STANCES:
        return Gap.OPPOSED
    if stances & HEDGED_STANCES:
        return Gap.PARTIAL
    return Gap.ALIGNED


def assemble(
    talks_id: str,
    items: Iterable[Item],
    as_of: datetime | None,
    known_at: datetime | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    event_count: int | None = None,
) -> TalksState:
    """The state from its items; strikes count when they fall in the window up to ``as_of``.

    ``event_count`` may be given when the event items were counted rather than passed.
    """
    rounds: list[RoundState] = []
    positions: dict[str, list[Position]] = defaultdict(list)
    ceasefires: list[CeasefireState] = []
    strikes: list[StrikeState] = []
    agreements: list[AgreementState] = []
    counted = 0
    for item in items:
        match item:
            case RoundState():
                rounds.append(item)
            case Position():
                positions[item.issue].append(item)
            case CeasefireState():
                ceasefires.append(item)
            case StrikeState():
                strikes.append(item)
            case AgreementState():
                agreements.append(item)
            case EventItem():
                counted += 1
    if as_of is not None:
        window_start = as_of - timedelta(days=window_days)
        strikes = [s for s in strikes if s.occurred_latest > window_start]
    strikes.sort(key=lambda s: (s.occurred_latest, s.event_id), reverse=True)
    issue_order = {issue.value: i for i, issue in enumerate(Issue)}
    return TalksState(
        talks_id=talks_id,
        as_of=as_of,
        known_at=known_at,
        rounds=tuple(sorted(rounds, key=_round_order)),
        issues=tuple(
            IssueState(
                issue=issue,
                positions=tuple(sorted(group, key=lambda p: p.party)),
                gap=gap(group).value,
            )
            for issue, group in sorted(positions.items(), key=lambda kv: issue_order[kv[0]])
        ),
        ceasefires=tuple(sorted(ceasefires, key=lambda c: c.ceasefire_id)),
        recent_strikes=RecentStrikes(
            window_days=window_days, count=len(strikes), items=tuple(strikes)
        ),
        agreements=tuple(sorted(agreements, key=lambda a: (a.reached_at, a.agreement_id))),
        event_count=counted if event_count is None else event_count,
    )


def fold(
    talks_id: str,
    events: Iterable[Event],
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> TalksState:
    """The state of the talks as of ``as_of``, as known at ``known_at`` (``None``: everything)."""
    mine = [e for e in events if e.talks_id == talks_id]
    believed = in_effect(believed_events(known_by(mine, known_at)), as_of)
    return assemble(talks_id, items_of(believed).values(), as_of, known_at, window_days)


def _round_order(r: RoundState) -> tuple[object, ...]:
    return (r.planned_start is None, r.planned_start or r.opened_at or "", r.round_id)
