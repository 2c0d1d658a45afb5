"""Point-in-time and bitemporal reads through the real stack, on a fresh copy of the example."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.support import auth as authed
from tests.support.example import example_events

pytestmark = pytest.mark.e2e


class Talks:
    def __init__(self, stack, talks_id: str) -> None:
        self.ingest, self.api, self.talks_id = stack.ingest.url, stack.api.url, talks_id

    def post(self, event: dict) -> dict:
        response = authed.post(f"{self.ingest}/v1/events", content=json.dumps(event))
        assert response.status_code == 202, response.text
        return response.json()

    def wait_for(self, event_id: str, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if httpx.get(f"{self.api}/v1/events/{event_id}").status_code == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"event {event_id} not projected within {timeout_s}s")

    def get(self, path: str, **params: str) -> dict:
        response = httpx.get(f"{self.api}/v1/talks/{self.talks_id}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def talks(stack) -> tuple[Talks, dict[str, dict]]:
    """A fresh copy of the example dataset under its own talks id; events by type."""
    t = Talks(stack, f"copy-{uuid.uuid4().hex[:10]}")
    events = example_events(t.talks_id)
    for event in events:
        t.post(event)
    t.wait_for(events[-1]["event_id"])
    return t, {e["type"] + ":" + e["data"].get("round_id", ""): e for e in events}


def statuses(state: dict) -> dict[str, str]:
    return {r["round_id"]: r["status"] for r in state["rounds"]}


def test_where_the_talks_stood(talks) -> None:
    t, _ = talks
    assert statuses(t.get("/state", as_of="2026-02-03")) == {"r1": "concluded", "r2": "scheduled"}
    assert statuses(t.get("/state", as_of="2026-02-05"))["r2"] == "in_progress"


def test_a_correction_changes_the_present_not_the_past_belief(talks) -> None:
    t, by_type = talks
    strike = by_type["strike.reported:"]
    yesterday = datetime.now(UTC).isoformat()  # "yesterday": before the correction was recorded
    before = t.get("/state", as_of="2026-02-05")["recent_strikes"]["items"][0]
    assert before["target_types"] == ["energy_infrastructure"]
    correction = {
        "type": "report.corrected",
        "talks_id": t.talks_id,
        "occurred_at": datetime.now(UTC).date().isoformat(),
        "event_id": str(uuid.uuid4()),
        "data": {
            "target_event_id": strike["event_id"],
            "changes": {"data": {"target_types": ["energy_generation", "district_heating"]}},
            "reason": "Later reports name the power plants and heating plants hit.",
        },
    }
    t.post(correction)
    t.wait_for(correction["event_id"])
    now = t.get("/state", as_of="2026-02-05")["recent_strikes"]["items"][0]
    assert now["target_types"] == ["energy_generation", "district_heating"]
    assert correction["event_id"] in now["event_ids"]
    then = t.get("/state", as_of="2026-02-05", known_at=yesterday)["recent_strikes"]["items"][0]
    assert then == before

    belief = t.get("/changes", as_of="2026-02-05", known_from=yesterday)
    [change] = belief["changes"]
    assert (change["change"], change["details"]["fields"]) == ("strike.updated", ["target_types"])
    assert change["event_ids"] == [correction["event_id"]]
    assert [r["event_id"] for r in belief["reports"]] == [correction["event_id"]]

    provenance = httpx.get(f"{t.api}/v1/events/{strike['event_id']}").json()
    assert provenance["recorded"]["data"]["target_types"] == ["energy_infrastructure"]
    assert [c["event_id"] for c in provenance["corrections"]] == [correction["event_id"]]
    assert provenance["believed"]["data"]["target_types"] == [
        "energy_generation",
        "district_heating",
    ]
    assert provenance["retraction"] is None


def test_changes_between_two_dates(talks) -> None:
    t, by_type = talks
    result = t.get("/changes", **{"from": "2026-02-01", "to": "2026-02-05"})
    assert (result["from"], result["to"]) == (
        "2026-02-01T23:59:59.999999Z",
        "2026-02-05T23:59:59.999999Z",
    )
    kinds = [c["change"] for c in result["changes"]]
    assert "strike.reported" in kinds
    assert "ceasefire.violation_alleged" in kinds
    opened = next(c for c in result["changes"] if c["change"] == "round.opened")
    # as of 1 February round 2 was not yet known to be scheduled (see examples/README.md)
    assert opened["details"] == {"round_id": "r2", "before": None, "after": "in_progress"}
    assert by_type["round.opened:r2"]["event_id"] in opened["event_ids"]
    stances = {
        (c["details"]["party"], c["details"]["issue"]): c["details"]["after"]
        for c in result["changes"]
        if c["change"] == "position.stated"
    }
    assert stances[("UKR", "territory")] == "rejects"
    assert all(c["event_ids"] for c in result["changes"])


def test_a_retraction_is_a_belief_change(talks) -> None:
    t, by_type = talks
    strike = by_type["strike.reported:"]
    before = datetime.now(UTC).isoformat()
    retraction = {
        "type": "report.retracted",
        "talks_id": t.talks_id,
        "occurred_at": datetime.now(UTC).date().isoformat(),
        "event_id": str(uuid.uuid4()),
        "data": {"target_event_id": strike["event_id"], "reason": "false_report"},
    }
    t.post(retraction)
    t.wait_for(retraction["event_id"])
    assert t.get("/state", as_of="2026-02-05")["recent_strikes"]["count"] == 0
    assert t.get("/state", as_of="2026-02-05", known_at=before)["recent_strikes"]["count"] == 1
    [change] = t.get("/changes", as_of="2026-02-05", known_from=before)["changes"]
    assert change["change"] == "strike.removed"
    assert httpx.get(f"{t.api}/v1/events/{strike['event_id']}").json()["believed"] is None


def test_a_late_report_updates_the_past_in_place(talks) -> None:
    t, _ = talks
    late = {
        "type": "position.stated",
        "talks_id": t.talks_id,
        "occurred_at": "2026-02-02",
        "event_id": str(uuid.uuid4()),
        "data": {
            "party": "USA",
            "issue": "ceasefire",
            "stance": "proposes",
            "proposition": "An energy ceasefire is extended.",
        },
    }
    before = datetime.now(UTC).isoformat()
    t.post(late)
    t.wait_for(late["event_id"])
    issues = {i["issue"]: i for i in t.get("/state", as_of="2026-02-03")["issues"]}
    assert {p["party"] for p in issues["ceasefire"]["positions"]} == {"USA"}
    assert "ceasefire" not in {
        i["issue"] for i in t.get("/state", as_of="2026-02-03", known_at=before)["issues"]
    }


def test_the_timeline(talks) -> None:
    t, _ = talks
    timeline = t.get("/timeline", **{"from": "2026-01-01", "to": "2026-02-05"})
    entries = timeline["entries"]
    assert [e["earliest"] for e in entries] == sorted(e["earliest"] for e in entries)
    r1 = [e for e in entries if e["item"] == "round:r1"]
    assert {(e["precision"], e["occurred_at"]) for e in r1[:3]} == {("month", "2026-01")}
    strike = next(e for e in entries if e["type"] == "strike.reported")
    assert strike["precision"] == "between" and strike["label"].startswith("RUS strike on")
    assert any(e["label"] == "Round r2 opened in Abu Dhabi" for e in entries)
    assert len(t.get("/timeline", **{"from": "2026-02-04", "to": "2026-02-04"})["entries"]) >= 1


def test_changes_needs_a_mode(talks) -> None:
    t, _ = talks
    response = httpx.get(f"{t.api}/v1/talks/{t.talks_id}/changes")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "from"
    both = httpx.get(
        f"{t.api}/v1/talks/{t.talks_id}/changes",
        params={"from": "2026-02-01", "known_from": "2026-02-01"},
    )
    assert both.status_code == 422


def test_unknown_event_is_404(stack) -> None:
    assert httpx.get(f"{stack.api.url}/v1/events/{uuid.uuid4()}").status_code == 404
