"""Projection throughput: events from the topic into the archive and read models, against a
raw asyncpg ``copy_records_to_table`` of the very rows the projector wrote, into the same
tables. Then one more run under pyinstrument, to see where the projector spends its time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bench.context import Context, median, say, verdict
from bench.ingest import producer, send_raw
from bench.loader import COLUMNS, TABLES
from bench.payloads import histories, record
from bench.processes import Service
from bench.profile import summarise
from services.common.kafka import ensure_topic

TALKS = 10
#: The projector's functions that apply a batch (profile roots).
PROJECTOR_WORK = ("apply", "_apply_batch", "apply_batch")


async def consumed(conn: asyncpg.Connection, group: str, topic: str) -> int:
    """How many records the projector has applied: the sum of its stored next offsets."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions"
        " WHERE consumer_group = $1 AND topic = $2",
        group,
        topic,
    )
    return int(value)


async def wait_for(
    conn: asyncpg.Connection, group: str, topic: str, total: int, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    last_said = time.monotonic()
    while (done := await consumed(conn, group, topic)) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the projector applied {done} of {total} in {timeout_s:.0f} s")
        if time.monotonic() - last_said > 15:
            say(f"  projected {done:,} of {total:,}")
            last_said = time.monotonic()
        await asyncio.sleep(0.05)


async def project(
    ctx: Context, projector: Service, topic: str, prefix: str, size: int, already: int
) -> float:
    """Send ``size`` fresh events and wait until the projector applied them; events/s."""
    events = histories(prefix, TALKS, size // TALKS, seed=size)
    records = [record(e) for e in events]
    group = f"bench-{topic}"
    kafka = producer(ctx)
    await kafka.start()
    conn = await asyncpg.connect(ctx.dsn)
    try:
        started = time.perf_counter()
        await send_raw(kafka, topic, records)
        await wait_for(conn, group, topic, already + len(records), timeout_s=size / 20 + 120)
        return len(records) / (time.perf_counter() - started)
    finally:
        await kafka.stop()
        await conn.close()


async def copy_same_rows(ctx: Context, prefix: str) -> tuple[float, int, dict[str, int]]:
    """Read back the rows the projector wrote for ``prefix``'s talks, delete them, and time
    copying them back in one transaction; events/s, the events, rows per table."""
    conn = await asyncpg.connect(ctx.dsn)
    try:
        rows: dict[str, list[asyncpg.Record]] = {}
        for table in TABLES:
            columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
            rows[table] = await conn.fetch(
                f"SELECT {columns} FROM {table} WHERE talks_id LIKE $1", prefix + "-%"
            )
        async with conn.transaction():
            for table in TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE talks_id LIKE $1", prefix + "-%")
        started = time.perf_counter()
        async with conn.transaction():
            for table in TABLES:
                await conn.copy_records_to_table(
                    table, records=[tuple(r) for r in rows[table]], columns=COLUMNS[table]
                )
        elapsed = time.perf_counter() - started
        events = len(rows["events"])
        return events / elapsed, events, {t: len(r) for t, r in rows.items()}
    finally:
        await conn.close()


async def profiled(ctx: Context, topic: str, size: int) -> str:
    """One run of the projector under pyinstrument; the summary of where its time went."""
    out = ctx.log_dir / f"projector-{ctx.tag}.pyisession"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["-m", "pyinstrument", "-r", "pyisession", "-o", str(out), "-m", "services.projector"]
    projector = ctx.service("projector", topic, command)
    await projector.start()
    try:
        await project(ctx, projector, topic, f"bench-prof-{ctx.tag}", size, already=0)
    finally:
        await projector.stop()
    return summarise(Path(out), "projector", PROJECTOR_WORK, size)


async def run(ctx: Context) -> str:
    n, reps = ctx.sizes.projection_events, ctx.sizes.repeats
    topic = ctx.topic("projection")
    await ensure_topic(ctx.kafka, topic, 6, 1)
    projector = ctx.service("projector", topic)
    say("projection: starting the projector")
    await projector.start()
    parley_rates: list[float] = []
    raw_rates: list[float] = []
    tables: dict[str, int] = {}
    applied = 0
    try:
        for rep in range(reps):
            prefix = f"bench-proj{rep}-{ctx.tag}"
            parley_rates.append(await project(ctx, projector, topic, prefix, n, applied))
            applied += n
            rate, events, tables = await copy_same_rows(ctx, prefix)
            raw_rates.append(rate)
            say(
                f"projection {rep + 1}/{reps}: projector {parley_rates[-1]:,.0f} events/s,"
                f" COPY of the same rows {raw_rates[-1]:,.0f} events/s ({events:,} events)"
            )
    finally:
        await projector.stop()
    say(f"projection: profiling the projector over {ctx.sizes.profile_events:,} events")
    profile = await profiled(ctx, ctx.topic("projection-profile"), ctx.sizes.profile_events)
    parley, raw = median(parley_rates), median(raw_rates)
    ratio = parley / raw
    per_table = ", ".join(f"{t}: {c:,}" for t, c in tables.items())
    return "\n".join(
        [
            f"## Projection: {n:,} events per run, {reps} runs",
            "",
            "The projector process consumes its own topic; each run sends fresh events over",
            f"{TALKS} talks with a raw producer and waits until the projector's stored positions",
            "cover them (send included: the producer is far faster). The reference reads back",
            "the rows the projector wrote for those talks, deletes them, and copies them into",
            "the same tables with asyncpg `copy_records_to_table` in one transaction (rows per",
            f"run: {per_table}).",
            "",
            "| | events/s (median) | runs |",
            "|---|---|---|",
            f"| projector, topic to read models | {parley:,.0f} | {_runs(parley_rates)} |",
            f"| COPY of the same rows | {raw:,.0f} | {_runs(raw_rates)} |",
            "",
            "| figure | value | target | |",
            "|---|---|---|---|",
            f"| projector / COPY | {ratio:.3f} | >= 0.5 | {verdict(ratio >= 0.5, ratio, 0.5)} |",
            f"| projector events/s | {parley:,.0f} | >= 10,000 | "
            f"{verdict(parley >= 10_000, parley, 10_000)} |",
            "",
            profile,
        ]
    )


def _runs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)
