"""The migrations build the schema the code declares (``services/projector/schema.py``), on
both stores: every table, column and index of it, and no other index on its tables."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.projector.schema import metadata

pytestmark = pytest.mark.integration


def _declared_here(dialect: str) -> Any:
    """Leave out what the schema declares for the other dialect only (``ddl_if``), and
    tables it does not declare (Alembic's own, or a peer's the benchmarks create)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and name not in metadata.tables:
            return False
        if type_ in ("index", "column") and obj.table.name not in metadata.tables:
            return False
        if type_ == "index" and not reflected:
            only = getattr(obj, "_ddl_if", None)
            if only is not None and only.dialect not in (None, dialect):
                return False
        return True

    return include


# SQLite cannot reflect expression indexes; those are PostgreSQL's only (``ddl_if``) and are
# compared there
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
async def test_the_migrated_schema_is_the_declared_one(store_url: str) -> None:
    engine = create_async_engine(store_url)
    try:
        async with engine.connect() as conn:

            def differences(sync: sa.Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync, opts={"include_object": _declared_here(sync.dialect.name)}
                )
                return list(compare_metadata(context, metadata))

            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()
