"""`make run` as a newcomer runs it: nothing but Python, the example at once, nothing lost.

Java, Maven, PostgreSQL's and Docker's commands are shadowed on PATH by scripts that fail and
leave a mark: the embedded mode must not call any of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.infra import ROOT
from tests.support.services import ServiceProcess, free_port
from tests.support.sse import SseClient

pytestmark = pytest.mark.e2e

FORBIDDEN = ("java", "mvn", "pg_ctl", "pg_ctlcluster", "initdb", "postgres", "psql", "docker")
TALKS = "abu-dhabi-trilateral"


def shadowed_path(tmp_path: Path) -> tuple[str, Path]:
    shims, marks = tmp_path / "shims", tmp_path / "called"
    shims.mkdir()
    for name in FORBIDDEN:
        shim = shims / name
        shim.write_text(f"#!/bin/sh\necho {name} >> {marks}\nexit 127\n")
        shim.chmod(0o755)
    return f"{shims}:{os.environ['PATH']}", marks


def state(url: str, **params: str) -> dict:
    response = httpx.get(f"{url}/v1/talks/{TALKS}/state", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def round_opened(round_id: str) -> dict:
    return {
        "type": "round.opened",
        "talks_id": TALKS,
        "occurred_at": "2026-02-20",
        "event_id": str(uuid.uuid4()),
        "data": {"round_id": round_id},
    }


class MakeRun:
    """``make run`` in its own process group, so that Ctrl-C (SIGINT) reaches it as a terminal's
    would."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log

    def start(self) -> MakeRun:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ctrl_c(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(60)


async def next_event(url: str, event: dict) -> dict:
    """Post ``event`` while listening live on /v1/stream; return what the stream delivered."""
    client = await SseClient(f"{url}/v1/stream", {"talks_id": TALKS}).connect()
    try:
        assert client.status == 200
        key = event.pop("_key")
        async with httpx.AsyncClient(timeout=10) as http:
            posted = await http.post(
                f"{url}/v1/events", json=event, headers={"Authorization": f"Bearer {key}"}
            )
        assert posted.status_code == 202, posted.text

        async def first() -> dict:
            async for message in client.messages():
                return json.loads(message.data)
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(first(), 20)
    finally:
        client.close()


def test_make_run_needs_only_python_serves_the_example_and_keeps_every_event(
    tmp_path: Path,
) -> None:
    path, marks = shadowed_path(tmp_path)
    port, data = free_port(), tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env |= {"PATH": path, "PARLEY_HTTP_PORT": str(port), "PARLEY_DATA_DIR": str(data)}
    url = f"http://127.0.0.1:{port}"
    run = MakeRun(env, tmp_path / "make-run.log").start()
    try:
        wait_for(lambda: "Parley is running" in run.output(), 60, "make run ready")
        assert time.monotonic() - run.started < 60
        out = run.output()
        assert f"{url}/" in out and "dev key" in out, out
        round_2 = {r["round_id"]: r["status"] for r in state(url, as_of="2026-02-05")["rounds"]}
        assert round_2 == {"r1": "concluded", "r2": "in_progress"}
        before = state(url, as_of="2026-02-03")["rounds"]
        assert {r["round_id"]: r["status"] for r in before}["r2"] == "scheduled"

        key = (data / "bootstrap-key").read_text().strip()
        assert key in out
        posted = round_opened("r3")
        streamed = asyncio.run(next_event(url, {**posted, "_key": key}))
        assert streamed["event_id"] == posted["event_id"]
        seen = wait_for(
            lambda: {r["round_id"] for r in state(url)["rounds"]} >= {"r3"} and state(url),
            30,
            "the posted round in the state",
        )
        count = seen["event_count"]
    finally:
        code = run.ctrl_c()
    # make itself dies of the SIGINT after its child stopped cleanly, as under a terminal
    assert code in (0, -signal.SIGINT) and "Traceback" not in run.output(), run.output()[-3000:]
    assert "stopped; every event is kept" in run.output()

    again = MakeRun(env, tmp_path / "make-run-again.log").start()
    try:
        wait_for(lambda: "Parley is running" in again.output(), 60, "make run ready again")
        assert "loading" not in again.output()  # the example is loaded on the first start only
        after = state(url)
        assert after["event_count"] == count
        assert "r3" in {r["round_id"] for r in after["rounds"]}
    finally:
        again.ctrl_c()
    assert not marks.exists(), f"called: {marks.read_text()}"


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Every event answered 202 is there after the process is killed without warning."""
    data = tmp_path / "data"
    env = {"PARLEY_DATA_DIR": str(data), "PARLEY_EXAMPLE": "0", "PARLEY_MODE": "embedded"}
    env["PARLEY_DATABASE_URL"] = f"sqlite+aiosqlite:///{data / 'parley.sqlite3'}"
    process = ServiceProcess("embedded", env, tmp_path).start()
    key = os.environ["PARLEY_BOOTSTRAP_KEY"]
    acknowledged: list[str] = []
    try:
        process.wait_until("/readyz")
        with httpx.Client(base_url=process.url, headers={"Authorization": f"Bearer {key}"}) as c:
            for n in range(200):
                event = round_opened(f"k{n}")
                if c.post("/v1/events", json=event).status_code == 202:
                    acknowledged.append(event["event_id"])
        process.kill()  # kill -9, the projector possibly behind
    finally:
        process.kill()
    assert len(acknowledged) == 200
    again = ServiceProcess("embedded", env, tmp_path, port=process.port).start()
    try:
        again.wait_until("/readyz")
        final = wait_for(
            lambda: (s := state(again.url))["event_count"] == 200 and s, 60, "all 200 projected"
        )
        assert {r["round_id"] for r in final["rounds"]} == {f"k{n}" for n in range(200)}
        listed = httpx.get(
            f"{again.url}/v1/events", params={"talks_id": TALKS, "limit": 500}, timeout=10
        ).json()
        assert sorted(e["event_id"] for e in listed["items"]) == sorted(acknowledged)
    finally:
        again.stop()
