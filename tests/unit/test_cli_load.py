"""``parley load`` against the real ingest app, with an in-memory log standing in for Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.__main__ import main
from services.cli.load import load_file, load_lines
from services.cli.posting import MAX_RETRIES, MAX_WAIT_S
from services.cli.progress import Progress
from services.cli.source import parse_lines
from services.cli.summary import Summary
from services.ingest.app import create_app
from services.ingest.publisher import PublisherUnavailable, Receipt
from services.ingest.receipts import MemoryReceipts
from services.ingest.settings import IngestSettings
from shared.events import parse_recorded
from tests.support.auth import AUTH, KEY
from tests.support.services import free_port

pytestmark = pytest.mark.unit


#: Earlier rounds take longer to publish: two rounds of one talks posted at once would swap.
LAG_S = {"r1": 0.02, "r2": 0.01}


class MemoryLog:
    """The topic in memory; refuses the first ``failures`` publishes as a broker that is down."""

    def __init__(self, failures: int = 0) -> None:
        self.records: list[tuple[str, bytes]] = []
        self.attempts: list[bytes] = []
        self.failures = failures

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Receipt:
        self.attempts.append(value)
        await asyncio.sleep(LAG_S.get(json.loads(value)["data"]["round_id"], 0))
        if self.failures:
            self.failures -= 1
            raise PublisherUnavailable("broker down")
        self.records.append((key, value))
        return Receipt(partition=0, offset=len(self.records) - 1)

    async def ping(self) -> None: ...

    def round_ids(self, talks_id: str) -> list[str]:
        """The round ids of one talks' records, in log order."""
        return [json.loads(v)["data"]["round_id"] for k, v in self.records if k == talks_id]


@contextlib.asynccontextmanager
async def ingest(log: MemoryLog, **settings: Any) -> AsyncIterator[httpx.ASGITransport]:
    """The ingest app, its lifespan running, as an httpx transport."""
    app = create_app(IngestSettings(**settings), lambda _: log, lambda s, e: MemoryReceipts())
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})  # what a server does with the lifespan's state
            await app(scope, receive, send)

        yield httpx.ASGITransport(app=with_state)


