"""The fault scenarios of faults/ at a smaller size: real processes, real faults, a tally.

Each starts its own Kafka and PostgreSQL (deploy/local/infra.sh) on free ports, so these tests
need no fixture; ``make fault-*`` runs the same scenarios at full size.
"""

from __future__ import annotations

import pytest

from faults import kafka_down, kill_projector, postgres_down

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


async def test_projector_killed_mid_backlog_applies_every_event_once() -> None:
    report = await kill_projector.run(events=10_000, kills=2)
    assert report.tally.acknowledged == 10_000
    assert report.figures["kills"] >= 1  # a fast machine may catch up before a second kill
    assert report.ok, report.lines()


async def test_kafka_stopped_under_load_refuses_with_503_and_loses_nothing() -> None:
    report = await kafka_down.run(events=1_000, outage_s=10, recovery_s=60)
    assert report.tally.acknowledged > 0
    assert report.tally.missing == report.tally.duplicated == 0, report.lines()
    assert report.figures["503"] > 0, report.lines()
    assert report.figures["other 5xx"] == 0, report.lines()
    assert report.figures["202 while Kafka was down"] == 0, report.lines()
    assert report.figures["never acknowledged"] == 0, report.lines()  # aiokafka#1017 handled
    assert report.ok, report.lines()


async def test_postgres_stopped_mid_projection_costs_nothing() -> None:
    report = await postgres_down.run(events=3_000, outage_s=10)
    assert report.tally.acknowledged == 3_000
    assert report.figures["projector exits"] == 0, report.lines()
    assert report.ok, report.lines()
