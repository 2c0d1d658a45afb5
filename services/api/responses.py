"""The API's response models: what clients see (the state items themselves come from shared)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.state import Change, Position, RoundState, StrikeState, TimelineEntry, gap
from shared.vocabulary import Issue


class TalksSummary(BaseModel):
    talks_id: str
    event_count: int
    first_recorded_at: datetime
    last_recorded_at: datetime


class TalksList(BaseModel):
    talks: list[TalksSummary]


class TimeEcho(BaseModel):
    """The times a read used, so that a response can always be reproduced."""

    as_of: datetime
    known_at: datetime


class RoundsResponse(TimeEcho):
    talks_id: str
    rounds: list[RoundState]


class PositionsResponse(TimeEcho):
    talks_id: str
    positions: list[Position]


class StrikesPage(TimeEcho):
    items: list[StrikeState]
    next_cursor: str | None


class EventsPage(TimeEcho):
    items: list[dict[str, Any]]
    next_cursor: str | None


class Vocabulary(BaseModel):
    name: str
    values: dict[str, str]


class Problem(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None


class DateChanges(BaseModel):
    """What changed in the state between two dates, as known at ``known_at``."""

    talks_id: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    known_at: datetime
    changes: list[Change]

    model_config = ConfigDict(populate_by_name=True)


class BeliefChanges(BaseModel):
    """What we learned between ``known_from`` and ``known_to`` about the talks as of ``as_of``."""

    talks_id: str
    as_of: datetime
    known_from: datetime
    known_to: datetime
    changes: list[Change]
    reports: list[dict[str, Any]]


class Timeline(BaseModel):
    talks_id: str
    from_: datetime | None = Field(alias="from", serialization_alias="from")
    to: datetime
    known_at: datetime
    entries: list[TimelineEntry]

    model_config = ConfigDict(populate_by_name=True)


class Provenance(BaseModel):
    event_id: str
    subject_event_id: str
    recorded: dict[str, Any]
    corrections: list[dict[str, Any]]
    retraction: dict[str, Any] | None
    sources_added: list[dict[str, Any]]
    believed: dict[str, Any] | None
    believed_event_ids: list[str] | None


class _Stated(NamedTuple):
    party: str
    stance: str


_TIME = TypeAdapter(datetime | None)
_ISSUE_ORDER = {issue.value: i for i, issue in enumerate(Issue)}


def state_document(
    talks_id: str,
    as_of: datetime | None,
    known_at: datetime | None,
    window_days: int,
    rows: Iterable[Sequence[Any]],
    event_count: int,
) -> bytes:
    """The JSON of :class:`TalksState` from stored item JSON, in the order ``assemble`` gives.

    Each row is ``(kind, item_key, json, first, second)``: the JSON is the item model's own
    (``item_versions.doc``), spliced in as it is, so no item is parsed, validated or
    serialised on the way; the key and two fields stored beside it (``sort_first``,
    ``sort_second``) give the order: a round's ``planned_start`` and ``opened_at``, a
    position's ``stance``, a strike's ``occurred_latest``, an agreement's ``reached_at``.
    ``tests/unit/test_state_document.py`` holds it to the fold, byte for byte.

    The document (hundreds of KB) is joined once, from each item's JSON encoded on its own:
    joining text and then encoding it copied every byte twice more, into fresh large blocks.
    """
    rounds: list[tuple[Any, bytes]] = []
    ceasefires: list[tuple[Any, bytes]] = []
    strikes: list[tuple[Any, bytes]] = []
    agreements: list[tuple[Any, bytes]] = []
    positions: dict[str, list[tuple[str, str, bytes]]] = defaultdict(list)
    for kind, key, doc, first, second in rows:
        if kind == "round":
            rounds.append(((first is None, first or second or "", key), doc.encode()))
        elif kind == "position":
            issue, party = key.split("/", 1)
            positions[issue].append((party, first, doc.encode()))
        elif kind == "ceasefire":
            ceasefires.append((key, doc.encode()))
        elif kind == "strike":
            strikes.append(((datetime.fromisoformat(first), key), doc.encode()))
        elif kind == "agreement":
            agreements.append(((first, key), doc.encode()))
    if as_of is not None:
        window_start = as_of - timedelta(days=window_days)
        strikes = [s for s in strikes if s[0][0] > window_start]
    strikes.sort(key=itemgetter(0), reverse=True)
    out: list[bytes] = [
        b'{"talks_id":%b,"as_of":%b,"known_at":%b,"rounds":['
        % (orjson.dumps(talks_id), _time(as_of), _time(known_at))
    ]
    _join_sorted(out, rounds)
    out.append(b'],"issues":[')
    for i, issue in enumerate(sorted(positions, key=_ISSUE_ORDER.__getitem__)):
        group = positions[issue]
        group.sort(key=itemgetter(0))
        gap_ = gap(cast(list[Position], [_Stated(p, s) for p, s, _ in group]))  # all gap() reads
        out.append(b'%b{"issue":%b,"positions":[' % (b"," if i else b"", orjson.dumps(issue)))
        _join(out, [d for _, _, d in group])
        out.append(b'],"gap":%b}' % orjson.dumps(gap_.value))
    out.append(b'],"ceasefires":[')
    _join_sorted(out, ceasefires)
    out.append(
        b'],"recent_strikes":{"window_days":%d,"count":%d,"items":['
        % (int(window_days), len(strikes))
    )
    _join(out, [d for _, d in strikes])
    out.append(b']},"agreements":[')
    _join_sorted(out, agreements)
    out.append(b'],"event_count":%d}' % int(event_count))
    return b"".join(out)


def _time(value: datetime | None) -> bytes:
    return _TIME.dump_json(value)


def _join(out: list[bytes], docs: list[bytes]) -> None:
    """Append ``docs`` to ``out`` with commas between them."""
    for i, doc in enumerate(docs):
        if i:
            out.append(b",")
        out.append(doc)


def _join_sorted(out: list[bytes], keyed: list[tuple[Any, bytes]]) -> None:
    keyed.sort(key=itemgetter(0))
    _join(out, [d for _, d in keyed])