@contextlib.asynccontextmanager
async def ingest_client(log: MemoryLog, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of the ingest app."""
    async with (
        ingest(log, **settings) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://ingest", headers=AUTH) as client,
    ):
        yield client


def event(talks_id: str, round_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "round.opened",
        "talks_id": talks_id,
        "occurred_at": "2026-01-23",
        "data": {"round_id": round_id, "venue": {"city": "Abu Dhabi", "country": "ARE"}},
        **extra,
    }


def write_jsonl(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


async def test_a_mixed_file_is_summarised_by_line_and_each_talks_keeps_file_order(
    tmp_path: Path,
) -> None:
    known_id = str(uuid.uuid4())
    missing_round = event("talks-b", "x")
    del missing_round["data"]["round_id"]
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        "# Abu Dhabi, January",  # 1
        event("talks-a", "r1", event_id=known_id),  # 2
        event("talks-b", "r1"),  # 3
        "",  # 4
        event("talks-a", "r2"),  # 5
        missing_round,  # 6
        '{"type": "round.opened", "talks_id": ',  # 7
        event("talks-b", "r2"),  # 8
        event("talks-a", "r3"),  # 9
        event("talks-c", "r1", colour="blue"),  # 10
        event("talks-b", "r3"),  # 11
    )
    log, out, err = MemoryLog(), io.StringIO(), io.StringIO()
    async with ingest(log) as transport:
        code = await load_file(
            str(path),
            "http://ingest",
            concurrency=3,
            stdout=out,
            stderr=err,
            transport=transport,
            api_key=KEY,
        )

    assert code == 1
    assert out.getvalue().splitlines() == [
        "accepted 6, duplicates 0, rejected 3",
        "line 6: data.round_id: Field required",
        "line 7: not JSON: Expecting value at column 37",
        "line 10: colour: Extra inputs are not permitted",
    ]
    assert log.round_ids("talks-a") == ["r1", "r2", "r3"]
    assert log.round_ids("talks-b") == ["r1", "r2", "r3"]
    assert len(log.attempts) == 6  # the invalid lines never reached the log
    first = parse_recorded(log.records[[k for k, _ in log.records].index("talks-a")][1])
    assert str(first.event_id) == known_id
    assert err.getvalue() == f"loading {path}: 9/9 events (100%)\n"


@pytest.mark.parametrize("no_id", [{}, {"event_id": None}], ids=["absent", "null"])
async def test_a_503_is_retried_with_the_event_id_the_ingest_assigned(no_id: dict) -> None:
    log, waits = MemoryLog(failures=2), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    [line] = parse_lines([json.dumps(event("talks-a", "r1", **no_id)).encode()])
    async with ingest_client(log, retry_after_s=3) as client:
        summary = await load_lines([line], client, Summary(), sleep=sleep)

    assert (summary.accepted, summary.rejections) == (1, [])
    assert waits == [3, 3]
    sent_ids = [json.loads(value)["event_id"] for value in log.attempts]
    assert len(sent_ids) == 3 and len(set(sent_ids)) == 1
    [(_, recorded)] = log.records
    assert str(parse_recorded(recorded).event_id) == sent_ids[0]


async def test_retries_wait_at_most_30_s_and_give_up_after_5() -> None:
    log, waits = MemoryLog(failures=1000), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    own_id = str(uuid.uuid4())
    lines = parse_lines([json.dumps(event("talks-a", "r1", event_id=own_id)).encode()])
    async with ingest_client(log, retry_after_s=600) as client:
        summary = await load_lines(lines, client, Summary(), sleep=sleep)

    assert waits == [MAX_WAIT_S] * MAX_RETRIES
    assert {json.loads(v)["event_id"] for v in log.attempts} == {own_id}
    assert len(log.attempts) == MAX_RETRIES + 1 and log.records == []
    [rejection] = summary.rejections
    assert rejection.line == 1
    assert rejection.reasons[0].startswith("not recorded: the ingest answered 503 6 times")
    assert rejection.reasons[0].endswith(f"event_id {own_id}")


async def test_duplicates_and_conflicts_are_counted_from_the_answers() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        round_id = json.loads(request.content)["data"]["round_id"]
        if round_id == "r1":
            return httpx.Response(202, json={"event_id": "e1", "partition": 0, "offset": 0})
        if round_id == "r2":
            return httpx.Response(200, json={"duplicate": True, "event_id": "e2"})
        return httpx.Response(409, json={"detail": "event_id e3 was recorded with another body"})

    lines = parse_lines(json.dumps(event("talks-a", r)).encode() for r in ("r1", "r2", "r3"))
    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://ingest", headers=AUTH
    ) as client:
        summary = await load_lines(lines, client, Summary())

    assert summary.report().splitlines() == [
        "accepted 1, duplicates 1, rejected 1",
        "line 3: conflict: event_id e3 was recorded with another body",
    ]


async def test_a_clean_file_exits_0_and_quiet_shows_no_progress(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", event("talks-a", "r1"), event("talks-b", "r1"))
    log, out, err = MemoryLog(), io.StringIO(), io.StringIO()
    async with ingest(log) as transport:
        code = await load_file(
            str(path),
            "http://ingest",
            quiet=True,
            stdout=out,
            stderr=err,
            transport=transport,
            api_key=KEY,
        )
    assert (code, out.getvalue(), err.getvalue()) == (
        0,
        "accepted 2, duplicates 0, rejected 0\n",
        "",
    )
    assert len(log.records) == 2


def test_an_unreachable_ingest_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", event("talks-a", "r1"))
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["load", str(path), "--ingest", url, "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == f"parley load: cannot reach the ingest at {url}: is it running? (make stack)\n"
    )


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([]) == 2  # no command: the help, on stderr
    assert "load" in capsys.readouterr().err
    for argv in (["load", "f", "--concurrency", "0"], ["load", "f", "--ingest", "localhost"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2


def test_the_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["load", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for needle in (
        "--ingest URL",
        "PARLEY_INGEST_URL",
        "--concurrency N",
        "--quiet",
        "Retry-After",
    ):
        assert needle in text


def test_on_a_terminal_the_progress_is_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    stream = Terminal()
    progress = Progress("loading x.jsonl", 120, stream, clock=lambda: now[0])
    for _ in range(37):
        progress.advance()  # the clock stands still: only the first is drawn
    now[0] = 1.0
    progress.advance(0)
    progress.close()
    assert stream.getvalue() == (
        "\rloading x.jsonl: 1/120 events (1%)\x1b[K\rloading x.jsonl: 37/120 events (31%)\x1b[K\n"
    )


async def test_a_refused_key_stops_the_load_with_a_clear_message(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", event("talks-a", "r1"), event("talks-b", "r1"))
    log, out, err = MemoryLog(), io.StringIO(), io.StringIO()
    async with ingest(log) as transport:
        code = await load_file(
            str(path), "http://ingest", stdout=out, stderr=err, transport=transport, api_key="wrong"
        )
    assert code == 2
    assert "refused the API key" in err.getvalue()
    assert log.records == []
