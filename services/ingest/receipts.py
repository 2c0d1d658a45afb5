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
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.publisher import Receipt
from services.projector import dialect
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


#: PostgreSQL: the claims of a batch that share a ``recorded_at`` in one statement, their
#: columns as arrays, in the order of their ids, so that two batches claiming some of the same
#: ids at once wait for each other instead of deadlocking. Usually every id is new: a plain
#: insert, the cheapest (``ON CONFLICT`` inserts speculatively: about 7.3 us of the server's
#: CPU per row instead of 5.2), and nothing comes back.
_CLAIM_NEW = """
INSERT INTO ingest_receipts (event_id, fingerprint, recorded_at, claimed_at)
SELECT c.event_id, c.fingerprint, $3, $4
FROM unnest($1::uuid[], $2::varchar[]) AS c(event_id, fingerprint)
ORDER BY c.event_id
"""
#: When an id is known (a retry, or a concurrent claim), the plain insert fails whole and
#: this one claims the rest; it answers only the ids it did not insert. A data-modifying
#: CTE's rows are invisible to the rest of the statement, so the ids are set against what it
#: returns.
_CLAIM = """
WITH c AS (
    SELECT * FROM unnest($1::uuid[], $2::varchar[]) AS c(event_id, fingerprint)
), fresh AS (
    INSERT INTO ingest_receipts (event_id, fingerprint, recorded_at, claimed_at)
    SELECT c.event_id, c.fingerprint, $3, $4 FROM c ORDER BY c.event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
SELECT c.event_id FROM c WHERE c.event_id NOT IN (SELECT event_id FROM fresh)
"""
_EARLIER = """
SELECT event_id, fingerprint, recorded_at, partition, "offset"
FROM ingest_receipts WHERE event_id = ANY($1::uuid[])
"""
#: PostgreSQL: every acknowledgement of a batch in one statement.
_ACKNOWLEDGE = """
UPDATE ingest_receipts AS r SET partition = a.partition, "offset" = a.offset
FROM unnest($1::uuid[], $2::int[], $3::bigint[]) AS a(event_id, partition, "offset")
WHERE r.event_id = a.event_id
"""


class SqlReceipts:
    """Receipts in the ``ingest_receipts`` table: on PostgreSQL (asyncpg) one statement per
    batch for the claims (one per ``recorded_at`` among them; plus one to read the earlier
    claims, if any) and one for the acknowledgements; elsewhere (SQLite), SQLAlchemy's
    multi-row statements."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"
        #: On PostgreSQL each statement is its own transaction: a claim or an acknowledgement
        #: is one statement (one round trip, not BEGIN, the statement and COMMIT), and the pool's
        #: check of a connection is one round trip instead of three.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def claim(self, claims: Sequence[Claim]) -> dict[UUID, Claim]:
        if not claims:
            return {}
        if self._postgres:
            return await self._claim_postgres(claims)
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
            insert = dialect.insert(conn, ingest_receipts)
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

    async def _claim_postgres(self, claims: Sequence[Claim]) -> dict[UUID, Claim]:
        # a batch is stamped at once: one statement, with recorded_at as one parameter
        stamped: dict[datetime, list[Claim]] = {}
        for c in claims:
            stamped.setdefault(c.recorded_at, []).append(c)
        now = datetime.now(UTC)
        known: list[UUID] = []
        async with self._autocommit.connect() as conn:
            for recorded_at, group in stamped.items():
                ids = [c.event_id for c in group]
                params = (ids, [c.fingerprint for c in group], recorded_at, now)
                try:
                    await conn.exec_driver_sql(_CLAIM_NEW, params)
                except sa.exc.IntegrityError:  # a known id: nothing was inserted
                    await conn.rollback()
                    known += [row[0] for row in await conn.exec_driver_sql(_CLAIM, params)]
            if not known:
                return {}
            found = await conn.exec_driver_sql(_EARLIER, (known,))
            return {claim.event_id: claim for claim in map(_claim, found)}

    async def acknowledge(self, receipts: dict[UUID, Receipt]) -> None:
        if not receipts:
            return
        if self._postgres:
            params = (
                list(receipts),
                [x.partition for x in receipts.values()],
                [x.offset for x in receipts.values()],
            )
            async with self._autocommit.connect() as conn:
                await conn.exec_driver_sql(_ACKNOWLEDGE, params)
            return
        async with self._engine.begin() as conn:
            r = ingest_receipts.c
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
    event_id = UUID(int=row.event_id.int)  # a plain UUID, also from asyncpg's own UUID type
    return Claim(event_id, row.fingerprint, row.recorded_at, receipt)
