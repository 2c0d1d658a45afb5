"""Read-side queries over the projector's tables, returning the API's response models."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.responses import RoundView, TalksStateView
from services.projector.schema import rounds, talks


class TalksNotFound(LookupError):
    """No event of these talks has been projected."""


async def talks_state(engine: AsyncEngine, talks_id: str) -> TalksStateView:
    """The current state of ``talks_id`` as the read models hold it."""
    async with engine.connect() as conn:
        summary = (
            await conn.execute(sa.select(talks).where(talks.c.talks_id == talks_id))
        ).one_or_none()
        if summary is None:
            raise TalksNotFound(talks_id)
        rows = await conn.execute(
            sa.select(rounds)
            .where(rounds.c.talks_id == talks_id)
            .order_by(rounds.c.planned_start_on.nulls_last(), rounds.c.round_id)
        )
        return TalksStateView(
            talks_id=talks_id,
            event_count=summary.event_count,
            last_recorded_at=summary.last_recorded_at,
            rounds=[RoundView.model_validate(dict(row._mapping)) for row in rows],
        )
