"""``parley``: the command line. Parses the arguments and dispatches to a command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from services.cli.deadletters import add_dead_letters_command, run_dead_letters
from services.cli.keys import add_keys_command, run_keys
from services.cli.load import DEFAULT_INGEST_URL, load_file
from services.cli.rebuild import add_projections_command, run_projections
from services.cli.schemas import DEFAULT_DIR, check_schemas, write_schemas

EPILOG = """\
exit codes: 0 every event was recorded (or had been already), 1 some line was rejected,
2 a usage error, an unreadable file or an unreachable ingest."""

LOAD_DESCRIPTION = """\
Post a file of events to the ingest (POST {URL}/v1/events), one JSON object per line
(JSON Lines). Blank lines and lines starting with # are skipped; a line that is not JSON is
reported and not sent.

Events of the same talks_id are posted one after the other, in file order; different talks
are posted concurrently. When the ingest answers 503 (Kafka did not acknowledge), the line is
sent again after the Retry-After wait (at most 30 s, at most 5 retries), with the event_id
the ingest assigned, so that a retry cannot record an event twice.

Progress goes to stderr. At the end, stdout gets "accepted N, duplicates N, rejected N" and
one "line N: field: message" per error of each rejected line.

Give every event an event_id (a UUID) to make loading the same file again safe: the ingest
answers an event_id it has already recorded as a duplicate."""

SCHEMAS_DESCRIPTION = """\
write: generate the JSON Schema of every event type (and of any event) from the event models
and write them as schemas/<type>.v<version>.json; files of older versions are left alone.
check: exit 1, naming the files, if the files differ from the models (exit 0 otherwise)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``parley`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="parley",
        description="Parley's command-line tool. 'parley COMMAND --help' describes a command.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    load = commands.add_parser(
        "load",
        help="post a JSON Lines file of events to the ingest",
        description=LOAD_DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("file", metavar="FILE", help="the JSON Lines file; - reads stdin")
    load.add_argument(
        "--ingest",
        metavar="URL",
        type=http_url,
        default=os.environ.get("PARLEY_INGEST_URL") or DEFAULT_INGEST_URL,
        help=f"the ingest's base URL (default: $PARLEY_INGEST_URL, else {DEFAULT_INGEST_URL})",
    )
    load.add_argument(
        "--concurrency",
        metavar="N",
        type=positive_int,
        default=4,
        help="how many talks to post at once (default: 4)",
    )
    load.add_argument(
        "--key",
        metavar="KEY",
        default=os.environ.get("PARLEY_API_KEY") or os.environ.get("PARLEY_BOOTSTRAP_KEY"),
        help="an API key with the scope events:write (default: $PARLEY_API_KEY)",
    )
    load.add_argument("--quiet", action="store_true", help="do not show the progress")
    schemas = commands.add_parser(
        "schemas",
        help="write or check the JSON Schemas of the events under schemas/",
        description=SCHEMAS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schemas.add_argument("action", choices=["write", "check"])
    schemas.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"where the schema files live (default: ./{DEFAULT_DIR})",
    )
    add_keys_command(commands)
    add_dead_letters_command(commands)
    add_projections_command(commands)
    return parser


def http_url(value: str) -> str:
    """An http(s) URL, without a trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def positive_int(value: str) -> int:
    """An integer from 1 to 64."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 64, not {value!r}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``parley`` with ``argv`` (the process's arguments by default); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "keys":
        return run_keys(args)
    if args.command == "dead-letters":
        return run_dead_letters(args)
    if args.command == "projections":
        return run_projections(args)
    if args.command == "schemas":
        run = write_schemas if args.action == "write" else check_schemas
        return run(args.dir, sys.stdout)
    if args.command != "load":
        parser.print_help(sys.stderr)
        return 2
    try:
        return asyncio.run(
            load_file(
                args.file,
                args.ingest,
                concurrency=args.concurrency,
                quiet=args.quiet,
                api_key=args.key,
            )
        )
    except KeyboardInterrupt:
        print("parley: interrupted; the events sent so far may have been recorded", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
