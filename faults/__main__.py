"""``python -m faults <scenario> [--events N]``: run one fault scenario and print its tally.

Progress goes to stderr; the tally to stdout. Exit code 0 only when no acknowledged event is
missing or duplicated and the scenario's own checks passed; 1 otherwise; 130 if interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

from faults import kafka_down, kill_projector, postgres_down
from faults.tally import Report

SCENARIOS: dict[str, Callable[..., Awaitable[Report]]] = {
    "kill-projector": kill_projector.run,
    "kafka-down": kafka_down.run,
    "postgres-down": postgres_down.run,
}


async def _run(scenario: str, events: int | None) -> Report:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # clean up too
    return await SCENARIOS[scenario](**({"events": events} if events else {}))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument(
        "--events", type=int, help="how many events to load (default: per scenario)"
    )
    args = parser.parse_args()
    try:
        report = asyncio.run(_run(args.scenario, args.events))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130
    for line in report.lines():
        print(f"{args.scenario}: {line}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
