"""A peer side by side: the ``eventsourcing`` library with its PostgreSQL persistence, on the
same PostgreSQL: appending events to one aggregate, and reconstructing it at a past version."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.asof import Timing
from bench.context import Context, median, percentile, say
from bench.payloads import fresh_history, submission

SAVE_EVERY = 1000  # events per save (one transaction), as Parley's batches


class TalksRecord(Aggregate):
    """The talks as one aggregate: each Parley event is one of its domain events."""

    def __init__(self, talks_id: str) -> None:
        self.talks_id = talks_id
        self.count = 0
        self.last: dict[str, Any] = {}

    @event("Recorded")
    def record(self, body: dict[str, Any]) -> None:
        self.count += 1
        self.last = body


def _env(ctx: Context) -> dict[str, str]:
    url = urlsplit(ctx.dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "parley",
        "POSTGRES_PASSWORD": url.password or "",
        "CREATE_TABLE": "y",
    }


def measure(ctx: Context, size: int, reps: int, samples: int) -> tuple[list[float], list[float]]:
    """Append rates (events/s) and reconstruction times (s) at random past versions."""
    app: Application[Any] = Application(env=_env(ctx))
    rnd = random.Random(11)
    rates, rebuilds = [], []
    try:
        for rep in range(reps):
            bodies = [submission(e) for e in fresh_history(f"bench-peer{rep}", size, rep)]
            aggregate = TalksRecord(f"bench-peer{rep}-{ctx.tag}")
            started = time.perf_counter()
            for start in range(0, len(bodies), SAVE_EVERY):
                for body in bodies[start : start + SAVE_EVERY]:
                    aggregate.record(body)
                app.save(aggregate)
            rates.append(len(bodies) / (time.perf_counter() - started))
            say(f"peer {rep + 1}/{reps}: appended {len(bodies):,} events at {rates[-1]:,.0f}/s")
            for _ in range(samples):
                version = rnd.randint(1, aggregate.version)
                started = time.perf_counter()
                past: TalksRecord = app.repository.get(aggregate.id, version=version)
                rebuilds.append(time.perf_counter() - started)
                assert past.version == version
    finally:
        app.close()
    return rates, rebuilds


async def run(ctx: Context, batch_rate: float | None, asof: list[Timing]) -> str:
    s = ctx.sizes
    say(f"peer: eventsourcing on PostgreSQL, {s.asof_size:,} events per aggregate")
    rates, rebuilds = await asyncio.to_thread(measure, ctx, s.asof_size, s.repeats, s.peer_samples)
    append = median(rates)
    by_name = {t.name: t for t in asof}
    past = by_name.get("state, past as_of")
    r50, r99 = percentile(rebuilds, 0.5), percentile(rebuilds, 0.99)
    rows = [f"| eventsourcing: append, {SAVE_EVERY:,} events per save | {append:,.0f} events/s | |"]
    if batch_rate:
        rows.append(f"| Parley: `POST /v1/events:batch` (above) | {batch_rate:,.0f} events/s | |")
        rows.append(f"| Parley / eventsourcing, appending | {batch_rate / append:.2f}x | |")
    rows.append(
        f"| eventsourcing: aggregate at a random past version | p50 {r50 * 1000:,.1f} ms, "
        f"p99 {r99 * 1000:,.1f} ms | |"
    )
    if past:
        q50, q99 = r50 / past.p50, r99 / past.p99
        rows += [
            f"| Parley: state at a random past `as_of` (above) | p50 {past.p50 * 1000:,.1f} ms,"
            f" p99 {past.p99 * 1000:,.1f} ms | |",
            f"| eventsourcing / Parley, past state p50 | {q50:,.1f}x | Parley >= 10x: "
            f"{'holds' if q50 >= 10 else f'misses ({q50:.1f}x)'} |",
            f"| eventsourcing / Parley, past state p99 | {q99:,.1f}x | Parley >= 10x: "
            f"{'holds' if q99 >= 10 else f'misses ({q99:.1f}x)'} |",
        ]
    return "\n".join(
        [
            f"## A peer: eventsourcing {_version()} on the same PostgreSQL",
            "",
            f"One aggregate per run with {s.asof_size:,} domain events, each carrying a Parley",
            f"event's JSON; {s.repeats} runs. The aggregate is saved every {SAVE_EVERY:,} events",
            "(one transaction each, as a Parley batch). Reconstruction: `repository.get(id,",
            f"version=v)` at {s.peer_samples} random versions per run (no snapshots), which",
            "replays the aggregate's events up to v. Parley's figures are its batch ingest and",
            "its as-of state query over talks of the same size, from the sections above.",
            "Appending differs in kind: eventsourcing writes to PostgreSQL directly, Parley's",
            "202 means Kafka holds the event (the projection follows).",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )


def _version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")
