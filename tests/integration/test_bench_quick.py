"""The benchmarks at `--quick` size, so they never rot (figures are not judged here)."""

from __future__ import annotations

import pytest

from bench.__main__ import run_asof

pytestmark = pytest.mark.integration


async def test_the_asof_benchmark_runs_and_reports_every_figure(infra) -> None:
    section = await run_asof(infra.database_url, talks=2, size=200, samples=5, folds=1)
    for row in ("state, present", "state, past as_of and known_at", "fold() of the talks' events"):
        assert f"| {row} | " in section
    assert "| worst as-of p99 / present p99 |" in section
