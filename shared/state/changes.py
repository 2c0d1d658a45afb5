"""What changed between two views of the talks: two dates, or two moments of knowledge.

``diff(before, after)`` compares the items of two views (as :func:`items_of` returns them, or
as the read models select them) and says, item by item, what happened: a round opened, a
stance changed, a ceasefire ended, a violation was alleged, a strike reported or retracted.
Each change names the events that explain it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.state.items import ItemKey
from shared.state.model import (
    AgreementState,
    CeasefireState,
    Item,
    Position,
    RoundState,
    RoundStatus,
    StrikeState,
)

KIND_ORDER = {"round": 0, "position": 1, "ceasefire": 2, "strike": 3, "agreement": 4}
ROUND_CHANGE = {
    RoundStatus.SCHEDULED: "round.scheduled",
    RoundStatus.POSTPONED: "round.postponed",
    RoundStatus.IN_PROGRESS: "round.opened",
    RoundStatus.CONCLUDED: "round.closed",
    RoundStatus.CANCELLED: "round.cancelled",
}
PROVENANCE = {"event_ids", "corroboration"}


class Change(BaseModel):
    """One thing that is different in the second view."""

    model_config = ConfigDict(frozen=True)

    kind: str
    key: str
    change: str
    details: dict[str, Any]
    event_ids: tuple[str, ...]


def _new_ids(before: Item | None, after: Item | None) -> tuple[str, ...]:
    old = set(before.event_ids) if before else set()
    if after is None:
        return before.event_ids if before else ()
    fresh = tuple(i for i in after.event_ids if i not in old)
    return fresh or after.event_ids


def _changed_fields(before: Item, after: Item) -> list[str]:
    a, b = before.model_dump(exclude=PROVENANCE), after.model_dump(exclude=PROVENANCE)
    return sorted(k for k in b if a.get(k) != b.get(k))


def _round(key: str, before: RoundState | None, after: RoundState | None) -> list[Change]:
    ids = _new_ids(before, after)
    if after is None:
        return [Change(kind="round", key=key, change="round.removed", details={}, event_ids=ids)]
    if before is None or before.status != after.status:
        details = {"round_id": after.round_id, "before": before and before.status.value}
        details["after"] = after.status.value
        return [
            Change(
                kind="round",
                key=key,
                change=ROUND_CHANGE[after.status],
                details=details,
                event_ids=ids,
            )
        ]
    updated = {"round_id": after.round_id, "fields": _changed_fields(before, after)}
    return [Change(kind="round", key=key, change="round.updated", details=updated, event_ids=ids)]


def _position(key: str, before: Position | None, after: Position | None) -> list[Change]:
    now = after or before
    assert now is not None
    details = {
        "party": now.party,
        "issue": now.issue,
        "before": before and before.stance,
        "after": after and after.stance,
        "proposition": now.proposition,
    }
    change = (
        "position.withdrawn"
        if after is None
        else "position.stated"
        if before is None
        else "position.changed"
    )
    return [
        Change(
            kind="position",
            key=key,
            change=change,
            details=details,
            event_ids=_new_ids(before, after),
        )
    ]


def _ceasefire(
    key: str, before: CeasefireState | None, after: CeasefireState | None
) -> list[Change]:
    if after is None:
        return [
            Change(
                kind="ceasefire",
                key=key,
                change="ceasefire.removed",
                details={},
                event_ids=_new_ids(before, None),
            )
        ]
    changes = []
    if before is None:
        details = {
            "ceasefire_id": after.ceasefire_id,
            "scope": after.scope,
            "parties": list(after.parties),
        }
        ids = tuple(
            i for i in after.event_ids if i not in {v.event_id for v in after.violations_alleged}
        )
        changes.append(
            Change(
                kind="ceasefire",
                key=key,
                change="ceasefire.started",
                details=details,
                event_ids=ids or after.event_ids,
            )
        )
    if after.status.value == "ended" and (before is None or before.status.value != "ended"):
        details = {
            "ceasefire_id": after.ceasefire_id,
            "reason": after.ended_reason,
            "by_party": after.ended_by,
        }
        changes.append(
            Change(
                kind="ceasefire",
                key=key,
                change="ceasefire.ended",
                details=details,
                event_ids=_new_ids(before, after),
            )
        )
    known = {v.event_id for v in before.violations_alleged} if before else set()
    for v in after.violations_alleged:
        if v.event_id not in known:
            details = {
                "ceasefire_id": after.ceasefire_id,
                "alleging_party": v.alleging_party,
                "accused_party": v.accused_party,
                "incident_event_ids": list(v.incident_event_ids),
            }
            changes.append(
                Change(
                    kind="ceasefire",
                    key=key,
                    change="ceasefire.violation_alleged",
                    details=details,
                    event_ids=(v.event_id,),
                )
            )
    if not changes and before is not None and before != after:
        details = {"ceasefire_id": after.ceasefire_id, "fields": _changed_fields(before, after)}
        changes.append(
            Change(
                kind="ceasefire",
                key=key,
                change="ceasefire.updated",
                details=details,
                event_ids=_new_ids(before, after),
            )
        )
    return changes


def _strike(key: str, before: StrikeState | None, after: StrikeState | None) -> list[Change]:
    now = after or before
    assert now is not None
    details: dict[str, Any] = {
        "occurred_at": now.occurred_at,
        "attacking_party": now.attacking_party,
        "target_party": now.target_party,
        "target_types": list(now.target_types),
        "weapon_types": list(now.weapon_types),
    }
    if after is None:
        change = "strike.removed"
    elif before is None:
        change = "strike.reported"
    else:
        change = "strike.updated"
        details["fields"] = _changed_fields(before, after)
    return [
        Change(
            kind="strike",
            key=key,
            change=change,
            details=details,
            event_ids=_new_ids(before, after),
        )
    ]


def _agreement(
    key: str, before: AgreementState | None, after: AgreementState | None
) -> list[Change]:
    now = after or before
    assert now is not None
    change = (
        "agreement.removed"
        if after is None
        else "agreement.reached"
        if before is None
        else "agreement.updated"
    )
    details = {"agreement_id": now.agreement_id, "title": now.title, "stage": now.stage}
    return [
        Change(
            kind="agreement",
            key=key,
            change=change,
            details=details,
            event_ids=_new_ids(before, after),
        )
    ]


DIFFS = {
    "round": _round,
    "position": _position,
    "ceasefire": _ceasefire,
    "strike": _strike,
    "agreement": _agreement,
}


def diff(before: Mapping[ItemKey, Item], after: Mapping[ItemKey, Item]) -> list[Change]:
    """Every change from ``before`` to ``after``, rounds first, then positions, and so on."""
    changes: list[Change] = []
    for key in sorted(set(before) | set(after), key=lambda k: (KIND_ORDER.get(k.kind, 9), k.key)):
        if key.kind not in DIFFS:
            continue
        old, new = before.get(key), after.get(key)
        if old != new:
            changes += DIFFS[key.kind](key.key, old, new)  # type: ignore[operator]
    return changes
