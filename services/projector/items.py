"""Keeping the item read models: which items a batch touches, and their histories.

For every new event the projector finds its *family* (the substantive event and every report
about it) and records which items the family's event was ever about. Then each touched item's
history is brought up to date in one of two ways:

* **Advanced**, when the batch's events about the item arrive in order (substantive events,
  no report about them, recorded after everything the item already holds) and the projector
  remembers where the item's history stands (:class:`ItemCache`). :func:`shared.state.advance`
  closes the versions the new knowledge changes (their ``known_to`` is set) and opens new
  ones; nothing else is read or written. This is the live feed's usual case.
* **Recomputed** otherwise (a correction, a retraction, a late report, an item not
  remembered): the item's whole history is computed again from all its events with
  :func:`shared.state.history_and_state` and replaces the stored one.

The cache is only ever a shortcut: before an item is advanced, the ids of its open versions
in the database must be exactly those the cache remembers, or the item is recomputed. So a
rolled-back transaction, another projector that took the partition for a while, or a rebuild
that switched the tables costs a recomputation, never a wrong history.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.dialect import IdPool, copy_records, insert, one_of, tuple_of
from services.projector.schema import (
    COUNTED,
    SORT_FIELDS,
    counted_cells,
    item_versions,
    month_sql,
    sort_fields,
)
from services.projector.tables import LIVE, Tables
from shared.events import REPORT_TYPES, Event, parse_recorded, subject_of
from shared.state import (
    OWN_ITEM_KINDS,
    Item,
    ItemKey,
    ItemState,
    ItemVersion,
    Position,
    StrikeState,
    advance,
    family_keys,
    history_and_state,
    item_keys,
)
from shared.state.knowledge import id_text

TalksItem = tuple[str, ItemKey]

#: How many events the remembered item states may hold together (their memory).
CACHED_EVENTS = 15_000


def tags_of(item: Item) -> list[str]:
    """Filterable facets of an item, e.g. ``weapon_type:cruise_missile``."""
    if isinstance(item, StrikeState):
        tags = [f"attacking_party:{item.attacking_party}"]
        tags += [f"target_party:{item.target_party}"] if item.target_party else []
        tags += [f"target_type:{t}" for t in item.target_types]
        return tags + [f"weapon_type:{w}" for w in item.weapon_types]
    if isinstance(item, Position):
        return [f"party:{item.party}", f"issue:{item.issue}"]
    return []


@dataclass(slots=True)
class Kept:
    """Where an item's stored history stands, and the row ids of its open versions."""

    state: ItemState
    ids: dict[datetime, int]  # an open version's valid_from -> its row id


@dataclass
class ItemCache:
    """The item states a projection wrote last, least recently used first out."""

    max_events: int = CACHED_EVENTS
    _kept: OrderedDict[TalksItem, Kept] = field(default_factory=OrderedDict)
    _events: int = 0

    def get(self, item: TalksItem) -> Kept | None:
        kept = self._kept.get(item)
        if kept is not None:
            self._kept.move_to_end(item)
        return kept

    def put(self, item: TalksItem, kept: Kept) -> None:
        self.drop(item)
        self._kept[item] = kept
        self._events += len(kept.state.believed)
        while self._events > self.max_events and self._kept:
            _, oldest = self._kept.popitem(last=False)
            self._events -= len(oldest.state.believed)

    def drop(self, item: TalksItem) -> None:
        old = self._kept.pop(item, None)
        if old is not None:
            self._events -= len(old.state.believed)

    def clear(self) -> None:
        self._kept.clear()
        self._events = 0

    def __len__(self) -> int:
        return len(self._kept)


