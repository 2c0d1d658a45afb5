"""The delivery store on the database: lanes read the outbox and settle attempts here."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.schema import subscriptions, webhook_deliveries
from services.webhooks.deliveries import (
    ACTIVE,
    DELIVERED,
    FAILED,
    PAUSED,
    PENDING,
    DueDelivery,
    LaneKey,
    Outcome,
)
from services.webhooks.retries import RetryPolicy, Verdict

_d, _s = webhook_deliveries.c, subscriptions.c
_JOINED = webhook_deliveries.join(subscriptions, _d.subscription_id == _s.id)


class SqlDeliveryStore:
    """:class:`~services.webhooks.deliveries.DeliveryStore` on ``webhook_deliveries``.

    Only the subscriptions of ``topic`` are this worker's.
    """

    def __init__(self, engine: AsyncEngine, topic: str) -> None:
        self._engine = engine
        self._topic = topic

    async def pending_lanes(self) -> set[LaneKey]:
        query = (
            sa.select(_d.subscription_id, _d.talks_id)
            .select_from(_JOINED)
            .where(_d.status == PENDING, _s.status == ACTIVE, _s.topic == self._topic)
            .distinct()
        )
        async with self._engine.connect() as conn:
            return {(row.subscription_id, row.talks_id) for row in await conn.execute(query)}

    async def next_pending(self, lane: LaneKey) -> DueDelivery | None:
        subscription_id, talks_id = lane
        query = (
            sa.select(
                _d.id,
                _d.subscription_id,
                _d.talks_id,
                _d.event_id,
                _d.event_type,
                _d.body,
                _d.headers,
                _d.attempts,
                _d.next_attempt_at,
                _d.status,
                _s.url,
                _s.secret,
                _s.status.label("subscription_status"),
            )
            .select_from(_JOINED)
            .where(_d.subscription_id == subscription_id, _d.talks_id == talks_id)
            .where(_d.status != DELIVERED, _s.topic == self._topic)
            .order_by(_d.partition, _d.offset)
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None or row.status != PENDING or row.subscription_status != ACTIVE:
            return None
        return DueDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            talks_id=row.talks_id,
            event_id=row.event_id,
            event_type=row.event_type,
            body=bytes(row.body),
            headers=dict(row.headers),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            url=row.url,
            secret=row.secret,
        )

    async def claim(self, delivery: DueDelivery, now: datetime, until: datetime) -> bool:
        async with self._engine.begin() as conn:
            claimed = await conn.execute(
                sa.update(webhook_deliveries)
                .where(_d.id == delivery.id, _d.status == PENDING)
                .where(sa.or_(_d.leased_until.is_(None), _d.leased_until <= now))
                .values(leased_until=until)
            )
            return claimed.rowcount == 1

    async def record_success(self, delivery: DueDelivery, outcome: Outcome, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(webhook_deliveries)
                .where(_d.id == delivery.id, _d.status == PENDING)
                .values(
                    status=DELIVERED,
                    attempts=_d.attempts + 1,
                    failures=0,
                    last_status_code=outcome.status_code,
                    last_error=None,
                    last_attempt_at=now,
                    delivered_at=now,
                    leased_until=None,
                )
            )
            await conn.execute(
                sa.update(subscriptions)
                .where(_s.id == delivery.subscription_id)
                .values(consecutive_failures=0)
            )

    async def record_failure(
        self, delivery: DueDelivery, outcome: Outcome, now: datetime, policy: RetryPolicy
    ) -> Verdict:
        async with self._engine.begin() as conn:
            subscription_failures = await conn.scalar(
                sa.update(subscriptions)
                .where(_s.id == delivery.subscription_id)
                .values(consecutive_failures=_s.consecutive_failures + 1)
                .returning(_s.consecutive_failures)
            )
            delivery_failures = await conn.scalar(
                sa.update(webhook_deliveries)
                .where(_d.id == delivery.id, _d.status == PENDING)
                .values(
                    attempts=_d.attempts + 1,
                    failures=_d.failures + 1,
                    last_status_code=outcome.status_code,
                    last_error=outcome.error,
                    last_attempt_at=now,
                    leased_until=None,
                )
                .returning(_d.failures)
            )
            if subscription_failures is None or delivery_failures is None:
                return Verdict(paused=False, retry_at=now)  # deleted meanwhile: nothing to do
            verdict = policy.after_failure(subscription_failures, delivery_failures, now)
            if verdict.paused:
                await conn.execute(
                    sa.update(subscriptions)
                    .where(_s.id == delivery.subscription_id, _s.status == ACTIVE)
                    .values(status=PAUSED, paused_at=now)
                )
                await conn.execute(
                    sa.update(webhook_deliveries)
                    .where(_d.subscription_id == delivery.subscription_id)
                    .where(_d.status == PENDING, _d.failures > 0)
                    .values(status=FAILED)
                )
            else:
                await conn.execute(
                    sa.update(webhook_deliveries)
                    .where(_d.id == delivery.id)
                    .values(next_attempt_at=verdict.retry_at)
                )
            return verdict
