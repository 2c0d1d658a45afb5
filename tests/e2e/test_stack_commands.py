"""`make stack` / `make stack-down` as a user runs them: up, a round posted and served, all gone."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import auth as authed
from tests.support.infra import INFRA_SCRIPT, ROOT
from tests.support.services import free_port

pytestmark = pytest.mark.e2e

STACK = ROOT / "deploy" / "local" / "stack.sh"


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
    except (FileNotFoundError, StopIteration):
        return False
    return "Z" not in state.split()[1]  # a zombie has exited; only its parent has not reaped it


def pids_of(stack_dir: Path) -> dict[str, int]:
    pids = {p.stem: int(p.read_text().split()[0]) for p in stack_dir.glob("*.pid")}
    postmaster = stack_dir / "pg" / "postmaster.pid"
    if postmaster.exists():
        pids["postgres"] = int(postmaster.read_text().split()[0])
    return pids


def test_stack_up_serves_a_round_and_stack_down_leaves_nothing(tmp_path: Path) -> None:
    stack_dir = ROOT / ".parley" / f"test-stack-{uuid.uuid4().hex[:6]}"
    ports = {name: free_port() for name in ("API", "INGEST", "PROJECTOR", "WEBHOOKS", "PG")}
    ports["KAFKA"] = free_port(span=2)  # the KRaft controller listens on the next port
    env = {**os.environ, "PARLEY_STACK_DIR": str(stack_dir)}
    env |= {f"PARLEY_{name}_PORT": str(port) for name, port in ports.items()}
    try:
        up = subprocess.run(
            ["bash", str(STACK), "up"], env=env, capture_output=True, text=True, timeout=240
        )
        assert up.returncode == 0, up.stderr[-3000:]
        assert f"http://127.0.0.1:{ports['API']}" in up.stderr
        pids = pids_of(stack_dir)
        assert {"ingest", "projector", "api", "webhooks", "kafka", "postgres"} <= set(pids)
        assert all(alive(pid) for pid in pids.values())

        again = subprocess.run(
            ["bash", str(STACK), "up"], env=env, capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 0 and "already running" in again.stderr
        assert pids_of(stack_dir) == pids

        assert "loading examples/abu-dhabi-2026.jsonl" in up.stderr  # first start: the example
        example = f"http://127.0.0.1:{ports['API']}/v1/talks/abu-dhabi-trilateral/state"
        deadline, example_rounds = time.monotonic() + 30, {}
        while time.monotonic() < deadline and example_rounds.get("r2") != "in_progress":
            found = httpx.get(example, params={"as_of": "2026-02-05"})
            if found.status_code == 200:
                example_rounds = {r["round_id"]: r["status"] for r in found.json()["rounds"]}
            time.sleep(0.2)
        assert example_rounds == {"r1": "concluded", "r2": "in_progress"}

        talks_id = f"talks-{uuid.uuid4().hex[:8]}"
        event = {
            "type": "round.opened",
            "talks_id": talks_id,
            "occurred_at": "2026-02-04",
            "data": {"round_id": "r2", "venue": {"city": "Abu Dhabi", "country": "ARE"}},
        }
        posted = authed.post(
            f"http://127.0.0.1:{ports['INGEST']}/v1/events", content=json.dumps(event)
        )
        assert posted.status_code == 202, posted.text
        deadline, rounds = time.monotonic() + 30, []
        while time.monotonic() < deadline and not rounds:
            state = httpx.get(f"http://127.0.0.1:{ports['API']}/v1/talks/{talks_id}/state")
            rounds = state.json()["rounds"] if state.status_code == 200 else []
            time.sleep(0.2)
        assert [r["round_id"] for r in rounds] == ["r2"]

        down = subprocess.run(
            ["bash", str(STACK), "down"], env=env, capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr[-3000:]
        time.sleep(0.5)
        assert [name for name, pid in pids.items() if alive(pid)] == []
    finally:
        subprocess.run(["bash", str(STACK), "down"], env=env, capture_output=True, timeout=120)
        subprocess.run(
            ["bash", str(INFRA_SCRIPT), "down", "--dir", str(stack_dir), "--purge"],
            capture_output=True,
        )
