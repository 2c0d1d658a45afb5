"""``parley dead-letters list|replay``: the projector's dead letters, straight in its database.

Uses the projector's settings (``PARLEY_DATABASE_URL``, ``PARLEY_KAFKA_BOOTSTRAP_SERVERS``,
``PARLEY_TOPIC``, ``PARLEY_CONSUMER_GROUP``); the logic is in services/projector/redrive.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from services.common.database import create_engine
from services.common.eventlog import open_log
from services.projector.appender import TopicAppender
from services.projector.letters import counts, list_letters
from services.projector.redrive import resolve
from services.projector.settings import ProjectorSettings, get_settings

DESCRIPTION = """\
list: the dead letters, oldest first (default: the open ones).
replay: put the chosen open letters back on the topic, with the header parley_replay_of, and
mark them replayed; with --skip, mark them skipped instead. For a talks parked behind a dead
letter (PARLEY_POISON_POLICY=pause) all its open letters go together, in order; --skip never
skips the records merely parked behind the poison: those are always replayed. Exit code 1
when a chosen id is not an open letter."""


def add_dead_letters_command(commands: Any) -> None:
    letters = commands.add_parser(
        "dead-letters",
        help="list, replay or skip the projector's dead letters",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    letters.add_argument("action", choices=["list", "replay"])
    letters.add_argument(
        "--status", choices=["open", "replayed", "skipped", "all"], default="open", help="list"
    )
    letters.add_argument("--limit", type=int, default=1000, help="list: at most this many")
    which = letters.add_mutually_exclusive_group()
    which.add_argument("--id", type=int, action="append", dest="ids", help="replay: repeatable")
    which.add_argument("--all", action="store_true", help="replay: every open letter")
    letters.add_argument("--skip", action="store_true", help="replay: mark skipped instead")


def run_dead_letters(args: argparse.Namespace) -> int:
    """Run a ``parley dead-letters`` action; return the exit code."""
    if args.action == "replay" and not (args.ids or args.all):
        print("parley dead-letters replay: give --id ID (repeatable) or --all", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, get_settings()))
    except OSError as exc:
        print(f"parley dead-letters: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: ProjectorSettings) -> int:
    engine = create_engine(settings.database_url)
    try:
        if args.action == "list":
            return await _list(engine, settings, args)
        return await _replay(engine, settings, args)
    finally:
        await engine.dispose()


async def _list(engine: Any, settings: ProjectorSettings, args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status
    rows, more = await list_letters(
        engine,
        settings.topic,
        status=status,
        limit=args.limit,
        consumer_group=settings.consumer_group,
    )
    for row in rows:
        print(
            f"{row['id']:>6}  {row['partition']}:{row['offset']}  {row['status']:<8}  "
            f"{row['error_type']:<17}  {row['talks_id'] or '-'}  {row['event_id'] or '-'}  "
            f"{row['dead_at']:%Y-%m-%dT%H:%M:%SZ}  {row['error'].splitlines()[0][:120]}"
        )
    found = await counts(engine, settings.consumer_group, settings.topic)
    more_text = " (more: raise --limit)" if more is not None else ""
    print(
        f"{found['open_dead_letters']} open dead letter(s), "
        f"{found['parked_talks']} parked talks{more_text}",
        file=sys.stderr,
    )
    return 0


async def _replay(engine: Any, settings: ProjectorSettings, args: argparse.Namespace) -> int:
    appender = TopicAppender(open_log(settings, "parley-replay"), settings.topic, owns=True)
    await appender.start()
    try:
        done = await resolve(
            engine,
            appender,
            settings.consumer_group,
            settings.topic,
            ids=None if args.all else args.ids,
            skip=args.skip,
        )
    finally:
        await appender.stop()
    print(f"replayed {len(done.replayed)}, skipped {len(done.skipped)}")
    if done.releasing:
        print(f"released once their last replay is applied: {', '.join(done.releasing)}")
    if done.released:
        print(f"released: {', '.join(done.released)}")
    if done.not_open:
        listed = ", ".join(str(i) for i in done.not_open)
        print(f"not open dead letters (left alone): {listed}", file=sys.stderr)
        return 1
    return 0
