"""kill -9 the projector at random moments while it works through a backlog, restart it.

50,000 events go through the ingest in batches of 1,000 while no projector runs; then the
projector starts on the backlog and is killed whenever the archive passes a randomly chosen
count, strictly between none and all. Afterwards every acknowledged event must be in the
read models exactly once: positions stored in the projection's transaction make a killed
batch roll back whole, and the restarted projector resume right after the last committed one.
"""

from __future__ import annotations

import asyncio
import random

from faults.load import backlog
from faults.scenario import Scenario, say
from faults.tally import Report, archived, archived_at_least, tally_when_projected


async def run(events: int = 50_000, kills: int = 3) -> Report:
    async with Scenario("kill-projector") as scenario:
        ingest = await scenario.start("ingest", ready="/readyz")
        ledger = await backlog(scenario, ingest, events)
        total = len(ledger.acknowledged)

        projector = await scenario.start("projector")
        killed_at: list[int] = []
        done = 0
        for target in sorted(random.sample(range(total // 10, total * 9 // 10), kills)):
            # past the target, and past where the last one was killed: it is working again
            await archived_at_least(scenario.engine, max(target, done + 1))
            await asyncio.sleep(random.uniform(0, 0.1))  # into its next batch, maybe
            done = await archived(scenario.engine)
            if done >= total:
                break  # it finished first: reported below
            await projector.kill()
            killed_at.append(done)
            say(f"kill -9 projector with {done} of {total} events archived")
            await projector.start()

        report = await tally_when_projected(scenario, ledger.acknowledged)
        report.figures["kills"] = len(killed_at)
        report.notes.append(f"killed with {killed_at} of {total} events archived")
        if not killed_at:
            report.problems.append(f"none of {kills} kills landed mid-backlog")
        elif len(killed_at) < kills:  # a fast projector finished first: nothing went wrong
            report.notes.append(f"only {len(killed_at)} of {kills} kills landed mid-backlog")
        return report
