"""One scenario's world: its own Kafka and PostgreSQL, the services it starts, and the cleanup.

Everything a scenario starts is stopped when it ends, however it ends (failure, Ctrl-C,
SIGTERM): the services, then Kafka and PostgreSQL, whose data is purged. The services' logs
stay in ``.parley/faults-logs/<scenario>/`` until the scenario runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from faults.infra import ROOT, Infra
from faults.processes import Service
from services.common.database import create_engine

_T0 = time.monotonic()


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"[faults {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def reporting(describe: Callable[[], str], every_s: float = 5.0) -> AsyncIterator[None]:
    """Say ``describe()`` every ``every_s`` seconds while the block runs."""

    async def report() -> None:
        while True:
            await asyncio.sleep(every_s)
            say(describe())

    task = asyncio.create_task(report())
    try:
        yield
    finally:
        task.cancel()


class Scenario:
    """Kafka, PostgreSQL (migrated) and the services of one scenario, all its own."""

    def __init__(self, name: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = name
        self.infra = Infra.on_free_ports(ROOT / ".parley" / f"faults-{name}")
        self.log_dir = ROOT / ".parley" / "faults-logs" / name
        self.talks_prefix = f"faults-{tag}"
        self.topic = f"parley.events.faults-{tag}"
        self.consumer_group = f"parley-projector-faults-{tag}"
        # Writes will need `Authorization: Bearer <key>`: the services and the load share one.
        self.key = os.environ.get("PARLEY_BOOTSTRAP_KEY") or secrets.token_urlsafe(32)
        self.env = {
            "PARLEY_KAFKA_BOOTSTRAP_SERVERS": self.infra.kafka_bootstrap_servers,
            "PARLEY_DATABASE_URL": self.infra.database_url,
            "PARLEY_TOPIC": self.topic,
            "PARLEY_CONSUMER_GROUP": self.consumer_group,
            "PARLEY_BOOTSTRAP_KEY": self.key,
            "PARLEY_LOG_LEVEL": "info",
        }
        self.engine = create_engine(self.infra.database_url, pool_size=2)
        self._services: list[Service] = []

    async def __aenter__(self) -> Scenario:
        try:
            await self.infra.down()  # what an interrupted earlier run may have left
            shutil.rmtree(self.log_dir, ignore_errors=True)
            ports = f"Kafka on :{self.infra.kafka_port}, PostgreSQL on :{self.infra.pg_port}"
            say(f"{self.name}: {ports}")
            await self.infra.up()
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            say(f"{self.name}: failed ({exc!r}); service logs in {self.log_dir.relative_to(ROOT)}")
        await self.close()

    async def start(self, name: str, ready: str = "/healthz", **env: str) -> Service:
        """Start ``python -m services.<name>`` with the scenario's settings and ``env``."""
        service = Service(name, {**self.env, **env}, self.log_dir)
        self._services.append(service)
        await service.start(ready)
        say(f"{name} started on :{service.port}")
        return service

    async def close(self) -> None:
        """Stop every service, then Kafka and PostgreSQL, purging their data."""
        await asyncio.gather(*(service.stop() for service in self._services))
        await self.engine.dispose()
        await self.infra.down()
        say(f"{self.name}: everything stopped")

    async def _migrate(self) -> None:
        log = self.log_dir / "migrate.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.projector",
                "migrate",
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
            if await process.wait() != 0:
                raise RuntimeError(f"migration failed:\n{log.read_text(errors='replace')}")
