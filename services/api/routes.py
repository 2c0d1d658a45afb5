"""HTTP routes of the API: translate query parameters, call a query, shape the response."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.api.history import changes_between, provenance, reports_recorded, timeline_entries
from services.api.queries import (
    events_page,
    kind_items,
    list_talks,
    strikes_page,
    talks_state_json,
)
from services.api.responses import (
    BeliefChanges,
    DateChanges,
    EventsPage,
    PositionsResponse,
    Provenance,
    RoundsResponse,
    StrikesPage,
    TalksList,
    TalksSummary,
    Timeline,
    Vocabulary,
)
from services.api.timeparams import Bitemporal, bitemporal, parse_time
from services.api.validation import BadParameter, one_of
from shared.events import EVENT_TYPES
from shared.state import DEFAULT_WINDOW_DAYS, Position, RoundState, StrikeState, TalksState
from shared.vocabulary import PARTIES, VOCABULARIES, Issue, TargetType, WeaponType

router = APIRouter(prefix="/v1")

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TalksId = Annotated[str, Path(pattern=SLUG, max_length=64, description="lower-case slug")]
TalksFilter = Annotated[
    str | None, Query(pattern=SLUG, max_length=64, description="only this talks (a slug)")
]
AS_OF = "A date (the end of that day, UTC) or a timestamp with offset; default now."
KNOWN_AT = "As the record stood at this timestamp (or the end of this date); default now."


def when(
    as_of: Annotated[str | None, Query(description=AS_OF)] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
) -> Bitemporal:
    return bitemporal(as_of, known_at)


When = Annotated[Bitemporal, Depends(when)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]


@router.get("/talks", response_model=TalksList, tags=["talks"])
async def get_talks(request: Request) -> TalksList:
    """Every talks id with its event count and last activity, most recent first."""
    rows = await list_talks(request.state.engine)
    return TalksList(talks=[TalksSummary.model_validate(r) for r in rows])


@router.get("/talks/{talks_id}/state", response_model=TalksState, tags=["talks"])
async def get_state(
    request: Request,
    talks_id: TalksId,
    t: When,
    window_days: Annotated[int, Query(ge=1, le=3650)] = DEFAULT_WINDOW_DAYS,
) -> Response:
    """Where the talks stood as of `as_of`, as the record stood at `known_at`.

    Rounds, each party's position per issue with the gap between them, ceasefires with the
    violations alleged, strikes in the `window_days` up to `as_of`, agreements. Every item
    carries the `event_ids` it derives from and its `corroboration` (distinct sources).
    """
    body = await talks_state_json(request.state.state_engine, talks_id, t, window_days)
    return Response(body, media_type="application/json")  # already TalksState's JSON


@router.get("/talks/{talks_id}/rounds", response_model=RoundsResponse, tags=["talks"])
async def get_rounds(request: Request, talks_id: TalksId, t: When) -> RoundsResponse:
    """The rounds of the talks with their status, delegations and assessments."""
    items = await kind_items(request.state.engine, talks_id, t, "round")
    rounds = sorted(
        (i for i in items if isinstance(i, RoundState)),
        key=lambda r: (r.planned_start is None, r.planned_start or r.opened_at or "", r.round_id),
    )
    return RoundsResponse(talks_id=talks_id, as_of=t.as_of, known_at=t.known_at, rounds=rounds)


@router.get("/talks/{talks_id}/positions", response_model=PositionsResponse, tags=["talks"])
async def get_positions(
    request: Request,
    talks_id: TalksId,
    t: When,
    party: str | None = None,
    issue: str | None = None,
) -> PositionsResponse:
    """Each party's current position on each issue; filter by `party` and `issue`."""
    tags = []
    if party:
        tags.append(f"party:{one_of('party', party, PARTIES)}")
    if issue:
        tags.append(f"issue:{one_of('issue', issue, Issue.glossary())}")
    items = await kind_items(request.state.engine, talks_id, t, "position", tags)
    positions = sorted(
        (i for i in items if isinstance(i, Position)), key=lambda p: (p.issue, p.party)
    )
    return PositionsResponse(
        talks_id=talks_id, as_of=t.as_of, known_at=t.known_at, positions=positions
    )


