"""``parley load`` as a user runs it: the console script, the real ingest, Kafka, the state."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.services import ROOT

pytestmark = pytest.mark.e2e

PARLEY = ROOT / ".venv" / "bin" / "parley"


def test_parley_load_posts_a_file_and_reports_the_rejected_line(
    stack, talks_id: str, tmp_path: Path
) -> None:
    venue = {"city": "Abu Dhabi", "country": "ARE"}
    lines = [
        "# the January round in Abu Dhabi",
        {
            "type": "round.scheduled",
            "talks_id": talks_id,
            "occurred_at": "2026-01-20",
            "data": {"round_id": "r1", "venue": venue, "planned_start": "2026-01-23"},
        },
        {
            "type": "round.opened",
            "talks_id": talks_id,
            "occurred_at": "2026-01-23",
            "data": {"round_id": "r1", "venue": venue},
        },
        {"type": "round.opened", "talks_id": talks_id, "occurred_at": "2026-01-24", "data": {}},
    ]
    path = tmp_path / "abu-dhabi.jsonl"
    path.write_text("\n".join(ln if isinstance(ln, str) else json.dumps(ln) for ln in lines))

    done = subprocess.run(
        [str(PARLEY), "load", str(path), "--ingest", stack.ingest.url],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "accepted 2, duplicates 0, rejected 1",
        "line 4: data.round_id: Field required",
    ]
    assert f"loading {path}: 3/3 events (100%)" in done.stderr
    assert "Traceback" not in done.stderr
    rounds = wait_for_rounds(stack.api.url, talks_id)
    assert [(r["round_id"], r["opened_at"]) for r in rounds] == [("r1", "2026-01-23")]
    assert len(rounds[0]["event_ids"]) == 2  # scheduled, then opened


def wait_for_rounds(api_url: str, talks_id: str, timeout_s: float = 180.0) -> list[dict]:
    """The talks' rounds once both accepted events are projected (polls up to ``timeout_s``)."""
    deadline, last = time.monotonic() + timeout_s, "no answer"
    while time.monotonic() < deadline:
        response = httpx.get(f"{api_url}/v1/talks/{talks_id}/state", timeout=5)
        last = response.text
        if response.status_code == 200 and response.json()["event_count"] == 2:
            return response.json()["rounds"]
        time.sleep(0.2)
    raise AssertionError(f"the events were not projected within {timeout_s}s; last: {last}")
