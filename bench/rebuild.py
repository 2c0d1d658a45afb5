"""Rebuild throughput: ``parley projections rebuild`` run as a user runs it, over a topic of
its own filled with a raw producer, into a database schema of its own; events/s from the
start of the process to its exit. Past its time budget it is interrupted (as Ctrl-C would,
which leaves the live tables unchanged) and the rate is what it had applied by then."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from itertools import zip_longest
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from bench.context import Context, say, verdict
from bench.ingest import producer, send_raw
from bench.payloads import fresh_history, record
from bench.processes import ROOT
from services.common.kafka import ensure_topic
from services.projector.migrate import upgrade_to_head

PARTITIONS = 6
#: Talks sent interleaved at a time, as a live feed of that many talks would be.
TALKS_AT_ONCE = 10
GENERATORS = 2  # worker processes making the events while the producer sends
SAY_EVERY_S = 15.0
#: The command's summary on stdout and its progress lines on stderr (services/cli/rebuild.py).
SUMMARY = re.compile(r"rebuilt (\d+) events from (\d+) records in ([\d.]+) s")
PROGRESS = re.compile(r"rebuilding \(([\w ]+)\): (\d+)/(\d+) events \(\d+%\), ([\d,]+) events/s")

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


@dataclass(frozen=True)
class Seen:
    """The rebuild's gauges (``parley_rebuild_*``) at one moment."""

    at: float  # seconds since the process started
    records: int
    total: int
    events: int
    phase: str


@dataclass(frozen=True)
class Outcome:
    events: int  # applied to the new tables: all of them, or those applied when stopped
    seconds: float  # process start to exit, or to the last progress read when stopped
    finished: bool
    own_rate: float | None  # events/s as the command itself reports it (from its first read)
    own_seconds: float | None
    phase: str  # where it was when it ended

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def talks_records(talks_id: str, size: int, seed: int) -> list[Record]:
    """One talks' fresh history as the ingest would publish it (in a worker process)."""
    return [record(e) for e in fresh_history(talks_id, size, seed)]


async def fill(ctx: Context, topic: str, prefix: str, talks: int, size: int) -> int:
    """Send ``talks`` histories of ``size`` events, ``TALKS_AT_ONCE`` interleaved at a time,
    made by worker processes while the producer sends; the records sent."""
    loop = asyncio.get_running_loop()
    kafka = producer(ctx)
    await kafka.start()
    sent, started = 0, time.monotonic()
    try:
        with ProcessPoolExecutor(GENERATORS, mp_context=get_context("spawn")) as pool:
            pending = deque(
                loop.run_in_executor(pool, talks_records, f"{prefix}-{i:03d}", size, i)
                for i in range(talks)
            )
            while pending:
                group = [await pending.popleft() for _ in range(min(TALKS_AT_ONCE, len(pending)))]
                records = [r for rs in zip_longest(*group) for r in rs if r is not None]
                del group
                await send_raw(kafka, topic, records)
                sent += len(records)
                elapsed = time.monotonic() - started
                say(
                    f"  rebuild: {sent:,} of {talks * size:,} events in the topic ({elapsed:.0f} s)"
                )
    finally:
        await kafka.stop()
    return sent


