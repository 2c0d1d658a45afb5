"""``parley load FILE``: post a JSON Lines file of events to the ingest, then summarise."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import httpx

from services.cli.posting import IngestUnreachable, Sleep, post_line
from services.cli.progress import Progress
from services.cli.source import EventLine, parse_lines
from services.cli.summary import Rejection, Summary

DEFAULT_INGEST_URL = "http://127.0.0.1:8001"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # the ingest answers within its produce timeout


async def load_file(
    path: str,
    ingest_url: str,
    *,
    concurrency: int = 4,
    quiet: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    api_key: str | None = None,
) -> int:
    """Load the file at ``path`` (``-`` for stdin) into the ingest; return the exit code.

    Prints the progress on ``stderr`` unless ``quiet``, and the summary on ``stdout``. The
    exit code is 0 when every line was recorded (or already was), 1 when a line was
    rejected, 2 when the file cannot be read or the ingest cannot be reached.
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        lines = read_lines(path)
    except OSError as exc:
        print(f"parley load: cannot read {path}: {exc.strerror or exc}", file=stderr)
        return 2
    progress = (
        None
        if quiet
        else Progress(f"loading {'stdin' if path == '-' else path}", len(lines), stderr)
    )
    summary, unreachable = Summary(), None
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(
        base_url=ingest_url, transport=transport, timeout=TIMEOUT, headers=headers
    ) as client:
        try:
            await load_lines(
                lines,
                client,
                summary,
                concurrency=concurrency,
                on_done=progress.advance if progress else lambda: None,
            )
        except IngestUnreachable as exc:
            unreachable = exc
        finally:
            if progress:
                progress.close()
    if unreachable is None:
        print(summary.report(), file=stdout)
        return 1 if summary.rejected else 0
    if summary.accepted or summary.duplicates:
        print(summary.report(), file=stdout)
        print(f"not sent, or sent without an answer: {len(lines) - summary.done}", file=stdout)
    print(f"parley load: {unreachable}", file=stderr)
    return 2


def read_lines(path: str) -> list[EventLine]:
    """The event lines of the file at ``path``, or of stdin for ``-``."""
    if path == "-":
        return parse_lines(sys.stdin.buffer)
    with open(path, "rb") as file:
        return parse_lines(file)


async def load_lines(
    lines: Sequence[EventLine],
    client: httpx.AsyncClient,
    summary: Summary,
    *,
    concurrency: int = 4,
    on_done: Callable[[], None] = lambda: None,
    sleep: Sleep = asyncio.sleep,
) -> Summary:
    """Post ``lines`` through ``client`` (its ``base_url`` is the ingest) and count the outcomes.

    Lines of the same talks are posted one after the other in file order; up to
    ``concurrency`` talks are posted at once. Lines that are not JSON are rejected without
    being sent. Raises :class:`IngestUnreachable` when the ingest refuses the connection;
    ``summary`` then holds what was done until then.
    """
    by_talks: dict[str, list[EventLine]] = {}
    for line in lines:
        if line.error is not None:
            summary.add(Rejection(line.number, (line.error,)))
            on_done()
        else:
            by_talks.setdefault(line.talks_key, []).append(line)
    queue = list(by_talks.values())
    queue.reverse()  # pop() from the end takes the talks in order of first appearance

    async def worker() -> None:
        while queue:
            for line in queue.pop():
                summary.add(await post_line(client, line, sleep))
                on_done()

    try:
        async with asyncio.TaskGroup() as tasks:
            for _ in range(min(concurrency, len(queue))):
                tasks.create_task(worker())
    except* IngestUnreachable as group:
        raise group.exceptions[0] from None
    return summary
