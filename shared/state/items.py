"""State items: which item each event is about, and the fold of one item's events.

Every substantive event concerns exactly one item of the talks (a round, a party's position
on an issue, a ceasefire, a strike, an agreement), and is an item of kind ``event`` itself.
An item's value depends only on its own events, folded in folding order; this is what lets
the read models keep every item's history apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from shared.events import (
    AgreementReached,
    CeasefireAgreed,
    CeasefireEnded,
    CeasefireViolationAlleged,
    DelegationNamed,
    Event,
    PositionStated,
    RoundAssessed,
    RoundClosed,
    RoundOpened,
    RoundPostponed,
    RoundScheduled,
    StrikeReported,
)
from shared.state.knowledge import Believed, id_text
from shared.state.model import (
    AgreementState,
    CeasefireState,
    CeasefireStatus,
    Delegation,
    EventItem,
    Item,
    Position,
    RoundAssessment,
    RoundState,
    RoundStatus,
    StrikeState,
    ViolationAllegation,
)
from shared.vocabulary import Stance


class ItemKey(NamedTuple):
    kind: str
    key: str


ROUND_EVENTS = (
    RoundScheduled,
    RoundPostponed,
    RoundOpened,
    DelegationNamed,
    RoundClosed,
    RoundAssessed,
)
CEASEFIRE_EVENTS = (CeasefireAgreed, CeasefireViolationAlleged, CeasefireEnded)


#: Kinds of item keyed by the id of the one event they are about: a strike, and every
#: event's own item. No other event is ever about them (a correction keeps the event's id).
OWN_ITEM_KINDS = frozenset({"strike", "event"})


def item_key(event: Event) -> ItemKey:
    """The item a substantive event is about."""
    match event:
        case _ if isinstance(event, ROUND_EVENTS):
            return ItemKey("round", event.data.round_id)
        case PositionStated(data=d):
            return ItemKey("position", f"{d.issue.value}/{d.party}")
        case _ if isinstance(event, CEASEFIRE_EVENTS):
            return ItemKey("ceasefire", event.data.ceasefire_id)
        case StrikeReported():
            return ItemKey("strike", id_text(event.event_id))
        case AgreementReached(data=d):
            return ItemKey("agreement", d.agreement_id)
    raise ValueError(f"{event.type} is not about an item of the talks")


def folding_order(believed: Believed) -> tuple[object, ...]:
    """Events are folded by when they happened, then when they were recorded, then id."""
    return believed.order


def corroboration(believed: Sequence[Believed]) -> int:
    """The number of distinct sources (by URL) behind these events."""
    return len({source.url for b in believed for source in b.event.sources})


def _provenance(believed: Sequence[Believed]) -> dict[str, object]:
    ids = tuple(dict.fromkeys(i for b in believed for i in b.event_ids))
    return {"event_ids": ids, "corroboration": corroboration(believed)}


def fold_round(believed: Sequence[Believed]) -> RoundState | None:
    state: dict = {"status": RoundStatus.SCHEDULED}
    delegations: dict[str, Delegation] = {}
    assessments: dict[str, RoundAssessment] = {}
    for b in believed:
        event, eid = b.event, b.event_ids[0]
        d = event.data
        state["round_id"] = d.round_id
        match event:
            case RoundScheduled():
                state.update(venue=d.venue.model_dump(), planned_start=d.planned_start)
                state.update(planned_end=d.planned_end, format=d.format and d.format.value)
                state.update(
                    {k: tuple(getattr(d, k)) for k in ("parties", "mediators") if getattr(d, k)}
                )
                if state["status"] in (RoundStatus.POSTPONED, RoundStatus.CANCELLED):
                    state["status"] = RoundStatus.SCHEDULED
            case RoundPostponed():
                cancelled = d.cancelled
                state["status"] = RoundStatus.CANCELLED if cancelled else RoundStatus.POSTPONED
                state["postponement_reason"] = d.reason
                if d.new_planned_start:
                    state.update(planned_start=d.new_planned_start, planned_end=d.new_planned_end)
            case RoundOpened():
                state.update(status=RoundStatus.IN_PROGRESS, opened_at=_text(event))
                if d.venue:
                    state["venue"] = d.venue.model_dump()
                state.update(
                    {k: tuple(getattr(d, k)) for k in ("parties", "mediators") if getattr(d, k)}
                )
            case DelegationNamed():
                delegations[d.party] = Delegation(
                    party=d.party,
                    head=d.head.model_dump(exclude_none=True),
                    members=tuple(m.model_dump(exclude_none=True) for m in d.members),
                    level=d.level and d.level.value,
                    event_id=eid,
                )
            case RoundClosed():
                state.update(status=RoundStatus.CONCLUDED, closed_at=_text(event))
                state.update(
                    outcome=d.outcome.value, summary=d.summary, next_round_id=d.next_round_id
                )
            case RoundAssessed():
                assessments[d.party] = RoundAssessment(
                    party=d.party,
                    assessment=d.assessment.value,
                    quote=d.quote,
                    speaker=d.speaker and d.speaker.model_dump(exclude_none=True),
                    event_id=eid,
                )
    if "round_id" not in state:
        return None
    return RoundState(
        **state,
        delegations=tuple(delegations.values()),
        assessments=tuple(assessments.values()),
        **_provenance(believed),
    )


def fold_position(believed: Sequence[Believed]) -> Position | None:
    """A party's position on an issue is its latest statement; ``withdraws`` leaves none."""
    if not believed:
        return None
    latest = believed[-1]
    d = latest.event.data
    if d.stance is Stance.WITHDRAWS:
        return None
    return Position(
        party=d.party,
        issue=d.issue.value,
        stance=d.stance.value,
        proposition=d.proposition,
        conditionality=d.conditionality and d.conditionality.value,
        speaker=d.speaker and d.speaker.model_dump(exclude_none=True),
        quote=d.quote,
        stated_at=_text(latest.event),
        event_id=str(latest.event.event_id),
        **_provenance([latest]),
    )