@router.get("/strikes", response_model=StrikesPage, tags=["strikes"])
async def get_strikes(
    request: Request,
    t: When,
    talks_id: TalksFilter = None,
    from_: Annotated[str | None, Query(alias="from", description="Occurred at or after.")] = None,
    to: Annotated[str | None, Query(description="Occurred at or before.")] = None,
    attacking_party: str | None = None,
    target_type: str | None = None,
    weapon_type: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> StrikesPage:
    """Strikes, newest first, paged with `next_cursor`; each item names its `event_id`."""
    tags = []
    if attacking_party:
        tags.append(f"attacking_party:{one_of('attacking_party', attacking_party, PARTIES)}")
    if target_type:
        tags.append(f"target_type:{one_of('target_type', target_type, TargetType.glossary())}")
    if weapon_type:
        tags.append(f"weapon_type:{one_of('weapon_type', weapon_type, WeaponType.glossary())}")
    start = parse_time("from", from_, t.as_of) if from_ else None
    end = parse_time("to", to, t.as_of) if to else None
    items, next_cursor = await strikes_page(
        request.state.engine,
        t,
        talks_id=talks_id,
        occurred_from=start,
        occurred_to=end,
        tags=tags,
        limit=limit,
        cursor=cursor,
    )
    strikes = [i for i in items if isinstance(i, StrikeState)]
    return StrikesPage(as_of=t.as_of, known_at=t.known_at, items=strikes, next_cursor=next_cursor)


@router.get("/events", response_model=EventsPage, tags=["events"])
async def get_events(
    request: Request,
    t: When,
    talks_id: TalksFilter = None,
    type: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> EventsPage:
    """The archive: every event as recorded, in recording order, paged with `next_cursor`."""
    if type:
        one_of("type", type, dict.fromkeys(EVENT_TYPES, ""))
    items, next_cursor = await events_page(
        request.state.engine, t, talks_id=talks_id, type_=type, limit=limit, cursor=cursor
    )
    return EventsPage(as_of=t.as_of, known_at=t.known_at, items=items, next_cursor=next_cursor)


@router.get(
    "/talks/{talks_id}/changes",
    response_model=DateChanges | BeliefChanges,
    response_model_by_alias=True,
    tags=["time"],
)
async def get_changes(
    request: Request,
    talks_id: TalksId,
    from_: Annotated[
        str | None, Query(alias="from", description="First date (end of day).")
    ] = None,
    to: Annotated[str | None, Query(description="Second date (end of day); default now.")] = None,
    as_of: Annotated[str | None, Query(description=AS_OF)] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
    known_from: Annotated[
        str | None, Query(description="Belief diff: what we knew then...")
    ] = None,
    known_to: Annotated[str | None, Query(description="...against what we knew then.")] = None,
) -> DateChanges | BeliefChanges:
    """What changed. Two modes, chosen by the parameters:

    - `from` and `to`: what changed in the state between two dates (as known at `known_at`):
      rounds scheduled, opened or closed; stances that changed; ceasefires started or ended;
      violations alleged; strikes; agreements; each with the events behind it.
    - `known_from` and `known_to`: the belief diff: what we learned between the two times
      about the talks as of `as_of`, with the corrections and retractions recorded meanwhile.
    """
    now = datetime.now(UTC)
    engine = request.state.engine
    if known_from is not None or known_to is not None:
        if from_ is not None or to is not None:
            raise BadParameter("from", "give either from/to or known_from/known_to, not both")
        if known_from is None:
            raise BadParameter("known_from", "the belief diff needs known_from")
        t1, t2 = parse_time("known_from", known_from, now), parse_time("known_to", known_to, now)
        when = parse_time("as_of", as_of, now)
        changes = await changes_between(
            engine, talks_id, Bitemporal(when, t1), Bitemporal(when, t2)
        )
        reports = await reports_recorded(engine, talks_id, t1, t2)
        return BeliefChanges(
            talks_id=talks_id,
            as_of=when,
            known_from=t1,
            known_to=t2,
            changes=changes,
            reports=reports,
        )
    if from_ is None:
        raise BadParameter("from", "give from (and to), or known_from (and known_to)")
    d1, d2 = parse_time("from", from_, now), parse_time("to", to, now)
    t = parse_time("known_at", known_at, now)
    changes = await changes_between(engine, talks_id, Bitemporal(d1, t), Bitemporal(d2, t))
    return DateChanges(talks_id=talks_id, from_=d1, to=d2, known_at=t, changes=changes)


@router.get("/talks/{talks_id}/timeline", response_model=Timeline, tags=["time"])
async def get_timeline(
    request: Request,
    talks_id: TalksId,
    from_: Annotated[
        str | None, Query(alias="from", description="Start (a date or timestamp).")
    ] = None,
    to: Annotated[str | None, Query(description="End (end of day); default now.")] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT)] = None,
) -> Timeline:
    """Every event that occurred between `from` and `to`, in time order, as believed at
    `known_at`, with a caption, its precision and interval: what a timeline needs."""
    now = datetime.now(UTC)
    start = parse_time("from", from_, now) if from_ else None
    when = Bitemporal(parse_time("to", to, now), parse_time("known_at", known_at, now))
    entries = await timeline_entries(request.state.engine, talks_id, when, start)
    return Timeline(
        talks_id=talks_id, from_=start, to=when.as_of, known_at=when.known_at, entries=entries
    )


@router.get("/events/{event_id}", response_model=Provenance, tags=["events"])
async def get_event(request: Request, event_id: UUID) -> Provenance:
    """An event's provenance: as recorded, its corrections, retraction and added sources, and
    what is believed of it now."""
    return Provenance.model_validate(await provenance(request.state.engine, event_id))


@router.get("/vocabularies", response_model=list[Vocabulary], tags=["vocabularies"])
async def get_vocabularies() -> list[Vocabulary]:
    """Every controlled vocabulary with the meaning of each value, and the party codes."""
    listed = [Vocabulary(name=name, values=enum.glossary()) for name, enum in VOCABULARIES.items()]
    return [*listed, Vocabulary(name="party", values=PARTIES)]
