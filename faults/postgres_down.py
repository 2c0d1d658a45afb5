"""Stop PostgreSQL for 10 s while the projector works through a backlog, then start it again.

The projector must stay alive (log, back off, retry; a bounded number of error lines), lose
nothing and catch up once PostgreSQL is back: a batch whose transaction did not commit is
consumed again from the positions stored with the read models.
"""

from __future__ import annotations

import asyncio
import re
import time

from faults.load import backlog
from faults.scenario import Scenario, say
from faults.tally import Report, archived_at_least, tally_when_projected

MAX_ERROR_LINES = 30
# a plain log line, a JSON one, or a traceback
ERROR_LINE = re.compile(r'\b(ERROR|CRITICAL)\b|"level": ?"(error|critical)"|^Traceback')


async def run(events: int = 20_000, outage_s: float = 10.0) -> Report:
    async with Scenario("postgres-down") as scenario:
        ingest = await scenario.start("ingest", ready="/readyz")
        ledger = await backlog(scenario, ingest, events)
        total = len(ledger.acknowledged)

        projector = await scenario.start("projector")
        done = await archived_at_least(scenario.engine, total // 5)
        say(f"stopping PostgreSQL with {done} of {total} events archived")
        await scenario.infra.stop_postgres()
        await scenario.engine.dispose()  # its pooled connections died with the server
        deadline, survived = time.monotonic() + outage_s, True
        while time.monotonic() < deadline:
            survived = survived and projector.alive
            await asyncio.sleep(0.2)
        say(f"PostgreSQL stopped for {outage_s:.0f}s; starting it again")
        await scenario.infra.up()

        report = await tally_when_projected(scenario, ledger.acknowledged)
        errors = sum(1 for line in projector.log_lines() if ERROR_LINE.search(line))
        alive = survived and projector.alive
        report.figures = {
            "archived when stopped": done,
            "projector exits": int(not alive),
            "error lines in its log": errors,
        }
        if not 0 < done < total:
            report.problems.append(f"PostgreSQL stopped with {done} of {total} events archived")
        if not alive:
            report.problems.append(f"the projector exited:\n{projector.tail(10)}")
        if errors >= MAX_ERROR_LINES:
            report.problems.append(f"{errors} error lines in the projector's log")
        return report