def fold_ceasefire(believed: Sequence[Believed]) -> CeasefireState | None:
    state: dict = {"status": CeasefireStatus.IN_FORCE}
    allegations: list[ViolationAllegation] = []
    for b in believed:
        event, d = b.event, b.event.data
        state["ceasefire_id"] = d.ceasefire_id
        match event:
            case CeasefireAgreed():
                state.update(scope=d.scope.value, parties=tuple(d.parties))
                state.update(start_at=d.start_at, end_at=d.end_at, status=CeasefireStatus.IN_FORCE)
            case CeasefireViolationAlleged():
                allegations.append(
                    ViolationAllegation(
                        alleging_party=d.alleging_party,
                        accused_party=d.accused_party,
                        alleged_at=_text(event),
                        incident_event_ids=tuple(str(i) for i in d.incident_event_ids),
                        description=d.description,
                        event_id=str(event.event_id),
                    )
                )
            case CeasefireEnded():
                state.update(status=CeasefireStatus.ENDED, ended_reason=d.reason.value)
                state["ended_by"] = d.by_party
    if "ceasefire_id" not in state:
        return None
    return CeasefireState(**state, violations_alleged=tuple(allegations), **_provenance(believed))


def fold_strike(believed: Sequence[Believed]) -> StrikeState | None:
    if not believed:
        return None
    event = believed[-1].event
    fields = event.data.model_dump(mode="json", exclude_none=True)
    return StrikeState(
        event_id=id_text(event.event_id),
        occurred_at=_text(event),
        occurred_latest=event.occurrence.latest,
        **fields,
        **_provenance(believed),
    )


def fold_agreement(believed: Sequence[Believed]) -> AgreementState | None:
    if not believed:
        return None
    event = believed[-1].event
    fields = event.data.model_dump(mode="json", exclude_none=True)
    fields.pop("agreement_id")
    return AgreementState(
        agreement_id=event.data.agreement_id,
        reached_at=_text(event),
        **fields,
        **_provenance(believed),
    )


def fold_event(believed: Sequence[Believed]) -> EventItem | None:
    if not believed:
        return None
    b = believed[-1]
    document = b.event.model_dump(mode="json", exclude_none=True)
    return EventItem.model_construct(  # every field is already of its type: no validation
        event_id=document["event_id"],
        type=b.event.type,
        occurred_at=document["occurred_at"],
        event=document,
        event_ids=b.event_ids,
        corroboration=corroboration([b]),
    )


FOLDS: dict[str, Callable[[Sequence[Believed]], Item | None]] = {
    "round": fold_round,
    "position": fold_position,
    "ceasefire": fold_ceasefire,
    "strike": fold_strike,
    "agreement": fold_agreement,
    "event": fold_event,
}


def fold_item(kind: str, believed: Sequence[Believed]) -> Item | None:
    """The value of one item from its events (``None``: the item does not exist)."""
    return FOLDS[kind](sorted(believed, key=folding_order))


def _text(event: Event) -> str:
    when = event.occurred_at
    return when if isinstance(when, str) else f"{when.earliest}/{when.latest}"
