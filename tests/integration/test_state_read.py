"""The state read's portable path: on SQLite, migrated to head, it answers what the fold does.

The rows are those the projector writes (``shared.state.histories`` with ``tags_of``), put
straight into a fresh SQLite file; no Kafka or PostgreSQL is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.generate import START, talks_history
from services.api.queries import TalksNotFound, talks_state
from services.api.timeparams import Bitemporal
from services.common.database import create_engine
from services.projector.items import tags_of
from services.projector.migrate import upgrade_to_head
from services.projector.schema import item_versions, talks
from shared.state import fold, histories

pytestmark = pytest.mark.integration

EVENTS = talks_history("sqlite-talks", 600, 3)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.sqlite3'}"
    await asyncio.to_thread(upgrade_to_head, url)
    engine = create_engine(url)
    rows = [
        {
            "talks_id": "sqlite-talks",
            "kind": key.kind,
            "item_key": key.key,
            "known_from": v.known_from,
            "known_to": v.known_to,
            "valid_from": v.valid_from,
            "valid_to": v.valid_to,
            "tags": tags_of(v.value),
            "body": v.value.model_dump(mode="json"),
            "doc": v.value.model_dump_json(),
        }
        for key, versions in histories(EVENTS).items()
        for v in versions
    ]
    recorded = [e.recorded_at for e in EVENTS]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(item_versions), rows)
        await conn.execute(
            sa.insert(talks),
            [
                {
                    "talks_id": "sqlite-talks",
                    "event_count": len(EVENTS),
                    "first_recorded_at": min(recorded),
                    "last_recorded_at": max(recorded),
                }
            ],
        )
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("days", [10, 100, 300, 500, 740])
async def test_the_state_on_sqlite_is_the_fold(engine: AsyncEngine, days: int) -> None:
    as_of = START + timedelta(days=days)
    for known_at in (as_of, as_of + timedelta(days=9), START + timedelta(days=900)):
        served = await talks_state(engine, "sqlite-talks", Bitemporal(as_of, known_at), 30)
        assert served == fold("sqlite-talks", EVENTS, as_of=as_of, known_at=known_at)


async def test_unknown_talks_on_sqlite(engine: AsyncEngine) -> None:
    with pytest.raises(TalksNotFound):
        await talks_state(engine, "nobody", Bitemporal(START, START), 30)
    early = START - timedelta(days=30)
    served = await talks_state(engine, "sqlite-talks", Bitemporal(early, early), 30)
    assert served == fold("sqlite-talks", EVENTS, as_of=early, known_at=early)