@asynccontextmanager
async def schema_of_its_own(ctx: Context) -> AsyncIterator[str]:
    """A fresh, migrated schema (a rebuild replaces whole tables); its database URL."""
    name = f"bench_rebuild_{ctx.tag}"
    conn = await asyncpg.connect(ctx.dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        separator = "&" if "?" in ctx.database_url else "?"
        path = quote(f"postgresql://?search_path={name}", safe="")
        url = f"{ctx.database_url}{separator}dsn={path}"
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()


def parley_command() -> list[str]:
    """The ``parley`` command installed next to this Python (``python -m services.cli`` if
    there is none: the same ``main``)."""
    script = Path(sys.executable).with_name("parley")
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


async def scrape(client: httpx.AsyncClient, url: str, at: float) -> Seen | None:
    try:
        text = (await client.get(url)).text
    except httpx.HTTPError:
        return None  # not serving yet, or gone
    values: dict[str, float] = {}
    phase = "?"
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "parley_rebuild_phase" and sample.value == 1:
                phase = sample.labels["parley_rebuild_phase"]
            elif not sample.labels:
                values[sample.name] = sample.value
    return Seen(
        at,
        int(values.get("parley_rebuild_records", 0)),
        int(values.get("parley_rebuild_records_target", 0)),
        int(values.get("parley_rebuild_events", 0)),
        phase,
    )


async def rebuild(ctx: Context, topic: str, url: str, budget_s: float) -> Outcome:
    """Run ``parley projections rebuild`` to its end or to ``budget_s``; what it did."""
    service = ctx.service("rebuild", topic, extra_env={"PARLEY_DATABASE_URL": url})
    command = [*parley_command(), "projections", "rebuild", "--metrics-port", str(service.port)]
    service.log_path.parent.mkdir(parents=True, exist_ok=True)
    with service.log_path.open("ab") as log:
        log_from = log.tell()
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=service.env, stdout=asyncio.subprocess.PIPE, stderr=log
        )
    ctx.memory.watch("rebuild", process.pid)
    exited = asyncio.ensure_future(process.wait())
    try:
        seen, stopped = await watch(process, exited, f"{service.url}/metrics", started, budget_s)
    finally:
        if process.returncode is None:  # the benchmark itself failed or was interrupted
            process.kill()
            await exited
    seconds = time.perf_counter() - started
    out = (await process.stdout.read()).decode() if process.stdout else ""
    logged = service.log_path.read_bytes()[log_from:].decode(errors="replace")
    if (summary := SUMMARY.search(out)) and process.returncode == 0:
        events, own_seconds = int(summary[1]), float(summary[3])
        own = events / own_seconds if own_seconds > 0 else None
        return Outcome(events, seconds, True, own, own_seconds, "done")
    if not stopped:
        tail = "\n".join(logged.splitlines()[-30:])
        raise RuntimeError(f"parley projections rebuild exited {process.returncode}:\n{tail}")
    lines = PROGRESS.findall(logged)
    own = float(lines[-1][3].replace(",", "")) if lines else None
    return Outcome(seen.events, seen.at, False, own, None, seen.phase)


async def watch(
    process: asyncio.subprocess.Process,
    exited: asyncio.Future[int],
    metrics_url: str,
    started: float,
    budget_s: float,
) -> tuple[Seen, bool]:
    """Read the rebuild's gauges every second until it exits, saying how far it is now and
    then; interrupt it past ``budget_s``. The last progress read, and whether it was stopped."""
    seen = Seen(0.0, 0, 0, 0, "starting")
    said = time.perf_counter()
    async with httpx.AsyncClient(timeout=2) as client:
        while not exited.done():
            await asyncio.wait({exited}, timeout=1.0)
            if exited.done():
                break
            now = time.perf_counter() - started
            seen = await scrape(client, metrics_url, now) or seen
            if time.perf_counter() - said > SAY_EVERY_S:
                rate = seen.events / seen.at if seen.at else 0
                say(
                    f"  rebuild ({seen.phase}): {seen.records:,} of {seen.total:,} records,"
                    f" {seen.events:,} events applied in {now:.0f} s ({rate:,.0f} events/s)"
                )
                said = time.perf_counter()
            if now > budget_s:
                say(f"  rebuild: past its budget of {budget_s:.0f} s; interrupting it")
                await interrupt(process, exited)
                return seen, True
    return seen, False


async def interrupt(process: asyncio.subprocess.Process, exited: asyncio.Future[int]) -> None:
    """Ctrl-C (SIGINT), and again after 15 s, as a user would; SIGKILL 15 s later. SIGTERM
    where the rebuild would ignore SIGINT: a process started in the background inherits our
    ignored SIGINT."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    for _ in range(2):
        if exited.done():
            return
        process.send_signal(signal.SIGTERM if ignored else signal.SIGINT)
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), 15)
            return
    if not exited.done():
        say("  rebuild: still running 30 s after Ctrl-C; killing it")
        process.kill()
    await exited


async def rebuilt_events(url: str, dsn: str) -> int:
    """How many events the live ``events`` table of the rebuild's schema holds."""
    schema = re.search(r"search_path%3D(\w+)", url)
    assert schema is not None
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f'SELECT count(*) FROM "{schema[1]}".events'))
    finally:
        await conn.close()


