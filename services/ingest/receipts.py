"""Receipts: what the ingest acknowledged, by ``event_id``, so that a retry is answered the same.

A receipt is *claimed* (with the submission's fingerprint and the ``recorded_at`` the event
will carry) before the event is published, and *acknowledged* with its partition and offset
once the broker holds it. A retry finds the claim: the same body gets the original answer, a
different body is a conflict, and a claim never acknowledged (the ingest died in between) is
published again with the same ``recorded_at``, so that a copy on the topic is an exact one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.publisher import Receipt
from services.projector.schema import ingest_receipts


@dataclass(frozen=True, slots=True)
class Claim:
    event_id: UUID
    fingerprint: str
    recorded_at: datetime
    receipt: Receipt | None = None


class ReceiptStore(Protocol):
    """Remembers every claimed ``event_id`` forever."""

    async def claim(self, claims: Sequence[Claim]) -> dict[UUID, Claim]:
        """Record ``claims``; return the earlier claims of any ``event_id`` already known."""
        ...

    async def acknowledge(self, receipts: dict[UUID, Receipt]) -> None: ...

    async def ping(self) -> None: ...


class MemoryReceipts:
    """In-memory receipts, for unit tests and the no-Kafka benchmark reference."""

    def __init__(self) -> None:
        self.claims: dict[UUID, Claim] = {}

    async def claim(self, claims: Sequence[Claim]) -> dict[UUID, Claim]:
        earlier = {c.event_id: self.claims[c.event_id] for c in claims if c.event_id in self.claims}
        for c in claims:
            self.claims.setdefault(c.event_id, c)
        return earlier

    async def acknowledge(self, receipts: dict[UUID, Receipt]) -> None:
        for event_id, receipt in receipts.items():
            claim = self.claims[event_id]
            self.claims[event_id] = Claim(
                claim.event_id, claim.fingerprint, claim.recorded_at, receipt
            )

    async def ping(self) -> None:
        return None


class SqlReceipts:
    """Receipts in the ``ingest_receipts`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, claims: Sequence[Claim]) -> dict[UUID, Claim]:
        if not claims:
            return {}
        now = datetime.now(UTC)
        rows = [
            {
                "event_id": c.event_id,
                "fingerprint": c.fingerprint,
                "recorded_at": c.recorded_at,
                "claimed_at": now,
            }
            for c in claims
        ]
        r = ingest_receipts.c
        async with self._engine.begin() as conn:
            insert = (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(
                ingest_receipts
            )
            created = await conn.execute(
                insert.on_conflict_do_nothing(index_elements=["event_id"]).returning(r.event_id),
                rows,
            )
            fresh = set(created.scalars())
            known = [c.event_id for c in claims if c.event_id not in fresh]
            if not known:
                return {}
            found = await conn.execute(sa.select(ingest_receipts).where(r.event_id.in_(known)))
            return {row.event_id: _claim(row) for row in found}

    async def acknowledge(self, receipts: dict[UUID, Receipt]) -> None:
        if not receipts:
            return
        r = ingest_receipts.c
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(ingest_receipts)
                .where(r.event_id == sa.bindparam("id"))
                .values(partition=sa.bindparam("p"), offset=sa.bindparam("o")),
                [{"id": i, "p": x.partition, "o": x.offset} for i, x in receipts.items()],
            )

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))


def _claim(row: sa.Row) -> Claim:
    receipt = Receipt(row.partition, row.offset) if row.partition is not None else None
    return Claim(row.event_id, row.fingerprint, row.recorded_at, receipt)