async def family_members(
    conn: AsyncConnection, ids: Iterable[UUID], subjects: Iterable[UUID], tables: Tables
) -> dict[UUID, UUID]:
    """The archived events among ``ids``, and every archived event about one of ``subjects``
    (the event itself, or a report about it): each one's id and its subject."""
    about = list(set(subjects))  # arrays for = ANY: their order does not matter
    wanted = list(set(ids).union(about))
    if not wanted:
        return {}
    events = tables.events
    rows = await conn.execute(
        sa.select(events.c.event_id, events.c.target_event_id).where(
            sa.or_(
                one_of(conn, events.c.event_id, wanted),
                one_of(conn, events.c.target_event_id, about),
            )
        )
    )
    return {row.event_id: row.target_event_id or row.event_id for row in rows}


async def _families(
    conn: AsyncConnection,
    ids: Iterable[UUID],
    tables: Tables,
    in_hand: Mapping[UUID, Event],
    members: Mapping[UUID, UUID] | None = None,
) -> dict[UUID, list[Event]]:
    """For each substantive event id: the event (if archived) and every report about it.

    Events in ``in_hand`` (the batch's, already parsed) are not read back. ``members``, when
    given, already names every archived member of those families (:func:`family_members`)."""
    wanted = set(ids)
    if not wanted:
        return {}
    if members is None:
        members = await family_members(conn, (), wanted, tables)
    subjects = {i: subject for i, subject in members.items() if subject in wanted}
    events = tables.events
    parsed = {i: in_hand[i] for i in subjects if i in in_hand}
    unread = list(subjects.keys() - parsed.keys())
    if unread:
        rows = await conn.execute(
            sa.select(events.c.event_id, events.c.payload).where(
                one_of(conn, events.c.event_id, unread)
            )
        )
        parsed.update((row.event_id, parse_recorded(row.payload)) for row in rows)
    families: dict[UUID, list[Event]] = defaultdict(list)
    for event_id, subject in subjects.items():
        families[subject].append(parsed[event_id])
    return families


#: Held by a rebuild while it runs, and by a recount: neither runs beside the other, nor
#: two recounts beside each other (services/projector/rebuild.py).
REBUILD_LOCK = "hashtext(current_schema() || '.rebuild')"


async def recount(engine: AsyncEngine, tables: Tables = LIVE) -> int | None:
    """Correct ``event_counts`` from the versions; how many cells it corrected (``None``: a
    rebuild or another recount was running, so this one did not).

    The projector keeps the cells in each batch's transaction, but one from before 0013
    writing beside it (during a rolling upgrade, or after a rollback) does not, so a projector
    recounts whenever it is given partitions: when it starts, and when another member of its
    group has left. The cells and the versions are read in one snapshot, and the difference
    is added to the cells like any batch's: the projectors writing meanwhile add their own,
    and nobody waits.
    """
    counts, versions = tables.event_counts, tables.item_versions
    async with engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            locked = await conn.scalar(sa.text(f"SELECT pg_try_advisory_lock({REBUILD_LOCK})"))
            await conn.commit()  # the lock is the session's
            if not locked:
                return None
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            valid = sa.literal_column(month_sql("valid_from", dialect), counts.c.valid_month.type)
            known = sa.literal_column(month_sql("known_from", dialect), counts.c.known_month.type)
            async with conn.begin():  # one snapshot
                derived = await conn.execute(
                    sa.select(versions.c.talks_id, valid, known, sa.func.count())
                    .where(sa.text(COUNTED))
                    .group_by(versions.c.talks_id, valid, known)
                )
                wrong: Counter[tuple[str, datetime, datetime]] = Counter(
                    {(t, v, k): n for t, v, k, n in derived}
                )
                stored = await conn.execute(sa.select(*counts.c))
                wrong.subtract({(t, v, k): n for t, v, k, n in stored})
            if dialect == "postgresql":
                conn = await conn.execution_options(isolation_level="READ COMMITTED")
            async with conn.begin():
                await _count(conn, counts, wrong)
            return sum(1 for n in wrong.values() if n)
        finally:
            if dialect == "postgresql":
                await conn.scalar(sa.text(f"SELECT pg_advisory_unlock({REBUILD_LOCK})"))
                await conn.commit()


