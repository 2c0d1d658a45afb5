"""Bulk-loading a generated history straight into the read-model tables.

The rows are exactly those the projector writes (the same pure ``histories``), but computed
in worker processes and copied with ``COPY``: the as-of benchmark measures reads, and loading
a million events through Kafka one batch at a time is the projection benchmark's business.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import asyncpg
import orjson

from bench.generate import talks_history
from services.projector.items import tags_of
from services.projector.schema import counted_cells, item_versions, sort_fields
from shared.events import REPORT_TYPES, subject_of
from shared.state import OWN_ITEM_KINDS, family_keys, histories

TABLES = ("events", "item_events", "item_versions", "talks", "event_counts")


def talks_rows(talks_id: str, size: int, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row one talks contributes to each table."""
    events = talks_history(talks_id, size, seed)
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
    families: dict[object, list] = {}
    for offset, e in enumerate(events):
        occ = e.occurrence
        target = subject_of(e) if e.type in REPORT_TYPES else None
        payload = json.dumps(e.model_dump(mode="json", exclude_none=True))
        rows["events"].append(
            (
                e.event_id,
                talks_id,
                e.type,
                occ.text,
                occ.earliest,
                occ.latest,
                e.recorded_at,
                0,
                offset,
                payload,
                target,
            )
        )
        families.setdefault(subject_of(e), []).append(e)
    for subject, family in families.items():
        rows["item_events"] += [
            (talks_id, k.kind, k.key, subject)
            for k in family_keys(subject, family)
            if k.kind not in OWN_ITEM_KINDS  # the projector writes no rows for them
        ]
    for key, versions in histories(events).items():
        rows["item_versions"] += [
            (
                talks_id,
                key.kind,
                key.key,
                v.known_from,
                v.known_to,
                v.valid_from,
                v.valid_to,
                json.dumps(tags_of(v.value)),
                doc,
                *sort_fields(key.kind, orjson.loads(doc)),
            )
            for v in versions
            for doc in [v.value.model_dump_json()]
        ]
    names = COLUMNS["item_versions"]
    counted = counted_cells(dict(zip(names, r, strict=True)) for r in rows["item_versions"])
    rows["event_counts"] = [(*cell, n) for cell, n in sorted(counted.items())]
    recorded = [e.recorded_at for e in events if e.recorded_at is not None]
    rows["talks"].append((talks_id, len(events), min(recorded), max(recorded)))
    return rows


COLUMNS = {
    "events": [
        "event_id",
        "talks_id",
        "type",
        "occurred_at",
        "occurred_earliest",
        "occurred_latest",
        "recorded_at",
        "partition",
        "offset",
        "payload",
        "target_event_id",
    ],
    "item_events": ["talks_id", "kind", "item_key", "event_id"],
    "item_versions": [c.name for c in item_versions.c if c.name != "id"],
    "talks": ["talks_id", "event_count", "first_recorded_at", "last_recorded_at"],
    "event_counts": ["talks_id", "valid_month", "known_month", "versions"],
}


def talks_ids(count: int) -> list[str]:
    return [f"bench-{i:03d}" for i in range(count)]


async def load(dsn: str, count: int, size: int, progress: Any) -> None:
    """Replace the bench talks with ``count`` generated talks of ``size`` events each."""
    conn = await asyncpg.connect(dsn)
    try:
        for table in TABLES:
            await conn.execute(f"DELETE FROM {table} WHERE talks_id LIKE 'bench-%'")
        with ProcessPoolExecutor(max_workers=2) as pool:
            jobs = [(t, size, i) for i, t in enumerate(talks_ids(count))]
            for done, rows in enumerate(_in_order(pool, jobs), 1):
                for table in TABLES:
                    await conn.copy_records_to_table(
                        table, records=rows[table], columns=COLUMNS[table]
                    )
                progress(done, count)
        # as autovacuum would soon: statistics, and a visibility map for index-only scans
        for table in TABLES:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()
    await settle(dsn)


async def settle(dsn: str) -> None:
    """Write out what the load left in memory (``CHECKPOINT``), so that the reads measured
    next do not share the disk with the checkpoints the load's WAL set off. As the bench's
    user if it may (``pg_checkpoint``), else as the local superuser the local stack trusts."""
    host = dsn.split("@", 1)[1].rsplit("/", 1)[0]
    for attempt in (dsn, f"postgresql://postgres@{host}/postgres"):
        try:
            conn = await asyncpg.connect(attempt)
        except (OSError, asyncpg.PostgresError):
            continue
        try:
            await conn.execute("CHECKPOINT")
            return
        except asyncpg.InsufficientPrivilegeError:
            continue
        finally:
            await conn.close()
    print("could not CHECKPOINT after loading: the reads may share the disk with it")


def _in_order(
    pool: ProcessPoolExecutor, jobs: list[tuple[str, int, int]]
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    yield from pool.map(_rows, jobs)


def _rows(job: tuple[str, int, int]) -> dict[str, list[tuple[Any, ...]]]:
    return talks_rows(*job)
