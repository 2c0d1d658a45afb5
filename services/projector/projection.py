"""Applying a batch of log records to the database in one transaction.

The archive, the item read models, the dead letters and the consumed position per partition
change together or not at all. Records below the stored position are replays (a restart, a
rebalance, a zombie consumer) and are skipped; an ``event_id`` already in the archive (a
producer retry that left the event on the topic twice) changes nothing but the position.

Poison (see poison.py) does not hold the log up. A batch is applied whole (:meth:`apply`: in
its own transaction, with no savepoint; :meth:`apply_in`, inside a caller's: in a savepoint);
if that raises, it is applied again record by record, each in a savepoint of its own, and
the records that fail are dead-lettered (deadletters.py) while the others are applied. The
dead letters are on the dead-letter topic before the position moves past them.

Once a batch is committed, each event it applied is logged (INFO for the live projector,
DEBUG for a rebuild) with its ``event_id``, ``talks_id`` and the ``trace_id`` of the record's
W3C ``traceparent`` header, and the dead-letter gauges are refreshed when they may have
changed (letters filed, replays applied) or every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.tracing import HEADER as TRACEPARENT
from services.common.tracing import trace_id_of
from services.projector.archive import archive, count_talks
from services.projector.deadletters import DeadLetterBox
from services.projector.items import (
    CACHED_EVENTS,
    PREPARED_EVENTS,
    ItemCache,
    ItemWriter,
    family_members,
    recount,
)
from services.projector.letters import counts
from services.projector.poison import PARKED, DeadLetter, decode, decode_ahead, is_poison
from services.projector.positions import lock_positions, read_positions, store_positions
from services.projector.records import LogRecord
from services.projector.tables import LIVE, Tables
from services.projector.triage import Apply, Park, ParkChanges, Triage
from shared.events import Event, subject_of, to_json

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "LogRecord", "Projection"]

#: Refresh the dead-letter gauges at least this often while batches arrive.
GAUGES_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    replays: int = 0  # below the stored position, or dead-lettered before
    rejected: int = 0  # dead-lettered now: poison, or parked behind it
    parked: int = 0  # of which parked
    versions: int = 0
    #: What was applied, in log order: the (record, event) of each new event.
    events: tuple[Apply, ...] = field(default=(), repr=False, compare=False)


class _Poisoned(Exception):
    """A batch applied whole met poison; its transaction must be rolled back."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Outcome:
    letters: list[DeadLetter]
    changes: ParkChanges
    applied: list[Apply] = field(default_factory=list)
    versions: int = 0


