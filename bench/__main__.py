"""``python -m bench``: run the benchmarks and write docs/benchmarks.md.

Kafka is ``PARLEY_BENCH_KAFKA_BOOTSTRAP_SERVERS`` and the database
``PARLEY_BENCH_DATABASE_URL`` if set; otherwise the local stack's (``deploy/local/infra.sh
up``), in a database of its own, ``parley_bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench import asof, fanout, freshness, ingest, peer, projection, rebuild
from bench.context import FULL, QUICK, Context, say, verdict
from bench.loader import load
from bench.report import document, ms
from services.projector.migrate import upgrade_to_head

ROOT = Path(__file__).resolve().parents[1]


def local_infra() -> tuple[str, str]:
    """Kafka's address and the bench database's URL on the local stack's infrastructure."""
    infra = ROOT / "deploy" / "local" / "infra.sh"
    subprocess.run(["bash", str(infra), "up"], check=True)
    env = subprocess.run(
        ["bash", str(infra), "env"], check=True, capture_output=True, text=True
    ).stdout
    found = dict(
        line.removeprefix("export ").split("=", 1) for line in env.splitlines() if "=" in line
    )
    url = found["PARLEY_DATABASE_URL"]
    return found["PARLEY_KAFKA_BOOTSTRAP_SERVERS"], url.rsplit("/", 1)[0] + "/parley_bench"


async def ensure_database(url: str) -> None:
    """Create the bench database if missing (as the local superuser, which trusts loopback)."""
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    try:
        await (await asyncpg.connect(dsn)).close()
    except asyncpg.InvalidCatalogNameError:
        host = dsn.split("@", 1)[1].rsplit("/", 1)[0]
        admin = await asyncpg.connect(f"postgresql://postgres@{host}/postgres")
        name = dsn.rsplit("/", 1)[1]
        await admin.execute(f'CREATE DATABASE "{name}" OWNER parley')
        await admin.close()


def progress(label: str):
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        print(
            f"\r{label}: {done}/{total} ({time.monotonic() - started:.0f} s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done == total:
            print(file=sys.stderr)

    return show


async def run_asof(url: str, talks: int, size: int, samples: int, folds: int) -> str:
    """The as-of section alone (the quick test calls it)."""
    section, _ = await measure_asof(url, talks, size, samples, folds)
    return section


async def measure_asof(
    url: str, talks: int, size: int, samples: int, folds: int
) -> tuple[str, list[asof.Timing]]:
    started = time.monotonic()
    await load(url.replace("postgresql+asyncpg", "postgresql"), talks, size, progress("loading"))
    loaded = time.monotonic() - started
    say("measuring as-of queries and folds")
    timings = await asof.measure(url, talks, size, samples, folds)
    by_name = {t.name: t for t in timings}
    present = by_name["state, present"]
    fold = by_name["fold() of the talks' events"]
    rows = [f"| {t.name} | {len(t.samples)} | {ms(t.p50)} | {ms(t.p99)} |" for t in timings]
    worst = max(timings[1:3], key=lambda t: t.p99)
    within = worst.p99 / present.p99
    faster50, faster99 = fold.p50 / worst.p50, fold.p99 / worst.p99
    section = "\n".join(
        [
            f"## As-of queries: {talks * size:,} events over {talks} talks",
            "",
            f"Loaded in {loaded:.0f} s straight into the read-model tables (the rows the projector",
            "writes, computed by the same `histories`, copied with COPY). Each sample is",
            "`talks_state_json()`: the SQL and the assembly, without HTTP. The fold is `fold()`",
            f"over the {size:,} events of one talks, in memory, at a random (as_of, known_at)",
            "pair as in the third case (its cost grows with how much of the history is in",
            "effect). The three cases take turns and the folds are spread among them, so that",
            "all saw the machine over the same minute. What the harness held before is frozen",
            "(`gc.freeze`, as the API's entrypoint freezes what its start-up built).",
            "",
            "| query | samples | p50 | p99 |",
            "|---|---|---|---|",
            *rows,
            "",
            "| ratio | value | target | |",
            "|---|---|---|---|",
            f"| worst as-of p99 / present p99 | {within:.2f} | <= 2 | "
            f"{verdict(within <= 2, within, 2, higher_is_better=False)} |",
            f"| fold p50 / as-of p50 | {faster50:.0f}x | >= 100x | "
            f"{verdict(faster50 >= 100, faster50, 100)} |",
            f"| fold p99 / as-of p99 | {faster99:.0f}x | >= 100x | "
            f"{verdict(faster99 >= 100, faster99, 100)} |",
            "",
        ]
    )
    return section, timings


BENCHMARKS = ("ingest", "projection", "freshness", "fanout", "asof", "peer", "rebuild")


async def run_all(ctx: Context, only: set[str]) -> list[str]:
    """Every benchmark asked for, in an order where each finds what it needs."""
    s = ctx.sizes
    await ensure_database(ctx.database_url)
    await asyncio.to_thread(upgrade_to_head, ctx.database_url)
    sections: list[str] = []
    batch_rate: float | None = None
    timings: list[asof.Timing] = []
    if "ingest" in only:
        result = await ingest.run(ctx)
        sections += [result.batch_section, result.single_section]
        batch_rate = result.batch_rate
    if "projection" in only:
        sections.append(await projection.run(ctx))
    if "freshness" in only:
        sections.append(await freshness.run(ctx))
    if "fanout" in only:
        sections.append(await fanout.run(ctx))
    if "asof" in only or "peer" in only:
        say(f"as-of queries: loading {s.asof_talks * s.asof_size:,} events")
        section, timings = await measure_asof(
            ctx.database_url, s.asof_talks, s.asof_size, s.asof_samples, s.asof_folds
        )
        if "asof" in only:
            sections.append(section)
    if "peer" in only:
        sections.append(await peer.run(ctx, batch_rate, timings))
    if "rebuild" in only:  # last: a schema of its own, and the longest
        sections.append(await rebuild.run(ctx))
    sections.append(memory_section(ctx.memory.peaks))
    return sections


def memory_section(peaks: dict[str, int]) -> str:
    rows = []
    for name, rss in sorted(peaks.items()):
        mb = rss / 1024 / 1024
        rows.append(f"| {name} | {mb:,.0f} MB | <= 300 MB | {verdict(mb <= 300, mb, 300, False)} |")
    return "\n".join(
        [
            "## Memory: peak RSS of each service process",
            "",
            "Sampled every 100 ms with psutil for as long as each process ran during the",
            "benchmarks above (the highest of any process of that service).",
            "",
            "| service | peak RSS | target | |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for make test")
    parser.add_argument("--output", type=Path, help="write the report here (default: print)")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        help="run only this benchmark (repeatable; default: all)",
    )
    args = parser.parse_args()
    kafka = os.environ.get("PARLEY_BENCH_KAFKA_BOOTSTRAP_SERVERS")
    url = os.environ.get("PARLEY_BENCH_DATABASE_URL")
    if not (kafka and url):
        local_kafka, local_url = local_infra()
        kafka, url = kafka or local_kafka, url or local_url
    ctx = Context(kafka=kafka, database_url=url, sizes=QUICK if args.quick else FULL)
    started = time.monotonic()
    try:
        sections = asyncio.run(run_all(ctx, set(args.only or BENCHMARKS)))
    finally:
        ctx.memory.close()
    command = "make bench" if not args.quick else "python -m bench --quick"
    if args.only:
        command += "".join(f" --only {name}" for name in args.only)
    text = document(sections, command, time.monotonic() - started, ctx.sizes)
    if args.output:
        args.output.write_text(text)
        say(f"wrote {args.output}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
