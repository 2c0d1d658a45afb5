"""The benchmarks at `--quick` size, so they never rot (figures are not judged here, only
that every section ran and reports sane numbers)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import run_asof
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

SECTIONS = (
    "## Batch ingest",
    "### Where the ingest's time goes",
    "## Single-event ingest",
    "## Projection",
    "### Where the projector's time goes",
    "## Freshness",
    "## Fan-out",
    "## As-of queries",
    "## A peer: eventsourcing",
    "## Rebuild",
    "## Memory: peak RSS",
)


async def test_the_asof_benchmark_runs_and_reports_every_figure(infra) -> None:
    section = await run_asof(infra.database_url, talks=2, size=200, samples=5, folds=1)
    for row in ("state, present", "state, past as_of and known_at", "fold() of the talks' events"):
        assert f"| {row} | " in section
    assert "| worst as-of p99 / present p99 |" in section


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_python_m_bench_quick_writes_every_section_with_sane_figures(
    infra: Infra, tmp_path: Path
) -> None:
    output = tmp_path / "benchmarks.md"
    env = {
        **os.environ,
        "PARLEY_BENCH_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "PARLEY_BENCH_DATABASE_URL": infra.database_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = output.read_text()
    for heading in SECTIONS:
        assert heading in report, f"missing {heading!r}"
    assert "- command: `python -m bench --quick`" in report
    # every throughput is a positive number, every ratio a positive finite one
    rates = re.findall(r"\| ([\d,]+) \| [\d, ]+ \|$", report, re.MULTILINE)
    assert len(rates) >= 5 and all(_number(r) > 0 for r in rates), rates
    ratios = re.findall(r"^\| (?:Parley / [^|]+|projector / COPY) \| ([\d.]+) \|", report, re.M)
    assert len(ratios) == 3 and all(0 < float(r) < 100 for r in ratios), ratios
    # every single-event request was answered 202, and every stream client got every event
    assert re.search(r"\| Parley ingest \| [\d,]+ \| [\d.]+ ms \| [\d.]+ ms \| 0 \|", report)
    assert re.search(r"clients that got every event \| (\d+) of \1 \|", report)
    # the rebuild ran to its end within its budget, and the new tables hold every event
    rebuilt = re.search(r"whole log, ([\d,]+) events; the new tables hold ([\d,]+)", report)
    assert rebuilt and rebuilt[1] == rebuilt[2] and _number(rebuilt[1]) > 0, rebuilt
    assert re.search(r"^\| rebuild events/s \| [1-9][\d,]* \| >= 10,000 \|", report, re.M)
    memory = re.findall(r"^\| (ingest|projector|api|rebuild) \| ([\d,]+) MB \|", report, re.M)
    assert {name for name, _ in memory} == {"ingest", "projector", "api", "rebuild"}
    assert all(10 < _number(mb) < 4000 for _, mb in memory)
