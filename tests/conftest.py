"""Shared fixtures: real Kafka and PostgreSQL for integration tests, real processes for e2e."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url)
    yield engine
    await engine.dispose()


@dataclass
class Stack:
    """The four services running as processes against the test infrastructure."""

    infra: Infra
    env: dict[str, str]
    ingest: ServiceProcess
    projector: ServiceProcess
    api: ServiceProcess
    webhooks: ServiceProcess

    def restart_projector(self) -> None:
        self.projector.kill()
        self.projector = ServiceProcess("projector", self.env, TEST_DIR / "logs").start()
        self.projector.wait_until("/healthz")


@pytest.fixture(scope="session")
def stack(infra: Infra, session_tag: str) -> Iterator[Stack]:
    env = {
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "PARLEY_DATABASE_URL": infra.database_url,
        "PARLEY_TOPIC": f"parley.events.test-{session_tag}",
        "PARLEY_CONSUMER_GROUP": f"parley-projector-test-{session_tag}",
        "PARLEY_LOG_LEVEL": "info",
        # webhooks: a receiver that keeps failing is paused within seconds, not minutes
        "PARLEY_WEBHOOK_CONSUMER_GROUP": f"parley-webhooks-test-{session_tag}",
        "PARLEY_WEBHOOK_MAX_FAILURES": "10",
        "PARLEY_WEBHOOK_BACKOFF_BASE_S": "0.2",
        "PARLEY_WEBHOOK_BACKOFF_MAX_S": "1",
        "PARLEY_WEBHOOK_TIMEOUT_S": "3",
        "PARLEY_WEBHOOK_SCAN_INTERVAL_S": "0.2",
    }
    logs = TEST_DIR / "logs"
    services = {
        name: ServiceProcess(name, env, logs).start()
        for name in ("ingest", "projector", "api", "webhooks")
    }
    running = Stack(infra, env, **services)
    try:
        for service in services.values():
            service.wait_until("/readyz")
        yield running
    finally:
        for service in (running.ingest, running.projector, running.api, running.webhooks):
            service.stop()
