"""A deterministic, realistic history of talks for benchmarks: rounds, positions, strikes,
ceasefires, agreements, late reports, imprecise dates, corrections, retractions, sources."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from shared.events import EVENT_ADAPTER, Event, stamp

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 720
PARTIES = ["UKR", "RUS", "USA", "TUR", "ARE", "SAU", "GBR", "FRA"]
ISSUES = [
    "territory",
    "security_guarantees",
    "ceasefire",
    "foreign_troops",
    "prisoners",
    "sanctions",
    "nato_membership",
    "energy_infrastructure",
    "nuclear_safety",
    "humanitarian",
    "elections",
    "reparations",
]
STANCES = [
    "demands",
    "proposes",
    "supports",
    "accepts",
    "accepts_conditionally",
    "open_to_discuss",
    "rejects",
    "opposes",
    "red_line",
]
TARGETS = [
    "energy_generation",
    "energy_transmission",
    "district_heating",
    "residential",
    "transport",
    "port",
    "military",
]
WEAPONS = [
    "ballistic_missile",
    "cruise_missile",
    "one_way_attack_drone",
    "decoy_drone",
    "guided_bomb",
    "artillery",
]


def _when(rnd: random.Random, day: datetime) -> object:
    roll = rnd.random()
    if roll < 0.10:
        return (day + timedelta(hours=rnd.randint(0, 23))).isoformat()
    if roll < 0.25:
        return day.strftime("%Y-%m")
    if roll < 0.30:
        return {
            "earliest": (day - timedelta(days=3)).date().isoformat(),
            "latest": day.date().isoformat(),
        }
    return day.date().isoformat()


def talks_history(talks_id: str, size: int, seed: int) -> list[Event]:
    """``size`` recorded events of one talks, in recording order."""
    rnd = random.Random(seed)
    raw: list[tuple[datetime, dict]] = []
    round_no, ceasefire_no, agreement_no = 0, 0, 0
    strikes: list[str] = []
    while len(raw) < size * 0.97:
        day = START + timedelta(days=rnd.uniform(0, SPAN_DAYS))
        roll = rnd.random()
        if roll < 0.02:
            round_no += 1
            rid = f"r{round_no}"
            planned = (day + timedelta(days=14)).date()
            steps: list[tuple[int, str, dict[str, object]]] = [
                (
                    0,
                    "round.scheduled",
                    {
                        "venue": {"city": "Abu Dhabi", "country": "ARE"},
                        "planned_start": planned.isoformat(),
                        "format": "trilateral",
                        "parties": PARTIES[:3],
                    },
                ),
                (14, "round.opened", {}),
                (14, "delegation.named", {"party": "UKR", "head": {"name": "Rustem Umerov"}}),
                (14, "delegation.named", {"party": "RUS", "head": {"name": "Igor Kostyukov"}}),
                (
                    15,
                    "round.assessed",
                    {"party": "USA", "assessment": rnd.choice(["constructive", "mixed"])},
                ),
                (15, "round.closed", {"outcome": rnd.choice(["partial_progress", "no_agreement"])}),
            ]
            for offset, type_, data in steps:
                raw.append(
                    (
                        day + timedelta(days=offset),
                        {"type": type_, "data": {"round_id": rid, **data}},
                    )
                )
        elif roll < 0.27:
            raw.append(
                (
                    day,
                    {
                        "type": "position.stated",
                        "data": {
                            "party": rnd.choice(PARTIES),
                            "issue": rnd.choice(ISSUES),
                            "stance": rnd.choice(STANCES),
                            "proposition": "A normalised proposition on the issue.",
                        },
                    },
                )
            )
        elif roll < 0.29:
            ceasefire_no += 1
            raw.append(
                (
                    day,
                    {
                        "type": "ceasefire.agreed",
                        "data": {
                            "ceasefire_id": f"c{ceasefire_no}",
                            "scope": "energy_infrastructure",
                            "parties": ["UKR", "RUS"],
                        },
                    },
                )
            )
        elif roll < 0.32 and ceasefire_no:
            raw.append(
                (
                    day,
                    {
                        "type": "ceasefire.violation_alleged",
                        "data": {
                            "ceasefire_id": f"c{rnd.randint(1, ceasefire_no)}",
                            "alleging_party": "UKR",
                            "accused_party": "RUS",
                        },
                    },
                )
            )
        elif roll < 0.33:
            agreement_no += 1
            raw.append(
                (
                    day,
                    {
                        "type": "agreement.reached",
                        "data": {
                            "agreement_id": f"a{agreement_no}",
                            "title": "Prisoner exchange",
                            "stage": "partial",
                            "signatories": ["UKR", "RUS"],
                            "issues": ["prisoners"],
                        },
                    },
                )
            )
        else:
            raw.append(
                (
                    day,
                    {
                        "type": "strike.reported",
                        "data": {
                            "attacking_party": rnd.choice(["RUS", "UKR"]),
                            "target_party": rnd.choice(["UKR", "RUS"]),
                            "target_types": [rnd.choice(TARGETS)],
                            "weapon_types": rnd.sample(WEAPONS, 2),
                            "launched": rnd.randint(1, 200),
                            "killed": {"best": rnd.randint(0, 20)},
                        },
                    },
                )
            )
    events: list[Event] = []
    for day, body in raw:
        event_id = uuid.UUID(int=rnd.getrandbits(128))
        recorded = day + timedelta(days=3) + timedelta(seconds=rnd.uniform(0, 3 * 86400))
        doc = {
            "talks_id": talks_id,
            "occurred_at": _when(rnd, day),
            "sources": [{"url": f"https://news.example/{rnd.randint(1, 50)}"}],
            **body,
        }
        events.append(stamp(EVENT_ADAPTER.validate_python(doc), event_id, recorded))
        if body["type"] == "strike.reported":
            strikes.append(str(event_id))
    events.sort(key=_recording_order)
    reports: list[Event] = []
    for _ in range(size - len(events)):
        target = events[rnd.randrange(len(events))]
        assert target.recorded_at is not None
        later = target.recorded_at + timedelta(days=rnd.uniform(0.1, 30))
        roll = rnd.random()
        if roll < 0.5:
            doc = {
                "type": "source.added",
                "data": {
                    "target_event_id": str(target.event_id),
                    "source": {"url": f"https://wire.example/{rnd.randint(1, 500)}"},
                },
            }
        elif roll < 0.8 and target.type == "strike.reported":
            doc = {
                "type": "report.corrected",
                "data": {
                    "target_event_id": str(target.event_id),
                    "changes": {"data": {"killed": {"best": rnd.randint(0, 30)}}},
                    "reason": "Updated toll.",
                },
            }
        else:
            doc = {
                "type": "report.retracted",
                "data": {"target_event_id": str(target.event_id), "reason": "false_report"},
            }
        doc |= {"talks_id": talks_id, "occurred_at": later.date().isoformat()}
        reports.append(
            stamp(EVENT_ADAPTER.validate_python(doc), uuid.UUID(int=rnd.getrandbits(128)), later)
        )
    return sorted(events + reports, key=_recording_order)


def _recording_order(event: Event) -> tuple[datetime, str]:
    assert event.recorded_at is not None
    return event.recorded_at, str(event.event_id)


def span() -> tuple[date, date]:
    return START.date(), (START + timedelta(days=SPAN_DAYS)).date()
