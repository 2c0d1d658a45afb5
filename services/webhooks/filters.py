"""Which events a subscription wants: its filter, and the rule that applies it.

Pure: the API validates filters with :class:`SubscriptionFilter`, the worker applies
:func:`wanted` to every record it consumes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EVENT_TYPES
from shared.vocabulary import Slug

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class SubscriptionFilter(BaseModel):
    """Events of one talks (``talks_id``) and/or of some types (``types``); absent: all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    talks_id: Annotated[Slug, Field(max_length=64)] | None = None
    types: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))] | None = (
        None
    )

    def matches(self, talks_id: str, event_type: str) -> bool:
        """Whether an event of ``talks_id`` and ``event_type`` passes this filter."""
        if self.talks_id is not None and talks_id != self.talks_id:
            return False
        return self.types is None or event_type in self.types


def wanted(
    filter_: SubscriptionFilter,
    subscribed_at: datetime,
    *,
    talks_id: str,
    event_type: str,
    recorded_at: datetime,
) -> bool:
    """Whether a subscription created at ``subscribed_at`` is sent this event.

    A subscription receives the matching events recorded from its creation on, never the
    history before it (however late the worker consumes them).
    """
    return recorded_at >= subscribed_at and filter_.matches(talks_id, event_type)