async def _count(
    conn: AsyncConnection, table: sa.Table, counted: Mapping[tuple[str, datetime, datetime], int]
) -> None:
    """Add the changes in counted versions to ``event_counts`` (in the cells' order, so that
    two writers never wait for each other's cells the other way round)."""
    cells = [
        {"talks_id": t, "valid_month": v, "known_month": k, "versions": n}
        for (t, v, k), n in sorted(counted.items())
        if n
    ]
    if not cells:
        return
    stmt = insert(conn, table)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["talks_id", "valid_month", "known_month"],
            set_={"versions": table.c.versions + stmt.excluded.versions},
        ),
        cells,
    )


def version_row(talks_id: str, key: ItemKey, v: ItemVersion) -> dict[str, Any]:
    """A version as an ``item_versions`` row, without its id."""
    first, second = SORT_FIELDS.get(key.kind, (None, None))
    sorting: tuple[str | None, str | None] = (None, None)
    if first is not None:  # the sort fields as the item's JSON has them
        shown = v.value.model_dump(mode="json", include={f for f in (first, second) if f})
        sorting = sort_fields(key.kind, shown)
    return {
        "talks_id": talks_id,
        "kind": key.kind,
        "item_key": key.key,
        "known_from": v.known_from,
        "known_to": v.known_to,
        "valid_from": v.valid_from,
        "valid_to": v.valid_to,
        "tags": tags_of(v.value),
        "doc": v.value.model_dump_json(),
        "sort_first": sorting[0],
        "sort_second": sorting[1],
    }


#: The columns ``counted_cells`` reads.
_COUNTED_BY = ("talks_id", "kind", "known_to", "valid_to", "valid_from", "known_from")
#: The columns of ``item_versions`` a COPY fills, in the table's order.
_COPIED = [c.name for c in item_versions.c]
_IN_ORDER = itemgetter(*_COPIED)


