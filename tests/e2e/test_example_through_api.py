"""The example dataset loaded as a user would (`parley load`), then read through every endpoint."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from shared.events import parse_recorded
from shared.state import fold
from tests.support.builders import end_of
from tests.support.infra import ROOT

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "abu-dhabi-2026.jsonl"
TALKS = "abu-dhabi-trilateral"


def example_ids() -> set[str]:
    lines = [
        line
        for line in EXAMPLE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {json.loads(line)["event_id"] for line in lines}


@pytest.fixture(scope="module")
def api(stack) -> str:
    parley = Path(ROOT / ".venv" / "bin" / "parley")
    run = subprocess.run(
        [str(parley), "load", str(EXAMPLE), "--ingest", stack.ingest.url, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rejected 0" in run.stdout
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        page = httpx.get(f"{stack.api.url}/v1/events", params={"talks_id": TALKS, "limit": 100})
        if {e["event_id"] for e in page.json()["items"]} >= example_ids():
            return stack.api.url
        time.sleep(0.2)
    raise AssertionError("the example dataset was not projected within 30 s")


def state(api: str, **params: str) -> dict:
    response = httpx.get(f"{api}/v1/talks/{TALKS}/state", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_during_round_two(api: str) -> None:
    s = state(api, as_of="2026-02-05")
    rounds = {r["round_id"]: r for r in s["rounds"]}
    assert (rounds["r1"]["status"], rounds["r2"]["status"]) == ("concluded", "in_progress")
    [ukraine] = [d for d in rounds["r2"]["delegations"] if d["party"] == "UKR"]
    assert ukraine["head"]["name"] == "Rustem Umerov"
    gaps = {i["issue"]: i["gap"] for i in s["issues"]}
    assert gaps["territory"] == gaps["security_guarantees"] == "opposed"
    territory = next(i for i in s["issues"] if i["issue"] == "territory")
    assert {p["party"]: p["stance"] for p in territory["positions"]} == {
        "RUS": "demands",
        "UKR": "rejects",
    }
    [ceasefire] = s["ceasefires"]
    assert (ceasefire["scope"], ceasefire["status"]) == ("energy_infrastructure", "in_force")
    assert [(v["alleging_party"], v["accused_party"]) for v in ceasefire["violations_alleged"]] == [
        ("UKR", "RUS")
    ]
    [barrage] = s["recent_strikes"]["items"]
    assert (
        barrage["attacking_party"] == "RUS" and "energy_infrastructure" in barrage["target_types"]
    )
    assert ceasefire["violations_alleged"][0]["incident_event_ids"] == [barrage["event_id"]]


def test_every_item_names_its_events(api: str) -> None:
    s = state(api, as_of="2026-02-05")
    items = [*s["rounds"], *s["ceasefires"], *s["recent_strikes"]["items"]]
    items += [p for i in s["issues"] for p in i["positions"]]
    assert items and all(item["event_ids"] for item in items)
    assert {i for item in items for i in item["event_ids"]} <= example_ids()
    assert all(item["corroboration"] >= 1 for item in items)


def test_the_day_before_round_two(api: str) -> None:
    s = state(api, as_of="2026-02-03")
    r2 = next(r for r in s["rounds"] if r["round_id"] == "r2")
    assert r2["status"] in ("scheduled", "postponed")
    assert s["recent_strikes"]["count"] == 1
    assert s["as_of"] == "2026-02-03T23:59:59.999999Z"


def test_before_round_one_there_is_nothing(api: str) -> None:
    s = state(api, as_of="2025-12-31")
    assert (s["rounds"], s["issues"], s["event_count"]) == ([], [], 0)


def test_known_before_anything_was_recorded_there_is_nothing(api: str) -> None:
    assert state(api, as_of="2026-02-05", known_at="2020-01-01T00:00:00Z")["rounds"] == []


def test_the_served_state_is_the_fold_of_the_archive(api: str) -> None:
    page = httpx.get(f"{api}/v1/events", params={"talks_id": TALKS, "limit": 1000}).json()
    archived = [
        parse_recorded(json.dumps({k: v for k, v in e.items() if k not in ("partition", "offset")}))
        for e in page["items"]
    ]
    for day in ("2026-01-31", "2026-02-03", "2026-02-05"):
        served = state(api, as_of=day, known_at=page["known_at"])
        expected = fold(TALKS, archived, as_of=end_of(day), known_at=archived[-1].recorded_at)
        expected_json = json.loads(expected.model_dump_json())
        assert {k: v for k, v in served.items() if k != "known_at"} == {
            k: v for k, v in expected_json.items() if k != "known_at"
        }


def test_rounds_and_positions_endpoints(api: str) -> None:
    rounds = httpx.get(f"{api}/v1/talks/{TALKS}/rounds", params={"as_of": "2026-02-05"}).json()
    assert [r["round_id"] for r in rounds["rounds"]] == ["r1", "r2"]
    positions = httpx.get(
        f"{api}/v1/talks/{TALKS}/positions", params={"party": "UKR", "issue": "territory"}
    ).json()["positions"]
    assert [(p["party"], p["issue"], p["stance"]) for p in positions] == [
        ("UKR", "territory", "rejects")
    ]
    assert positions[0]["event_id"] in example_ids()


def test_strikes_filtered_and_paged(api: str) -> None:
    found = httpx.get(
        f"{api}/v1/strikes",
        params={
            "talks_id": TALKS,
            "attacking_party": "RUS",
            "weapon_type": "drone",
            "from": "2026-01-25",
            "to": "2026-02-05",
        },
    ).json()
    assert len(found["items"]) == 1 and found["items"][0]["event_id"] in example_ids()
    none = httpx.get(
        f"{api}/v1/strikes", params={"talks_id": TALKS, "weapon_type": "artillery"}
    ).json()
    assert none["items"] == []


def test_events_are_paged_without_gaps_or_repeats(api: str) -> None:
    seen, cursor = [], None
    for _ in range(20):
        params = {"talks_id": TALKS, "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{api}/v1/events", params=params).json()
        seen += [e["event_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) >= example_ids()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/strikes", {"weapon_type": "laser"}, "weapon_type"),
        (f"/v1/talks/{TALKS}/positions", {"issue": "land"}, "issue"),
        (f"/v1/talks/{TALKS}/positions", {"party": "Ukraine"}, "party"),
        ("/v1/events", {"type": "round.exploded"}, "type"),
        (f"/v1/talks/{TALKS}/state", {"as_of": "yesterday"}, "as_of"),
        (f"/v1/talks/{TALKS}/state", {"known_at": "2026-02-04T10:00:00"}, "known_at"),
    ],
)
def test_bad_parameters_name_the_field(api: str, path: str, params: dict, field: str) -> None:
    response = httpx.get(api + path, params=params)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_bad_cursor_is_400(api: str) -> None:
    assert httpx.get(f"{api}/v1/events", params={"cursor": "bogus"}).status_code == 400


def test_talks_list_and_vocabularies(api: str) -> None:
    listed = {t["talks_id"]: t for t in httpx.get(f"{api}/v1/talks").json()["talks"]}
    assert listed[TALKS]["event_count"] >= len(example_ids())
    vocab = {v["name"]: v["values"] for v in httpx.get(f"{api}/v1/vocabularies").json()}
    assert vocab["stance"]["red_line"] and vocab["party"]["UKR"] == "Ukraine"


def test_a_talks_filter_that_is_not_a_slug_is_422_not_500(stack) -> None:
    """Found by schemathesis: a NUL byte in talks_id reached PostgreSQL and failed there."""
    for path in ("/v1/strikes", "/v1/events"):
        response = httpx.get(f"{stack.api.url}{path}", params={"talks_id": "bad\x00talks"})
        assert response.status_code == 422, (path, response.text)
