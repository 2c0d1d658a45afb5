"""Shared fixtures: real Kafka and PostgreSQL for integration tests, real processes for e2e."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.eventlog import EmbeddedLog, EventLog, KafkaLog
from services.projector.migrate import upgrade_to_head
from tests.support.auth import KEY
from tests.support.infra import TEST_DIR, Infra, provide_infra
from tests.support.services import ServiceProcess

# Every service the tests start, and every `parley` command they run, use this key.
os.environ["PARLEY_BOOTSTRAP_KEY"] = KEY
os.environ["PARLEY_API_KEY"] = KEY


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """A real Kafka broker and a real PostgreSQL, migrated to the newest schema."""
    with provide_infra() as found:
        upgrade_to_head(found.database_url)
        yield found


@pytest.fixture(scope="session")
def session_tag() -> str:
    """Isolates this run's topic and consumer group from any other run on the same broker."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def talks_id() -> str:
    """A fresh talks id per test, so tests never see each other's events."""
    return f"talks-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["postgresql", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store contract: a test asking for this runs on PostgreSQL and on the embedded
    mode's SQLite, each migrated by the migrations the services run."""
    if request.param == "postgresql":
        return request.getfixturevalue("infra").database_url
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.sqlite3'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url)
    yield engine
    await engine.dispose()


#: The two backends every e2e test runs on, unless marked ``kafka_only``.
BACKENDS = ("kafka", "embedded")


@dataclass
class Stack:
    """Parley running as processes, as a user runs it.

    On ``kafka`` the four services run apart, against the test Kafka and PostgreSQL; on
    ``embedded`` one process (``python -m services.embedded``) plays every part, so
    ``ingest``, ``projector``, ``api`` and ``webhooks`` are that same process.
    """

    backend: str
    infra: Infra | None
    env: dict[str, str]
    ingest: ServiceProcess
    projector: ServiceProcess
    api: ServiceProcess
    webhooks: ServiceProcess

    @property
    def database_url(self) -> str:
        return self.env["PARLEY_DATABASE_URL"]

    @property
    def topic(self) -> str:
        return self.env.get("PARLEY_TOPIC", "parley.events")

    def open_log(self) -> EventLog:
        """The stack's log, through the same port the services use (start it, then stop it)."""
        if self.backend == "embedded":
            return EmbeddedLog(Path(self.env["PARLEY_DATA_DIR"]) / "log.sqlite3")
        assert self.infra is not None
        return KafkaLog(self.infra.kafka_bootstrap_servers, "parley-tests")

    @property
    def processes(self) -> list[ServiceProcess]:
        return list(
            {id(p): p for p in (self.ingest, self.projector, self.api, self.webhooks)}.values()
        )

    def restart_projector(self) -> None:
        """``kill -9`` the projector (in embedded mode, the whole process) and start it again."""
        old = self.projector
        old.kill()
        new = ServiceProcess(old.name, self.env, TEST_DIR / "logs", port=old.port).start()
        for part in ("ingest", "projector", "api", "webhooks"):
            if getattr(self, part) is old:
                setattr(self, part, new)
        new.wait_until("/healthz" if self.backend == "kafka" else "/readyz")


def webhook_env(session_tag: str) -> dict[str, str]:
    """Webhooks: a receiver that keeps failing is paused within seconds, not minutes."""
    return {
        "PARLEY_WEBHOOK_CONSUMER_GROUP": f"parley-webhooks-test-{session_tag}",
        "PARLEY_WEBHOOK_MAX_FAILURES": "10",
        "PARLEY_WEBHOOK_BACKOFF_BASE_S": "0.2",
        "PARLEY_WEBHOOK_BACKOFF_MAX_S": "1",
        "PARLEY_WEBHOOK_TIMEOUT_S": "3",
        "PARLEY_WEBHOOK_SCAN_INTERVAL_S": "0.2",
    }


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest, session_tag: str) -> Iterator[Stack]:
    if request.param == "embedded":
        yield from _embedded_stack(session_tag)
    else:
        yield from _kafka_stack(request.getfixturevalue("infra"), session_tag)


def _kafka_stack(infra: Infra, session_tag: str) -> Iterator[Stack]:
    env = {
        "PARLEY_MODE": "kafka",
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "PARLEY_DATABASE_URL": infra.database_url,
        "PARLEY_TOPIC": f"parley.events.test-{session_tag}",
        "PARLEY_CONSUMER_GROUP": f"parley-projector-test-{session_tag}",
        "PARLEY_LOG_LEVEL": "info",
        **webhook_env(session_tag),
    }
    logs = TEST_DIR / "logs"
    services = {
        name: ServiceProcess(name, env, logs).start()
        for name in ("ingest", "projector", "api", "webhooks")
    }
    running = Stack("kafka", infra, env, **services)
    try:
        for service in services.values():
            service.wait_until("/readyz")
        yield running
    finally:
        for service in running.processes:
            service.stop()


def _embedded_stack(session_tag: str) -> Iterator[Stack]:
    data = TEST_DIR / f"embedded-{session_tag}"
    env = {
        "PARLEY_MODE": "embedded",
        "PARLEY_DATA_DIR": str(data),
        "PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'parley.sqlite3'}",
        "PARLEY_EXAMPLE": "0",
        "PARLEY_LOG_LEVEL": "info",
        **webhook_env(session_tag),
    }
    process = ServiceProcess("embedded", env, TEST_DIR / "logs").start()
    running = Stack("embedded", None, env, process, process, process, process)
    try:
        process.wait_until("/readyz")
        yield running
    finally:
        for service in running.processes:
            service.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``kafka_only`` run on the Kafka stack only (deselected, not skipped)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("stack") if callspec else None
        if backend == "embedded" and item.get_closest_marker("kafka_only"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
