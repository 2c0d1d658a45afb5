"""The events a scenario loads: valid, varied, and each with its own ``event_id``."""

from __future__ import annotations

import uuid
from typing import Any

PARTIES = ["UKR", "RUS", "USA", "TUR", "ARE", "SAU"]
ISSUES = ["territory", "security_guarantees", "prisoners", "sanctions", "energy_infrastructure"]
STANCES = ["demands", "proposes", "rejects", "open_to_discuss"]

Event = dict[str, Any]


def generate(count: int, talks_prefix: str, talks: int = 8) -> list[Event]:
    """``count`` events over ``talks`` talks: mostly strikes, every tenth a round opening and
    every tenth a position, so that rounds and positions gather several events each."""
    return [_event(i, f"{talks_prefix}-{i % talks}") for i in range(count)]


def _event(i: int, talks_id: str) -> Event:
    day = f"2026-01-{1 + i % 28:02d}"
    party, other = PARTIES[i % len(PARTIES)], PARTIES[(i + 1) % len(PARTIES)]
    data: dict[str, Any]
    if i % 10 == 0:
        type_, data = "round.opened", {"round_id": f"r{i // 10 % 50}", "parties": [party, other]}
    elif i % 10 == 5:
        data = {
            "party": party,
            "issue": ISSUES[i // 10 % len(ISSUES)],
            "stance": STANCES[i // 7 % len(STANCES)],
            "proposition": f"Proposition {i}.",
        }
        type_ = "position.stated"
    else:
        data = {
            "attacking_party": party,
            "target_party": other,
            "target_types": ["energy_generation"],
            "weapon_types": ["one_way_attack_drone"],
            "launched": i % 100,
        }
        type_ = "strike.reported"
    source = {"url": f"https://example.org/faults/{i}", "publisher": "Faults"}
    return {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "talks_id": talks_id,
        "occurred_at": day,
        "sources": [source],
        "data": data,
    }
