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
    """
    rounds: list[tuple[Any, str]] = []
    ceasefires: list[tuple[Any, str]] = []
    strikes: list[tuple[Any, str]] = []
    agreements: list[tuple[Any, str]] = []
    positions: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for kind, key, doc, first, second in rows:
        if kind == "round":
            rounds.append(((first is None, first or second or "", key), doc))
        elif kind == "position":
            issue, party = key.split("/", 1)
            positions[issue].append((party, first, doc))
        elif kind == "ceasefire":
            ceasefires.append((key, doc))
        elif kind == "strike":
            strikes.append(((datetime.fromisoformat(first), key), doc))
        elif kind == "agreement":
            agreements.append(((first, key), doc))
    if as_of is not None:
        window_start = as_of - timedelta(days=window_days)
        strikes = [s for s in strikes if s[0][0] > window_start]
    strikes.sort(key=itemgetter(0), reverse=True)
    issues = []
    for issue, group in positions.items():
        group.sort(key=itemgetter(0))
        stated = [(p, s) for p, s, _ in group]
        issues.append((issue, ",".join(d for _, _, d in group), stated))
    return _envelope(
        talks_id,
        as_of,
        known_at,
        window_days,
        {
            "rounds": _sorted(rounds),
            "ceasefires": _sorted(ceasefires),
            "strikes": ",".join(d for _, d in strikes),
            "agreements": _sorted(agreements),
        },
        len(strikes),
        issues,
        event_count,
    )


def _envelope(
    talks_id: str,
    as_of: datetime | None,
    known_at: datetime | None,
    window_days: int,
    joined: dict[str, str],
    strike_count: int,
    issues: list[tuple[str, str, list[tuple[str, str]]]],
    event_count: int,
) -> bytes:
    """TalksState's JSON around the joined item JSON; issues in the vocabulary's order."""
    rendered = []
    for issue, docs, stated in sorted(issues, key=lambda i: _ISSUE_ORDER[i[0]]):
        gap_ = gap(cast(list[Position], [_Stated(p, s) for p, s in stated]))  # all gap() reads
        rendered.append(f'{{"issue":{_str(issue)},"positions":[{docs}],"gap":{_str(gap_.value)}}}')
    document = (
        f'{{"talks_id":{_str(talks_id)},"as_of":{_time(as_of)},"known_at":{_time(known_at)},'
        f'"rounds":[{joined["rounds"]}],"issues":[{",".join(rendered)}],'
        f'"ceasefires":[{joined["ceasefires"]}],'
        f'"recent_strikes":{{"window_days":{int(window_days)},"count":{int(strike_count)},'
        f'"items":[{joined["strikes"]}]}},'
        f'"agreements":[{joined["agreements"]}],"event_count":{int(event_count)}}}'
    )
    return document.encode()


def _str(value: str) -> str:
    return orjson.dumps(value).decode()


def _time(value: datetime | None) -> str:
    return _TIME.dump_json(value).decode()


def _sorted(keyed: list[tuple[Any, str]]) -> str:
    keyed.sort(key=itemgetter(0))
    return ",".join(d for _, d in keyed)
