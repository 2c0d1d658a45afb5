"""The example dataset, optionally re-keyed to a fresh talks id with fresh event ids."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "abu-dhabi-2026.jsonl"


def example_events(talks_id: str | None = None) -> list[dict[str, Any]]:
    """The example's events; with ``talks_id``, a copy whose ids are all new (and consistent)."""
    lines = [ln for ln in EXAMPLE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if talks_id is None:
        return [json.loads(ln) for ln in lines]
    text = "\n".join(lines)
    for old in {json.loads(ln)["event_id"] for ln in lines}:
        text = text.replace(old, str(uuid.uuid4()))
    return [{**json.loads(ln), "talks_id": talks_id} for ln in text.splitlines()]