async def delete_topics(ctx: Context, *topics: str) -> None:
    """The topic is the largest any benchmark leaves behind: give its disk back."""
    admin = AIOKafkaAdminClient(bootstrap_servers=ctx.kafka)
    await admin.start()
    try:
        with suppress(Exception):  # a missing dead-letter topic is no reason to fail
            await admin.delete_topics(list(topics))
    finally:
        await admin.close()


async def run(ctx: Context) -> str:
    s = ctx.sizes
    talks, size = s.rebuild_talks, s.rebuild_events // s.rebuild_talks
    topic = ctx.topic("rebuild")
    await ensure_topic(ctx.kafka, topic, PARTITIONS, 1)
    try:
        say(f"rebuild: filling {topic} with {talks * size:,} events")
        total = await fill(ctx, topic, f"bench-rb-{ctx.tag}", talks, size)
        async with schema_of_its_own(ctx) as url:
            say(f"rebuild: parley projections rebuild of {total:,} events")
            outcome = await rebuild(ctx, topic, url, s.rebuild_budget_s)
            in_table = await rebuilt_events(url, ctx.dsn) if outcome.finished else None
    finally:
        await delete_topics(ctx, topic, f"{topic}.dlq")
    say(
        f"rebuild: {outcome.events:,} of {total:,} events in {outcome.seconds:.1f} s,"
        f" {outcome.rate:,.0f} events/s" + ("" if outcome.finished else " (stopped)")
    )
    return section(outcome, total, talks, size, s.rebuild_budget_s, in_table)


def section(
    outcome: Outcome, total: int, talks: int, size: int, budget_s: float, in_table: int | None
) -> str:
    rate = outcome.rate
    if outcome.finished:
        how = f"the whole log, {outcome.events:,} events; the new tables hold {in_table:,}"
        row = "`parley projections rebuild`, process start to exit"
    else:
        how = (
            f"**stopped at {outcome.events:,} of {total:,} events** after its budget of"
            f" {budget_s:.0f} s (phase: {outcome.phase}); the rate is the events applied by the"
            " last progress read over the seconds since the process started"
        )
        row = f"stopped at {outcome.events:,} of {total:,}"
    own = f"{outcome.own_rate:,.0f}" if outcome.own_rate is not None else "n/a"
    own_seconds = f"{outcome.own_seconds:.1f}" if outcome.own_seconds is not None else "n/a"
    return "\n".join(
        [
            f"## Rebuild: {total:,} events over {talks} talks",
            "",
            "`parley projections rebuild` as a user runs it (the `parley` command with the",
            f"projector's settings) over a topic of its own ({PARTITIONS} partitions), filled",
            f"beforehand by a raw producer with {talks} histories of {size:,} events,",
            f"{TALKS_AT_ONCE} talks interleaved at a time. It writes into a database schema of its",
            "own, migrated and empty: a rebuild needs no live projector (it stores the",
            "projector's positions itself at the switch), and none runs meanwhile. Timed from",
            "the start of the process to its exit (imports, shadow tables, reading, the switch);",
            "the command's own figure counts from its first read. Progress is read from its",
            f"`--metrics-port` gauges. Past a budget of {budget_s:.0f} s it is interrupted as",
            "Ctrl-C would (SIGINT; SIGTERM if the benchmark runs with SIGINT ignored, as in the",
            "background); the live tables stay as they were. Its peak RSS is `rebuild` in the",
            "memory table.",
            "",
            f"This run: {how}.",
            "",
            "| | events | seconds | events/s |",
            "|---|---|---|---|",
            f"| {row} | {outcome.events:,} | {outcome.seconds:.1f} | {rate:,.0f} |",
            f"| as the command reports it | {outcome.events:,} | {own_seconds} | {own} |",
            "",
            "| figure | value | target | |",
            "|---|---|---|---|",
            f"| rebuild events/s | {rate:,.0f} | >= 10,000 | "
            f"{verdict(rate >= 10_000, rate, 10_000)} |",
            "",
        ]
    )
