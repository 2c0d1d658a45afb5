"""What every benchmark needs: where Kafka and PostgreSQL are, the sizes, the services' key,
the memory watcher, and the shared statistics."""

from __future__ import annotations

import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import ROOT, PeakMemory, Service


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; ``QUICK`` keeps ``--quick`` under two minutes."""

    repeats: int
    batch_events: int  # per repeat, posted 1,000 per batch
    single_seconds: float  # per repeat and per app, at 64 clients
    projection_events: int  # per repeat
    profile_events: int
    fresh_rate: int  # events/s offered
    fresh_seconds: float
    fresh_timeout_s: float
    fanout_clients: int
    fanout_rate: int
    fanout_seconds: float
    asof_talks: int
    asof_size: int  # events per talks; also the peer's events per aggregate
    asof_samples: int
    asof_folds: int
    peer_samples: int
    rebuild_talks: int
    rebuild_events: int  # in all, over rebuild_talks histories
    rebuild_budget_s: float  # the rebuild is interrupted past this, and its rate taken so far


FULL = Sizes(
    repeats=3,
    batch_events=15_000,
    single_seconds=8,
    projection_events=10_000,
    profile_events=5_000,
    fresh_rate=1000,
    fresh_seconds=20,
    fresh_timeout_s=30,
    fanout_clients=500,
    fanout_rate=200,
    fanout_seconds=15,
    asof_talks=100,
    asof_size=10_000,
    asof_samples=300,
    asof_folds=30,
    peer_samples=30,
    rebuild_talks=100,
    rebuild_events=1_000_000,
    rebuild_budget_s=600,
)
QUICK = Sizes(
    repeats=2,
    batch_events=2_000,
    single_seconds=2,
    projection_events=300,
    profile_events=300,
    fresh_rate=100,
    fresh_seconds=3,
    fresh_timeout_s=30,
    fanout_clients=50,
    fanout_rate=50,
    fanout_seconds=3,
    asof_talks=2,
    asof_size=300,
    asof_samples=20,
    asof_folds=2,
    peer_samples=5,
    rebuild_talks=3,
    rebuild_events=3_000,
    rebuild_budget_s=120,
)


@dataclass
class Context:
    kafka: str
    database_url: str  # postgresql+asyncpg://...
    sizes: Sizes
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    log_dir: Path = ROOT / ".parley" / "bench" / "logs"
    memory: PeakMemory = field(default_factory=PeakMemory)

    @property
    def dsn(self) -> str:
        """The database URL as asyncpg takes it."""
        return self.database_url.replace("postgresql+asyncpg", "postgresql")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def topic(self, name: str) -> str:
        return f"bench.{name}.{self.tag}"

    def service(
        self,
        name: str,
        topic: str,
        command: Sequence[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Service:
        env = {
            "PARLEY_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "PARLEY_DATABASE_URL": self.database_url,
            "PARLEY_TOPIC": topic,
            "PARLEY_CONSUMER_GROUP": f"bench-{topic}",
            "PARLEY_BOOTSTRAP_KEY": self.key,
            "PARLEY_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        return Service(name, env, self.log_dir, self.memory, command)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def verdict(holds: bool, value: float, target: float, higher_is_better: bool = True) -> str:
    """``holds``, or by how much it misses (the value as a fraction of the target)."""
    if holds:
        return "holds"
    if higher_is_better:
        return f"misses: {value / target:.2f}x of the target" if target else "misses"
    return f"misses: {value / target:.1f}x the limit" if target else "misses"
