"""Which tables the projection writes: the live read models, or their shadows during a rebuild.

The projection code names its tables through a :class:`Tables` value, so the same code that
keeps the live read models up to date can build a second copy from the start of the log
(``parley projections rebuild``) while the first keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from services.projector.schema import event_counts, events, item_events, item_versions, talks


@dataclass(frozen=True, slots=True)
class Tables:
    """The read-model tables a projection writes."""

    events: sa.Table
    item_events: sa.Table
    item_versions: sa.Table
    talks: sa.Table
    event_counts: sa.Table

    def all(self) -> tuple[sa.Table, ...]:
        return (self.events, self.item_events, self.item_versions, self.talks, self.event_counts)

    def suffixed(self, suffix: str) -> Tables:
        """The same tables under ``<name><suffix>``, with the same columns (for DML only)."""
        shadow = sa.MetaData()
        return Tables(*(t.to_metadata(shadow, name=f"{t.name}{suffix}") for t in self.all()))


#: The tables the API reads.
LIVE = Tables(events, item_events, item_versions, talks, event_counts)
#: Where a rebuild writes until it switches them with the live ones.
REBUILD_SUFFIX = "__rebuild"
SHADOW = LIVE.suffixed(REBUILD_SUFFIX)
