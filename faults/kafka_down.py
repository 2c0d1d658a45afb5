"""Stop the Kafka broker for 10 s under a load of single-event POSTs, then start it again.

While the broker is down the ingest must answer 503 (the clients retry later with the same
``event_id``) and never 202: a 202 whose request started after the broker had stopped and
ended before it was started again is a violation. No 5xx other than 503 is allowed. After
the broker returns, every acknowledged event must reach the read models exactly once.
"""

from __future__ import annotations

import asyncio
import time

from faults.load import ACCEPTED, Ledger, client, generate, post_singly
from faults.scenario import Scenario, reporting, say
from faults.tally import Report, tally_when_projected


async def run(
    events: int = 4_000, outage_s: float = 10.0, clients: int = 16, recovery_s: float = 120.0
) -> Report:
    """``recovery_s``: how long after the outage the clients keep retrying."""
    async with Scenario("kafka-down") as scenario:
        ingest = await scenario.start("ingest", ready="/readyz")
        await scenario.start("projector")
        ledger, load = Ledger(), generate(events, scenario.talks_prefix)
        give_up_at = time.monotonic() + outage_s + recovery_s
        async with client(ingest.url, scenario.key) as http, reporting(ledger.summary):
            await post_singly(http, load[: events // 4], ledger, give_up_at, clients)
            async with asyncio.TaskGroup() as tasks:
                rest = post_singly(http, load[events // 4 :], ledger, give_up_at, clients)
                tasks.create_task(rest)
                stopped_at, restarted_at = await _outage(scenario, outage_s)
        say(f"loaded: {ledger.summary()}")

        report = await tally_when_projected(scenario, ledger.acknowledged)
        during = [
            a
            for a in ledger.answers
            if a.status in ACCEPTED and stopped_at < a.started_at and a.ended_at < restarted_at
        ]
        others = sum(n for status, n in ledger.statuses.items() if status >= 500 and status != 503)
        unanswered = events - len(ledger.acknowledged)
        report.figures = {
            "503": ledger.statuses[503],
            "other 5xx": others,
            "202 while Kafka was down": len(during),
            "never acknowledged": unanswered,
        }
        report.notes += [f"{n} x 503: {why}" for why, n in ledger.refusals.most_common(3)]
        if not ledger.statuses[503]:
            report.problems.append("the ingest never answered 503 while Kafka was down")
        if others:
            report.problems.append(f"{others} answers were 5xx other than 503")
        if during:
            report.problems.append(f"{len(during)} events were acknowledged while Kafka was down")
        if unanswered:
            report.problems.append(
                f"{unanswered} events were still refused {recovery_s:.0f}s after the outage"
            )
        return report


async def _outage(scenario: Scenario, outage_s: float) -> tuple[float, float]:
    """Stop the broker, wait, start it again: when it had stopped, when it was started again."""
    say("stopping Kafka")
    await scenario.infra.stop_kafka()
    stopped_at = time.monotonic()
    say(f"Kafka stopped; starting it again in {outage_s:.0f}s")
    await asyncio.sleep(outage_s)
    restarted_at = time.monotonic()
    await scenario.infra.up()
    return stopped_at, restarted_at
