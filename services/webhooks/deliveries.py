"""The port through which delivery lanes read and settle the outbox, and what flows through it.

A *lane* is one subscription's deliveries for one talks. Its rows are sent one at a time in
log order: the head must be delivered (or the subscription paused) before the next is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.webhooks.retries import RetryPolicy, Verdict

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ACTIVE, PAUSED = "active", "paused"

#: (subscription id, talks id)
LaneKey = tuple[UUID, str]


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """The head of a lane with everything needed to send it."""

    id: int
    subscription_id: UUID
    talks_id: str
    event_id: UUID
    event_type: str
    body: bytes
    headers: dict[str, str]
    attempts: int
    next_attempt_at: datetime
    url: str
    secret: str

    @property
    def lane(self) -> LaneKey:
        return (self.subscription_id, self.talks_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: ``ok`` for a 2xx answer."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


class DeliveryStore(Protocol):
    """The outbox as the delivery lanes see it."""

    async def pending_lanes(self) -> set[LaneKey]:
        """Every lane of an active subscription with a pending delivery."""
        ...

    async def next_pending(self, lane: LaneKey) -> DueDelivery | None:
        """The lane's oldest undelivered row if it is pending and its subscription active."""
        ...

    async def claim(self, delivery: DueDelivery, now: datetime, until: datetime) -> bool:
        """Lease the row until ``until`` unless another worker holds it; whether we got it.

        Two workers on one database (replicas, a rolling restart) never send a head at once.
        """
        ...

    async def record_success(self, delivery: DueDelivery, outcome: Outcome, now: datetime) -> None:
        """Mark ``delivery`` delivered, release it, reset the subscription's failure count."""
        ...

    async def record_failure(
        self, delivery: DueDelivery, outcome: Outcome, now: datetime, policy: RetryPolicy
    ) -> Verdict:
        """Count the failure and release; pause the subscription or schedule a retry.

        Pausing marks every attempted but undelivered row of the subscription ``failed``.
        """
        ...
