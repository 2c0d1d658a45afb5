"""``python -m bench``: run the benchmarks and write docs/benchmarks.md.

The database is ``PARLEY_BENCH_DATABASE_URL`` if set; otherwise the local stack's PostgreSQL
(``deploy/local/infra.sh up``), in a database of its own, ``parley_bench``.
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

from bench import asof
from bench.loader import load
from bench.report import document, ms
from services.projector.migrate import upgrade_to_head

ROOT = Path(__file__).resolve().parents[1]


def local_database() -> str:
    infra = ROOT / "deploy" / "local" / "infra.sh"
    subprocess.run(["bash", str(infra), "up"], check=True)
    env = subprocess.run(
        ["bash", str(infra), "env"], check=True, capture_output=True, text=True
    ).stdout
    url = next(line.split("=", 1)[1] for line in env.splitlines() if "PARLEY_DATABASE_URL" in line)
    return url.rsplit("/", 1)[0] + "/parley_bench"


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
    started = time.monotonic()
    await load(url.replace("postgresql+asyncpg", "postgresql"), talks, size, progress("loading"))
    loaded = time.monotonic() - started
    print("measuring as-of queries and folds", file=sys.stderr)
    timings = await asof.measure(url, talks, size, samples, folds)
    by_name = {t.name: t for t in timings}
    present = by_name["state, present"]
    fold = by_name["fold() of the talks' events"]
    rows = [f"| {t.name} | {len(t.samples)} | {ms(t.p50)} | {ms(t.p99)} |" for t in timings]
    worst = max(timings[1:3], key=lambda t: t.p99)
    return "\n".join(
        [
            f"## As-of queries: {talks * size:,} events over {talks} talks",
            "",
            f"Loaded in {loaded:.0f} s straight into the read-model tables (the rows the projector",
            "writes, computed by the same `histories`, copied with COPY). Each sample is",
            "`talks_state()`: the SQL and the assembly, without HTTP. The fold is `fold()` over",
            "the",
            f"{size:,} events of one talks, in memory.",
            "",
            "| query | samples | p50 | p99 |",
            "|---|---|---|---|",
            *rows,
            "",
            "| ratio | value | target |",
            "|---|---|---|",
            f"| worst as-of p99 / present p99 | {worst.p99 / present.p99:.2f} | <= 2 |",
            f"| fold p50 / as-of p50 | {fold.p50 / worst.p50:.0f}x | >= 100x |",
            f"| fold p99 / as-of p99 | {fold.p99 / worst.p99:.0f}x | >= 100x |",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for make test")
    parser.add_argument("--output", type=Path, help="write the report here (default: print)")
    args = parser.parse_args()
    url = os.environ.get("PARLEY_BENCH_DATABASE_URL") or local_database()
    talks, size, samples, folds = (2, 300, 20, 2) if args.quick else (100, 10_000, 300, 10)
    asyncio.run(ensure_database(url))
    upgrade_to_head(url)
    section = asyncio.run(run_asof(url, talks, size, samples, folds))
    command = "make bench" if not args.quick else "python -m bench --quick"
    text = document([section], command)
    if args.output:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
