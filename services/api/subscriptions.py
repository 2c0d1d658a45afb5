"""Push subscriptions and their delivery log in the database (the API writes these rows).

The webhook worker reads subscriptions, queues and settles deliveries; the API registers,
lists, deletes and resumes subscriptions and pages through the log. A subscription belongs to
the topic it was registered on: the API sees only those of its own ``topic``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.api.queries import BadCursor, decode_cursor, encode_cursor
from services.projector.schema import subscriptions, webhook_deliveries

_s, _d = subscriptions.c, webhook_deliveries.c
#: What a client may see of a subscription: not its secret.
PUBLIC = [c for c in subscriptions.c if c.name not in ("secret", "topic")]
LOGGED = [
    _d.id,
    _d.event_id,
    _d.talks_id,
    _d.event_type,
    _d.status,
    _d.attempts,
    _d.last_status_code,
    _d.last_error,
    _d.created_at,
    _d.last_attempt_at,
    _d.next_attempt_at,
    _d.delivered_at,
]


class SubscriptionNotFound(LookupError):
    """No subscription has this id (or it was deleted)."""


async def create_subscription(
    engine: AsyncEngine,
    topic: str,
    *,
    url: str,
    filter_: dict[str, Any],
    secret: str,
    now: datetime,
) -> dict[str, Any]:
    """Register an active subscription; it receives the events recorded from ``now`` on."""
    row = {
        "id": uuid.uuid4(),
        "topic": topic,
        "url": url,
        "filter": filter_,
        "secret": secret,
        "status": "active",
        "consecutive_failures": 0,
        "created_at": now,
        "paused_at": None,
    }
    async with engine.begin() as conn:
        await conn.execute(sa.insert(subscriptions), row)
    return {k: v for k, v in row.items() if k not in ("secret", "topic")}


async def list_subscriptions(engine: AsyncEngine, topic: str) -> list[dict[str, Any]]:
    """Every subscription, oldest first."""
    query = sa.select(*PUBLIC).where(_s.topic == topic).order_by(_s.created_at, _s.id)
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def _require(conn: AsyncConnection, topic: str, subscription_id: UUID) -> dict[str, Any]:
    query = sa.select(*PUBLIC).where(_s.id == subscription_id, _s.topic == topic)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise SubscriptionNotFound(str(subscription_id))
    return dict(row._mapping)


async def get_subscription(
    engine: AsyncEngine, topic: str, subscription_id: UUID
) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await _require(conn, topic, subscription_id)


async def delete_subscription(engine: AsyncEngine, topic: str, subscription_id: UUID) -> None:
    """Delete the subscription and its delivery log; nothing more is sent to it."""
    async with engine.begin() as conn:
        await _require(conn, topic, subscription_id)
        # the worker reads subscriptions FOR KEY SHARE while it queues rows: this waits for it,
        # and the cascade takes whatever it queued
        await conn.execute(sa.delete(subscriptions).where(_s.id == subscription_id))


async def resume_subscription(
    engine: AsyncEngine, topic: str, subscription_id: UUID, now: datetime
) -> dict[str, Any]:
    """Make the subscription active again; its failed deliveries are retried first, at once."""
    async with engine.begin() as conn:
        await _require(conn, topic, subscription_id)
        await conn.execute(
            sa.update(subscriptions)
            .where(_s.id == subscription_id)
            .values(status="active", paused_at=None, consecutive_failures=0)
        )
        await conn.execute(
            sa.update(webhook_deliveries)
            .where(_d.subscription_id == subscription_id, _d.status == "failed")
            .values(status="pending", failures=0, next_attempt_at=now)
        )
        return await _require(conn, topic, subscription_id)


async def deliveries_page(
    engine: AsyncEngine,
    topic: str,
    subscription_id: UUID,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The subscription's deliveries, newest first, keyset-paged by id."""
    query = sa.select(*LOGGED).where(_d.subscription_id == subscription_id)
    if status:
        query = query.where(_d.status == status)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if not isinstance(before, int):
            raise BadCursor("cursor is not one this API handed out; start again without it")
        query = query.where(_d.id < before)
    async with engine.connect() as conn:
        await _require(conn, topic, subscription_id)
        rows = (await conn.execute(query.order_by(_d.id.desc()).limit(limit + 1))).all()
    page = [dict(row._mapping) for row in rows[:limit]]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > limit else None
    return page, next_cursor