class Projection:
    """The read models of one consumer group, kept by applying batches of records.

    ``tables`` are the live read models unless a rebuild points the projection at its
    shadows; ``dead_letters`` says where poison goes (by default: the table only).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        consumer_group: str,
        topic: str,
        *,
        tables: Tables = LIVE,
        dead_letters: DeadLetterBox | None = None,
        event_log_level: int = logging.INFO,
        cached_events: int = CACHED_EVENTS,
    ) -> None:
        self._engine = engine
        self._group = consumer_group
        self._topic = topic
        self.tables = tables
        #: Keeps the item histories, remembering where each stands (items.py).
        self.items = ItemWriter(tables, ItemCache(cached_events))
        self.dead_letters = dead_letters or DeadLetterBox(consumer_group, topic)
        #: Records dead-lettered since this object was made.
        self.dead_lettered = 0
        self.event_log_level = event_log_level
        self._gauges_at = float("-inf")
        #: Archive payloads serialised by :meth:`prepare`, by event id.
        self._payloads: dict[UUID, tuple[Event, str]] = {}

    def prepare(self, records: Sequence[LogRecord]) -> None:
        """Decode ``records`` and do the pure part of their projection ahead (the consumer
        calls it while the database works on the batch before); :meth:`apply` takes it."""
        decode_ahead(records)
        events = [
            cast(Event, r.decoded)
            for r in records
            if r.decoded is not None and not isinstance(r.decoded, DeadLetter)
        ]
        if len(self._payloads) > PREPARED_EVENTS:
            self._payloads.clear()
        for event in events:
            if event.event_id is not None:
                self._payloads[event.event_id] = (event, to_json(event).decode())
        self.items.prepare(events)

    async def positions(self) -> dict[int, int]:
        """The next offset to consume for every partition this group has applied records of."""
        async with self._engine.connect() as conn:
            return await read_positions(conn, self._group, self._topic)

    async def recount(self) -> int | None:
        """Correct ``event_counts`` from the versions (``items.recount``), and say so."""
        started = time.perf_counter()
        corrected = await recount(self._engine, self.tables)
        if corrected is None:
            log.info("not recounting event_counts: a rebuild or another recount is running")
        else:
            log.info(
                "recounted event_counts: %d cells corrected in %.0f ms",
                corrected,
                (time.perf_counter() - started) * 1000,
            )
        return corrected

    async def apply(self, records: Sequence[LogRecord]) -> BatchResult:
        """Apply ``records`` (in log order per partition) atomically with their positions."""
        if not records:
            return BatchResult()
        try:
            try:
                async with self._engine.begin() as conn:
                    result = await self.apply_in(conn, records, whole=True)
            except _Poisoned as poisoned:  # rolled back: again, record by record
                self.items.cache.clear()
                log.warning(poisoned.message)
                async with self._engine.begin() as conn:
                    result = await self.apply_in(conn, records, one_by_one=True)
        except BaseException:
            self.items.cache.clear()  # it may remember what was rolled back
            raise
        self._log_applied(result)
        replayed = any(r.is_replay for r in records)
        if result.rejected or replayed or time.monotonic() - self._gauges_at > GAUGES_EVERY_S:
            await self.refresh_gauges()
        return result

    async def refresh_gauges(self) -> None:
        """Set the open dead letters and parked talks gauges from the database."""
        self._gauges_at = time.monotonic()
        try:
            await counts(self._engine, self.dead_letters.group, self.dead_letters.topic)
        except (SQLAlchemyError, OSError) as exc:  # a metric never stops the projection
            log.warning("could not count the dead letters for the metrics: %r", exc)

    def _log_applied(self, result: BatchResult) -> None:
        """One line per applied event, after the commit: its ids, where it was, its trace."""
        if not log.isEnabledFor(self.event_log_level):
            return
        for step in result.events:
            record, event = step.record, step.event
            extra = {
                "event_id": str(event.event_id),
                "talks_id": event.talks_id,
                "type": event.type,
                "partition": record.partition,
                "offset": record.offset,
                "trace_id": trace_id_of(record.header(TRACEPARENT)),
            }
            log.log(self.event_log_level, "applied event", extra=extra)

    async def apply_in(
        self,
        conn: AsyncConnection,
        records: Sequence[LogRecord],
        *,
        whole: bool = False,
        one_by_one: bool = False,
    ) -> BatchResult:
        """Apply ``records`` inside the caller's transaction (a rebuild's switch uses it).

        ``whole``: apply the batch without a savepoint, and raise :class:`_Poisoned` (the
        transaction is then the caller's to roll back) if a record in it is poison.
        ``one_by_one``: apply each record in a savepoint of its own from the start."""
        if not records:
            return BatchResult()
        stored = await lock_positions(
            conn, self._group, self._topic, {r.partition for r in records}
        )
        fresh = [r for r in records if r.offset >= stored.get(r.partition, 0)]
        seen = await self.dead_letters.seen(conn, fresh)
        todo = [(r, decode(r)) for r in fresh if (r.partition, r.offset) not in seen]
        talks = {d.talks_id for _, d in todo if d.talks_id is not None}
        parks = await self.dead_letters.parks(conn, talks)
        if one_by_one:
            outcome = await self._one_by_one(conn, todo, parks)
        else:
            outcome = await self._project(conn, todo, parks, whole)
        for letter in outcome.letters:
            log.log(
                logging.INFO if letter.error_type == PARKED else logging.ERROR,
                "dead-lettered partition %d offset %d (%s): %s",
                letter.record.partition,
                letter.record.offset,
                letter.error_type,
                letter.error,
            )
        await self.dead_letters.file(conn, outcome.letters, outcome.changes)
        last: dict[int, int] = {}
        for record in fresh:
            last[record.partition] = max(last.get(record.partition, 0), record.offset + 1)
        await store_positions(conn, self._group, self._topic, last)
        self.dead_lettered += len(outcome.letters)
        return BatchResult(
            applied=len(outcome.applied),
            duplicates=len(todo) - len(outcome.letters) - len(outcome.applied),
            replays=len(records) - len(todo),
            rejected=len(outcome.letters),
            parked=sum(1 for letter in outcome.letters if letter.error_type == PARKED),
            versions=outcome.versions,
            events=tuple(outcome.applied),
        )

    async def _project(
        self,
        conn: AsyncConnection,
        todo: Sequence[tuple[LogRecord, Event | DeadLetter]],
        parks: Mapping[str, Park],
        whole: bool = False,
    ) -> _Outcome:
        """Apply the batch whole; should it raise poison, apply it record by record (in this
        transaction, after a savepoint, unless ``whole``: then the caller starts over)."""
        triage = Triage(self.dead_letters.policy, parks)
        steps: list[Apply | DeadLetter] = []
        for record, decoded in todo:
            step = triage.route(record, decoded)
            if isinstance(step, Apply):
                triage.applied(step)  # as if it succeeded; if not, the triage starts over
            steps.append(step)
        applying = [s for s in steps if isinstance(s, Apply)]
        try:
            if whole:  # no savepoint: two round trips fewer per batch
                applied, versions = await self._apply_events(conn, applying)
            else:
                async with conn.begin_nested():
                    applied, versions = await self._apply_events(conn, applying)
        except Exception as exc:
            if not is_poison(exc):
                raise
            failed = f"a batch of {len(todo)} records failed ({exc}): applying one by one"
            if whole:
                raise _Poisoned(failed) from exc
            log.warning(failed)
            return await self._one_by_one(conn, todo, parks)
        letters = [s for s in steps if isinstance(s, DeadLetter)]
        return _Outcome(letters, triage.changes(), applied, versions)

    async def _one_by_one(
        self,
        conn: AsyncConnection,
        todo: Sequence[tuple[LogRecord, Event | DeadLetter]],
        parks: Mapping[str, Park],
    ) -> _Outcome:
        triage = Triage(self.dead_letters.policy, parks)
        letters: list[DeadLetter] = []
        applied: list[Apply] = []
        versions = 0
        for record, decoded in todo:
            step = triage.route(record, decoded)
            if isinstance(step, DeadLetter):
                letters.append(step)
                continue
            try:
                async with conn.begin_nested():
                    n, v = await self._apply_events(conn, [step])
            except Exception as exc:
                if not is_poison(exc):
                    raise
                letters.append(triage.failed(step, exc))
                continue
            triage.applied(step)
            applied, versions = applied + n, versions + v
        return _Outcome(letters, triage.changes(), applied, versions)

    async def _apply_events(
        self, conn: AsyncConnection, steps: Sequence[Apply]
    ) -> tuple[list[Apply], int]:
        """Archive the events and rebuild the items they touch; return (new events, versions)."""
        seen: set[object] = set()
        unique = []
        for step in steps:
            if step.event.event_id not in seen:
                seen.add(step.event.event_id)
                unique.append(step)
        try:
            # one read finds the batch's events archived already and every archived member
            # of the families the batch adds to (reports about its events, their subjects)
            events = [step.event for step in unique]
            ids = [e.event_id for e in events if e.event_id is not None]
            known = await family_members(conn, ids, {subject_of(e) for e in events}, self.tables)
            new_events = await archive(conn, unique, self.tables, self._payloads, known.keys())
            members = dict(known)
            members.update((e.event_id, subject_of(e)) for e in new_events if e.event_id)
            versions = await self.items.apply(conn, new_events, members)
            await count_talks(conn, new_events, self.tables)
        except BaseException:
            self.items.cache.clear()  # the savepoint is rolled back: forget what it wrote
            raise
        for step in unique:
            self._payloads.pop(step.event.event_id, None)  # type: ignore[arg-type]
        new = {event.event_id for event in new_events}
        return [step for step in unique if step.event.event_id in new], versions


def _decode(records: Sequence[LogRecord]) -> tuple[list[tuple[LogRecord, Event]], int]:
    """The records' events (the first copy of each ``event_id``) and how many are poison.

    A summary of :func:`decode` over a batch, as the upcasting tests read it.
    """
    decoded: list[tuple[LogRecord, Event]] = []
    seen: set[object] = set()
    rejected = 0
    for record in records:
        event = decode(record)
        if isinstance(event, DeadLetter):
            rejected += 1
        elif event.event_id not in seen:
            seen.add(event.event_id)
            decoded.append((record, event))
    return decoded, rejected
