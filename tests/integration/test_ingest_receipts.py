"""The ingest's receipts on both databases: one contract, PostgreSQL and SQLite.

On PostgreSQL a batch's claims and acknowledgements are one statement each (arrays through
``unnest``); on SQLite they are SQLAlchemy's multi-row statements. Both must answer alike.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import create_engine
from services.ingest.publisher import Receipt
from services.ingest.receipts import Claim, SqlReceipts

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


def claims(n: int, recorded_at: datetime) -> list[Claim]:
    return [Claim(uuid.uuid4(), f"{i:064x}", recorded_at) for i in range(n)]


async def test_a_batch_is_claimed_once_and_acknowledged(engine: AsyncEngine) -> None:
    receipts = SqlReceipts(engine)
    first_at = datetime(2026, 2, 4, 9, 0, 0, 123456, tzinfo=UTC)
    batch = claims(1000, first_at)
    assert await receipts.claim(batch) == {}

    # a retry a second later: every claim is the earlier one, none acknowledged yet
    retry = [Claim(c.event_id, c.fingerprint, first_at + timedelta(seconds=1)) for c in batch]
    earlier = await receipts.claim(retry)
    assert earlier == {c.event_id: c for c in batch}
    assert all(type(i) is uuid.UUID for i in earlier)

    acknowledged = {c.event_id: Receipt(i % 6, 10_000_000_000 + i) for i, c in enumerate(batch)}
    await receipts.acknowledge(dict(list(acknowledged.items())[:600]))
    earlier = await receipts.claim(retry)
    assert [earlier[c.event_id].receipt for c in batch[:600]] == list(acknowledged.values())[:600]
    assert all(earlier[c.event_id].receipt is None for c in batch[600:])
    assert all(earlier[c.event_id].recorded_at == first_at for c in batch)


async def test_a_batch_mixing_new_and_known_ids_returns_only_the_known(
    engine: AsyncEngine,
) -> None:
    receipts = SqlReceipts(engine)
    now = datetime.now(UTC)
    known = claims(3, now)
    await receipts.claim(known)
    await receipts.acknowledge({known[0].event_id: Receipt(2, 7)})
    other_body = Claim(known[1].event_id, "f" * 64, now)
    fresh = claims(4, now)

    earlier = await receipts.claim([fresh[0], known[0], fresh[1], other_body, *fresh[2:]])

    assert set(earlier) == {known[0].event_id, known[1].event_id}
    assert earlier[known[0].event_id].receipt == Receipt(2, 7)
    assert earlier[known[1].event_id].fingerprint == known[1].fingerprint  # the first body's
    assert await receipts.claim(fresh) == {c.event_id: c for c in fresh}


async def test_claims_stamped_at_different_times_are_claimed_each_with_its_own(
    engine: AsyncEngine,
) -> None:
    receipts = SqlReceipts(engine)
    first_at = datetime(2026, 2, 4, 9, 0, tzinfo=UTC)
    older, newer = claims(3, first_at), claims(2, first_at + timedelta(minutes=1))
    known = claims(1, first_at - timedelta(days=1))
    await receipts.claim(known)
    mixed = [older[0], newer[0], known[0], older[1], newer[1], older[2]]

    assert await receipts.claim(mixed) == {known[0].event_id: known[0]}
    assert await receipts.claim(mixed) == {c.event_id: c for c in mixed}


async def test_concurrent_claims_of_the_same_ids_leave_one_the_first(
    engine: AsyncEngine,
) -> None:
    """Two requests claiming the same ids at once, in opposite orders: each id is new to
    exactly one of them, the other is answered with that first claim, and neither deadlocks."""
    first, second = SqlReceipts(engine), SqlReceipts(engine)
    now = datetime.now(UTC)
    batch = claims(500, now)
    again = [Claim(c.event_id, c.fingerprint, now + timedelta(seconds=1)) for c in batch]

    answers = await asyncio.gather(first.claim(batch), second.claim(list(reversed(again))))

    for c, a in zip(batch, again, strict=True):
        [earlier] = [answer[c.event_id] for answer in answers if c.event_id in answer]
        assert earlier.recorded_at in (c.recorded_at, a.recorded_at)