def _copied(row_id: int, row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as COPY takes it, with the tags' JSON as text."""
    tags = orjson.dumps(row["tags"]).decode()
    return _IN_ORDER({**row, "id": row_id, "tags": tags})  # type: ignore[no-any-return]


@dataclass
class _Writes:
    """What a batch changes in ``item_versions``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    #: For each row, its item and, for an open version, its ``valid_from`` (to remember its id).
    owners: list[tuple[TalksItem, datetime | None]] = field(default_factory=list)
    closes: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, item: TalksItem, version: ItemVersion, row: dict[str, Any] | None = None) -> None:
        self.rows.append(row if row is not None else version_row(item[0], item[1], version))
        self.owners.append((item, version.valid_from if version.known_to is None else None))


@dataclass(frozen=True, slots=True)
class _Own:
    """The versions and rows of an event's own items while no report is about it
    (:meth:`ItemWriter.prepare`)."""

    event: Event
    items: tuple[tuple[TalksItem, tuple[tuple[ItemVersion, dict[str, Any]], ...]], ...]


#: At most this many events' prepared own items are kept (unclaimed ones are dropped).
PREPARED_EVENTS = 4_000


class ItemWriter:
    """Brings the histories of the items a batch touches up to date (module docstring)."""

    def __init__(self, tables: Tables = LIVE, cache: ItemCache | None = None) -> None:
        self.tables = tables
        self.cache = cache if cache is not None else ItemCache()
        self._own: dict[UUID, _Own] = {}
        self._ids = IdPool(LIVE.item_versions.name)
        #: Items advanced and recomputed since this object was made (an event's own item,
        #: always recomputed and never more than a few rows, is not counted).
        self.advanced = 0
        self.recomputed = 0
        #: Own items written as :meth:`prepare` computed them.
        self.prepared = 0

    def prepare(self, events: Iterable[Event]) -> None:
        """Compute the own items (``OWN_ITEM_KINDS``) of ``events`` ahead, as if no report were
        about them: pure work the consumer does while the database works on the batch before.
        :meth:`apply` takes them for the events it finds alone, and computes the rest."""
        if len(self._own) > PREPARED_EVENTS:
            self._own.clear()
        for event in events:
            if event.type in REPORT_TYPES or event.event_id is None:
                continue
            items = []
            for key in item_keys(event):
                if key.kind in OWN_ITEM_KINDS:
                    versions = history_and_state(key, [event])[0]
                    item = (event.talks_id, key)
                    items.append((item, tuple((v, version_row(*item, v)) for v in versions)))
            self._own[event.event_id] = _Own(event, tuple(items))

    def _prepared(self, item: TalksItem, members: list[Event]) -> _Own | None:
        """The prepared own item of ``members``' one event, if it was prepared for it."""
        if len(members) != 1 or item[1].kind not in OWN_ITEM_KINDS:
            return None
        own = self._own.get(members[0].event_id)  # type: ignore[arg-type]
        return own if own is not None and own.event is members[0] else None

    async def apply(
        self,
        conn: AsyncConnection,
        new_events: Sequence[Event],
        members: Mapping[UUID, UUID] | None = None,
    ) -> int:
        """Index and update the items of ``new_events``; return the versions written.

        ``members``: every archived event of their families with its subject, when the
        caller already read them (:func:`family_members`); else they are read here."""
        if not new_events:
            return 0
        in_hand = {e.event_id: e for e in new_events if e.event_id is not None}
        subjects = {subject_of(e) for e in new_events}
        families = await _families(conn, subjects, self.tables, in_hand, members)
        touched = await self._index(conn, new_events, families)
        arriving, disorderly = self._arrivals(new_events, families)
        candidates = {
            item: arriving[item]
            for item in touched
            if item in arriving and item not in disorderly and item[1].kind not in OWN_ITEM_KINDS
        }
        ready = await self._still_current(conn, candidates)
        writes = _Writes()
        for item in ready:
            self._advance(item, candidates[item], writes)
        rest = touched - set(ready)
        await self._recompute(conn, rest, families, in_hand, writes)
        # the own items of events new in this batch have no stored versions to replace
        new = {str(e.event_id) for e in new_events}
        await self._write(
            conn,
            writes,
            {i for i in rest if i[1].kind not in OWN_ITEM_KINDS or i[1].key not in new},
        )
        self.advanced += len(ready)
        self.recomputed += sum(1 for _, key in rest if key.kind not in OWN_ITEM_KINDS)
        for event in new_events:
            self._own.pop(event.event_id, None)  # type: ignore[arg-type]
        return len(writes.rows) + len(writes.closes)

    async def _index(
        self,
        conn: AsyncConnection,
        new_events: Sequence[Event],
        families: Mapping[UUID, list[Event]],
    ) -> set[TalksItem]:
        """Record which items the new events' families are about; return every touched item.

        Items of one event (``OWN_ITEM_KINDS``, keyed by its id) get no rows: the family
        itself names them."""
        item_events = self.tables.item_events
        # A new event no report is about touches just its own items, and no row names it yet;
        # a family with reports may have been about other items before (an earlier belief),
        # which the table knows.
        alone = {
            e.event_id
            for e in new_events
            if e.type not in REPORT_TYPES and len(families.get(subject_of(e), ())) == 1
        }
        subjects = {subject_of(e) for e in new_events}
        fresh: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        touched: set[TalksItem] = set()
        for subject, family in families.items():
            if subject not in subjects:
                continue
            talks_id = next((e.talks_id for e in family if e.event_id == subject), None)
            for k in family_keys(subject, family):  # empty until the reported event arrives
                touched.add((talks_id, k))  # type: ignore[arg-type]  # the event is known
                if k.kind not in OWN_ITEM_KINDS:
                    row = {"talks_id": talks_id, "kind": k.kind, "item_key": k.key}
                    (fresh if subject in alone else rows).append({**row, "event_id": subject})
        if conn.dialect.name == "sqlite":
            rows, fresh = rows + fresh, []
        if fresh:
            columns = ["talks_id", "kind", "item_key", "event_id"]
            records = list(map(itemgetter(*columns), fresh))
            await copy_records(conn, item_events.name, columns, records)
        if rows:
            stmt = insert(conn, item_events).on_conflict_do_nothing()
            await conn.execute(stmt, rows)
        reported = list(subjects - alone)
        if reported:
            found = await conn.execute(
                sa.select(item_events.c.talks_id, item_events.c.kind, item_events.c.item_key).where(
                    one_of(conn, item_events.c.event_id, reported)
                )
            )
            touched.update((t, ItemKey(kind, key)) for t, kind, key in found.all())
        return touched

    @staticmethod
    def _arrivals(
        new_events: Sequence[Event], families: Mapping[UUID, list[Event]]
    ) -> tuple[dict[TalksItem, list[Event]], set[TalksItem]]:
        """The new events each item may be advanced with, and the items that must be
        recomputed (a report in the batch, or a report already about a new event)."""
        arriving: dict[TalksItem, list[Event]] = defaultdict(list)
        disorderly: set[TalksItem] = set()
        for event in new_events:
            subject = subject_of(event)
            family = families.get(subject, [])
            if event.type in REPORT_TYPES or len(family) != 1:
                talks_id = next((e.talks_id for e in family if e.event_id == subject), None)
                if talks_id is not None:  # else: about an event not recorded (yet)
                    disorderly.update((talks_id, k) for k in family_keys(subject, family))
                continue
            for key in item_keys(event):
                arriving[(event.talks_id, key)].append(event)
        return arriving, disorderly

    async def _still_current(
        self, conn: AsyncConnection, candidates: Mapping[TalksItem, list[Event]]
    ) -> list[TalksItem]:
        """The candidates whose remembered state is the stored one and older than their
        arrivals: the open versions in the table are exactly those remembered."""
        remembered = {}
        for item, events in candidates.items():
            kept = self.cache.get(item)
            known = kept.state.known if kept is not None else None
            if (
                kept is not None
                and known is not None
                and all(e.recorded_at and e.recorded_at > known for e in events)
            ):
                remembered[item] = kept
        if not remembered:
            return []
        versions = self.tables.item_versions
        keys = sorted((talks_id, key.kind, key.key) for talks_id, key in remembered)
        rows = await conn.execute(
            sa.select(
                versions.c.talks_id, versions.c.kind, versions.c.item_key, versions.c.id
            ).where(
                tuple_of(conn, [versions.c.talks_id, versions.c.kind, versions.c.item_key], keys),
                versions.c.known_to.is_(None),
            )
        )
        stored: dict[TalksItem, set[int]] = defaultdict(set)
        for row in rows:
            stored[(row.talks_id, ItemKey(row.kind, row.item_key))].add(row.id)
        ready = []
        for item, kept in remembered.items():
            if stored.get(item, set()) == set(kept.ids.values()):
                ready.append(item)
            else:
                self.cache.drop(item)
        return ready

    def _advance(self, item: TalksItem, events: Sequence[Event], writes: _Writes) -> None:
        """Step the remembered state through the arrivals, one recording time at a time."""
        kept = self.cache.get(item)
        assert kept is not None
        state, ids = kept.state, dict(kept.ids)
        fresh: dict[datetime, ItemVersion] = {}  # opened in this batch, not written yet
        by_time: dict[datetime, list[Event]] = defaultdict(list)
        for event in events:
            assert event.recorded_at is not None
            by_time[event.recorded_at].append(event)
        for known_from in sorted(by_time):
            step = advance(item[1], state, known_from, by_time[known_from])
            for v in step.closed:
                if v.valid_from in fresh:
                    del fresh[v.valid_from]  # opened and closed within the batch
                    writes.add(item, v)
                else:
                    writes.closes.append({"row_id": ids.pop(v.valid_from), "known_to": v.known_to})
            for v in step.opened:
                fresh[v.valid_from] = v
            state = step.state
        for v in fresh.values():
            writes.add(item, v)
        self.cache.put(item, Kept(state, ids))  # the new rows' ids are added on insert

    async def _recompute(
        self,
        conn: AsyncConnection,
        items: set[TalksItem],
        families: dict[UUID, list[Event]],
        in_hand: Mapping[UUID, Event],
        writes: _Writes,
    ) -> None:
        """Compute the whole history of each item again, from every event it ever had."""
        if not items:
            return
        by_item: dict[TalksItem, set[UUID]] = defaultdict(set)
        known = {id_text(i): i for i in families}  # an own item's key is its event's id
        others = [(t, k.kind, k.key) for t, k in items if k.kind not in OWN_ITEM_KINDS]
        for talks_id, key in items:
            if key.kind in OWN_ITEM_KINDS:  # keyed by its one member's id
                by_item[(talks_id, key)].add(known.get(key.key) or UUID(key.key))
        if others:
            item_events = self.tables.item_events
            rows = await conn.execute(
                sa.select(
                    item_events.c.talks_id,
                    item_events.c.kind,
                    item_events.c.item_key,
                    item_events.c.event_id,
                ).where(
                    tuple_of(
                        conn,
                        [item_events.c.talks_id, item_events.c.kind, item_events.c.item_key],
                        sorted(others),
                    )
                )
            )
            for row in rows:
                by_item[(row.talks_id, ItemKey(row.kind, row.item_key))].add(row.event_id)
        missing = {i for ids in by_item.values() for i in ids} - families.keys()
        families.update(await _families(conn, missing, self.tables, in_hand))
        for item in items:
            ids = by_item.get(item, set())
            members = [e for i in ids for e in families.get(i, [])]
            own = self._prepared(item, members)
            if own is not None:  # only a report changes it again: nothing to remember
                self.prepared += 1
                for versions in (v for i, v in own.items if i == item):
                    for version, prepared in versions:
                        writes.add(item, version, dict(prepared))
                continue
            history, state = history_and_state(item[1], members)
            for v in history:
                writes.add(item, v)
            if item[1].kind in OWN_ITEM_KINDS:  # only a report changes it again
                continue
            self.cache.put(item, Kept(state, {}))

    async def _write(
        self, conn: AsyncConnection, writes: _Writes, replaced: set[TalksItem]
    ) -> None:
        versions = self.tables.item_versions
        counted: Counter[tuple[str, datetime, datetime]] = Counter()
        if replaced:
            keys = sorted((talks_id, key.kind, key.key) for talks_id, key in replaced)
            columns = [versions.c.talks_id, versions.c.kind, versions.c.item_key]
            others = [k for k in keys if k[1] != "event"]
            if others:
                await conn.execute(sa.delete(versions).where(tuple_of(conn, columns, others)))
            own_events = [k for k in keys if k[1] == "event"]
            if own_events:  # the counted versions among them leave event_counts
                gone = await conn.execute(
                    sa.delete(versions)
                    .where(tuple_of(conn, columns, own_events))
                    .returning(*(versions.c[name] for name in _COUNTED_BY))
                )
                counted.subtract(counted_cells(r._mapping for r in gone))
        if writes.closes:  # never an event's (own items are not remembered, so not advanced)
            await conn.execute(
                sa.update(versions)
                .where(versions.c.id == sa.bindparam("row_id"), versions.c.known_to.is_(None))
                .values(known_to=sa.bindparam("known_to")),
                writes.closes,
            )
        counted.update(counted_cells(writes.rows))
        await _count(conn, self.tables.event_counts, counted)
        if not writes.rows:
            return
        ids = await self._ids.take(conn, len(writes.rows))
        if ids is None:  # SQLite numbers the rows
            stmt = sa.insert(versions).returning(versions.c.id, sort_by_parameter_order=True)
            ids = list((await conn.execute(stmt, writes.rows)).scalars())
        else:
            records = [_copied(row_id, row) for row, row_id in zip(writes.rows, ids, strict=True)]
            await copy_records(conn, versions.name, _COPIED, records)
        for (item, valid_from), row_id in zip(writes.owners, ids, strict=True):
            kept = self.cache.get(item) if valid_from is not None else None
            if kept is not None and valid_from is not None:
                kept.ids[valid_from] = row_id
