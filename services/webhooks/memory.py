"""The delivery store in memory: the same rules as the database's, for fast tests of lanes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

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

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class MemorySubscription:
    url: str
    secret: str
    status: str = ACTIVE
    consecutive_failures: int = 0


@dataclass
class MemoryRow:
    delivery: DueDelivery
    status: str = PENDING
    failures: int = 0
    last_error: str | None = None


@dataclass
class InMemoryDeliveryStore:
    """:class:`~services.webhooks.deliveries.DeliveryStore` over dicts; rows in log order."""

    subscriptions: dict[UUID, MemorySubscription] = field(default_factory=dict)
    rows: list[MemoryRow] = field(default_factory=list)
    leases: dict[int, datetime] = field(default_factory=dict)

    def add(self, subscription_id: UUID, talks_id: str, event_id: UUID) -> None:
        """Append a pending delivery, as the consumer would after the log's next record."""
        sub = self.subscriptions[subscription_id]
        delivery = DueDelivery(
            id=len(self.rows) + 1,
            subscription_id=subscription_id,
            talks_id=talks_id,
            event_id=event_id,
            event_type="round.opened",
            body=b"{}",
            headers={},
            attempts=0,
            next_attempt_at=EPOCH,
            url=sub.url,
            secret=sub.secret,
        )
        self.rows.append(MemoryRow(delivery))

    def resume(self, subscription_id: UUID) -> None:
        """What ``POST /v1/subscriptions/{id}/resume`` does."""
        self.subscriptions[subscription_id] = dataclasses.replace(
            self.subscriptions[subscription_id], status=ACTIVE, consecutive_failures=0
        )
        for row in self._of(subscription_id):
            if row.status == FAILED:
                row.status, row.failures = PENDING, 0
                row.delivery = dataclasses.replace(row.delivery, next_attempt_at=EPOCH)

    def _of(self, subscription_id: UUID) -> list[MemoryRow]:
        return [r for r in self.rows if r.delivery.subscription_id == subscription_id]

    def _row(self, delivery: DueDelivery) -> MemoryRow:
        return next(r for r in self.rows if r.delivery.id == delivery.id)

    async def pending_lanes(self) -> set[LaneKey]:
        return {
            r.delivery.lane
            for r in self.rows
            if r.status == PENDING
            and self.subscriptions[r.delivery.subscription_id].status == ACTIVE
        }

    async def next_pending(self, lane: LaneKey) -> DueDelivery | None:
        head = next(
            (r for r in self.rows if r.delivery.lane == lane and r.status != DELIVERED), None
        )
        if head is None or head.status != PENDING:
            return None
        if self.subscriptions[lane[0]].status != ACTIVE:
            return None
        return head.delivery

    async def claim(self, delivery: DueDelivery, now: datetime, until: datetime) -> bool:
        if self._row(delivery).status != PENDING or self.leases.get(delivery.id, now) > now:
            return False
        self.leases[delivery.id] = until
        return True

    async def record_success(self, delivery: DueDelivery, outcome: Outcome, now: datetime) -> None:
        row = self._row(delivery)
        self.leases.pop(delivery.id, None)
        row.status, row.failures, row.last_error = DELIVERED, 0, None
        row.delivery = dataclasses.replace(delivery, attempts=delivery.attempts + 1)
        self.subscriptions[delivery.subscription_id].consecutive_failures = 0

    async def record_failure(
        self, delivery: DueDelivery, outcome: Outcome, now: datetime, policy: RetryPolicy
    ) -> Verdict:
        sub = self.subscriptions[delivery.subscription_id]
        row = self._row(delivery)
        self.leases.pop(delivery.id, None)
        sub.consecutive_failures += 1
        row.failures += 1
        row.last_error = outcome.error or f"HTTP {outcome.status_code}"
        verdict = policy.after_failure(sub.consecutive_failures, row.failures, now)
        row.delivery = dataclasses.replace(
            delivery, attempts=delivery.attempts + 1, next_attempt_at=verdict.retry_at or now
        )
        if verdict.paused:
            sub.status = PAUSED
            for other in self._of(delivery.subscription_id):
                if other.status == PENDING and other.failures > 0:
                    other.status = FAILED
        return verdict
