"""``parley projections rebuild``: rebuild the read models from the log and switch to them.

Uses the projector's settings; the logic is in services/projector/rebuild.py. Progress goes
to stderr, the summary to stdout; with ``--metrics-port`` the process also serves its
``parley_rebuild_*`` gauges at ``/metrics`` while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any, TextIO

from prometheus_client import start_http_server

from services.cli.progress import Progress
from services.common.database import create_engine
from services.common.heap import frozen_heap
from services.projector import rebuild
from services.projector.dlq import KafkaDeadLetterQueue, ensure_topics
from services.projector.settings import get_settings

DESCRIPTION = """\
rebuild: read the topic from the beginning into new tables while the old ones keep serving,
catch up with the running projector, then switch to the new tables in one transaction. The
projector may keep running; it waits for the switch. PostgreSQL only. --keep-old keeps the
previous tables as <table>__old until the next rebuild. --metrics-port serves the progress
as Prometheus gauges (parley_rebuild_*) at http://<PARLEY_HTTP_HOST>:<port>/metrics while
the rebuild runs."""


class RebuildProgress(Progress):
    """The progress line, with the rate: ``rebuilding: 1200/5000 events (24%), 812 events/s``."""

    rate = 0.0

    def line(self) -> str:
        return f"{super().line()}, {self.rate:,.0f} events/s"


def add_projections_command(commands: Any) -> None:
    projections = commands.add_parser(
        "projections",
        help="rebuild the read models from the log",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    projections.add_argument("action", choices=["rebuild"])
    projections.add_argument("--keep-old", action="store_true", help="keep <table>__old")
    projections.add_argument("--quiet", action="store_true", help="do not show the progress")
    projections.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve the progress at /metrics on this port (on PARLEY_HTTP_HOST) while running",
    )


def run_projections(args: argparse.Namespace) -> int:
    """Run ``parley projections rebuild``; return the exit code.

    SIGTERM (a supervisor, a Kubernetes Job) stops it as Ctrl-C does: the transaction that
    would switch the tables is rolled back and the live tables stay as they were."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(
            rebuild_projections(
                keep_old=args.keep_old, quiet=args.quiet, metrics_port=args.metrics_port
            )
        )
    except rebuild.RebuildBusy as exc:
        print(f"parley projections rebuild: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "parley projections rebuild: interrupted; the live tables are unchanged",
            file=sys.stderr,
        )
        return 130


async def rebuild_projections(
    *,
    keep_old: bool = False,
    quiet: bool = False,
    stdout: TextIO | None = None,
    metrics_port: int | None = None,
) -> int:
    """Rebuild with the projector's settings; print the progress and a summary.

    ``metrics_port``: serve the ``parley_rebuild_*`` gauges at ``/metrics`` until it ends.
    """
    settings = get_settings()
    metrics = None
    if metrics_port is not None:
        metrics, _ = start_http_server(metrics_port, addr=settings.http_host)
    stdout = stdout or sys.stdout
    progress = RebuildProgress("rebuilding", 0, sys.stderr)

    async def show(p: rebuild.Progress) -> None:
        progress.label, progress.total = f"rebuilding ({p.phase})", p.total
        progress.rate = p.events / p.seconds if p.seconds > 0 else 0.0
        progress.advance(p.records - progress.done)

    engine = create_engine(settings.database_url)
    await ensure_topics(settings)
    queue = KafkaDeadLetterQueue(
        settings.kafka_bootstrap_servers, settings.dead_letter_topic, settings.topic
    )
    await queue.start()
    try:
        job = rebuild.Rebuild(
            engine, settings, queue, keep_old=keep_old, on_progress=None if quiet else show
        )
        with frozen_heap():  # the projector's collector tuning (services/common/heap.py)
            report = await job.run()
    finally:
        if not quiet:
            progress.close()
        await queue.stop()
        await engine.dispose()
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
    rate = report.events / report.seconds if report.seconds > 0 else 0.0
    print(
        f"rebuilt {report.events} events from {report.records} records in "
        f"{report.seconds:.1f} s ({rate:,.0f} events/s); {report.dead_lettered} dead-lettered; "
        f"{report.caught_up} records caught up after the start ({report.at_switch} at the "
        "switch); the new tables are live",
        file=stdout,
    )
    return 0
