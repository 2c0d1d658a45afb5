"""The state of the talks and the pure fold that defines it (no I/O)."""

from shared.state.changes import Change, diff
from shared.state.fold import DEFAULT_WINDOW_DAYS, assemble, fold, gap, item_keys, items_of
from shared.state.history import (
    ItemState,
    ItemVersion,
    Step,
    advance,
    family_keys,
    histories,
    history_and_state,
    item_history,
)
from shared.state.items import OWN_ITEM_KINDS, ItemKey, item_key
from shared.state.knowledge import Believed, believed_events, merge_patch
from shared.state.model import (
    AgreementState,
    CeasefireState,
    CeasefireStatus,
    EventItem,
    IssueState,
    Item,
    Position,
    RoundState,
    RoundStatus,
    StrikeState,
    TalksState,
)
from shared.state.timeline import TimelineEntry, timeline

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "OWN_ITEM_KINDS",
    "AgreementState",
    "Believed",
    "CeasefireState",
    "CeasefireStatus",
    "Change",
    "EventItem",
    "IssueState",
    "Item",
    "ItemKey",
    "ItemState",
    "ItemVersion",
    "Position",
    "RoundState",
    "RoundStatus",
    "Step",
    "StrikeState",
    "TalksState",
    "TimelineEntry",
    "advance",
    "assemble",
    "believed_events",
    "diff",
    "family_keys",
    "fold",
    "gap",
    "histories",
    "history_and_state",
    "item_history",
    "item_key",
    "item_keys",
    "items_of",
    "merge_patch",
    "timeline",
]
