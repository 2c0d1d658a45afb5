"""What clients send and see of push subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.webhooks.filters import SubscriptionFilter
from shared.events import EVENT_TYPES
from shared.events.envelope import HttpUrl


class SubscriptionRequest(BaseModel):
    """``POST /v1/subscriptions``: where to push which events, and the key to sign them with."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[HttpUrl, Field(max_length=2000, description="Absolute http(s) URL.")]
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)
    secret: Annotated[
        str, Field(min_length=16, max_length=200, description="HMAC key; never shown again.")
    ]


class Subscription(BaseModel):
    """A subscription as the API shows it: everything but its secret."""

    id: UUID
    url: str
    filter: SubscriptionFilter
    status: Literal["active", "paused"]
    created_at: datetime
    paused_at: datetime | None = None
    consecutive_failures: int = 0


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]


class Delivery(BaseModel):
    """One event for one subscription: pending until delivered; failed while paused."""

    id: int
    event_id: UUID
    talks_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveriesPage(BaseModel):
    subscription_id: UUID
    items: list[Delivery]
    next_cursor: str | None


class Problem(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{field, message, type}`` with a dotted field path (no input)."""
    out = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        problem: dict[str, Any] = {
            "field": ".".join(str(part) for part in err["loc"]) or "(body)",
            "message": err["msg"],
            "type": err["type"],
        }
        if err["type"] == "literal_error":
            problem["message"] = "not an event type"
            problem["allowed"] = list(EVENT_TYPES)
        out.append(problem)
    return out
