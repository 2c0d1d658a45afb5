"""SIGTERM under load, as Kubernetes stops a pod: nothing acknowledged is lost or doubled.

The ingest and the projector run as real processes on a real Kafka and PostgreSQL (a schema
and a topic of their own). Concurrent clients post single events, each with its own
``event_id``, as a careful client does: a ``503`` or a refused connection is retried with the
same body once the service is back. Mid-load one service gets SIGTERM; it must exit on its
own and promptly, after its orderly shutdown; it is then started again and the load finishes.

- **ingest**: it stops accepting connections and answers the requests in flight (so some
  requests that started before the signal end with a 2xx after it). A client sees a 2xx, a
  503, a refused connection, or a connection closed without an answer, and the last only for
  a request the ingest never read: one that was still in the listen backlog (or unread on an
  accepted connection) when it closed its socket, which no server can answer once it stops
  accepting (Kubernetes' ``preStop`` sleep keeps new traffic away first). The clients send
  ``Connection: close``, so no idle keep-alive connection races the shutdown. Every request
  without an answer is retried with the same ``event_id`` after the restart; nothing doubles.
- **projector**: it finishes the batch in hand, commits it with its positions, and commits
  the same offsets to Kafka (so the group's lag is right) before it exits.

Then every acknowledged event must be in the read models exactly once (faults/tally.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine

from faults.events import Event, generate
from faults.tally import archived, tally
from services.common.database import create_engine
from services.projector.schema import consumer_positions
from services.projector.settings import ProjectorSettings
from tests.integration.test_rebuild import settings as settings
from tests.support.auth import AUTH
from tests.support.infra import TEST_DIR
from tests.support.services import ServiceProcess

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

EVENTS = 2_000
CLIENTS = 8
INGEST_WORKERS = 2
REFUSED, DROPPED = "refused", "dropped"  # no connection; a connection closed without answer
#: Exit codes of a process that shut down by itself: uvicorn re-raises the SIGTERM it caught
#: once its graceful shutdown is complete, so the process ends "killed by SIGTERM" then.
GRACEFUL = (0, -signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class Answer:
    event_id: str
    outcome: int | str  # the status code, REFUSED or DROPPED
    started_at: float
    ended_at: float
    error: str = ""  # the exception, when there was no answer


@dataclass
class Ledger:
    answers: list[Answer] = field(default_factory=list)
    acknowledged: dict[str, tuple[int, int]] = field(default_factory=dict)

    def outcomes(self) -> Counter[int | str]:
        return Counter(a.outcome for a in self.answers)


async def post_all(url: str, events: list[Event], ledger: Ledger, give_up_at: float) -> None:
    """Post every event from ``CLIENTS`` clients, retrying 503s and failed connections with
    the same body, until each is acknowledged or it is ``give_up_at``."""
    queue: Iterator[Event] = iter(events)
    limits = httpx.Limits(max_keepalive_connections=0)

    async def one_client() -> None:
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60, limits=limits) as c:
            for event in queue:
                body = orjson.dumps(event)
                while time.monotonic() < give_up_at:
                    started = time.monotonic()
                    outcome: int | str
                    error = ""
                    try:
                        response = await c.post("/v1/events", content=body)
                    except httpx.ConnectError as exc:
                        outcome, error = REFUSED, repr(exc)
                    except httpx.TransportError as exc:
                        outcome, error = DROPPED, repr(exc)
                    else:
                        outcome = response.status_code
                    ledger.answers.append(
                        Answer(event["event_id"], outcome, started, time.monotonic(), error)
                    )
                    if outcome in (200, 202):
                        receipt = response.json()
                        ledger.acknowledged[event["event_id"]] = (
                            receipt["partition"],
                            receipt["offset"],
                        )
                        break
                    assert outcome in (503, REFUSED, DROPPED), response.text
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        await asyncio.sleep(0.05)


def environment(s: ProjectorSettings) -> dict[str, str]:
    return {
        "PARLEY_MODE": "kafka",
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "PARLEY_DATABASE_URL": s.database_url,
        "PARLEY_TOPIC": s.topic,
        "PARLEY_TOPIC_PARTITIONS": str(s.topic_partitions),
        "PARLEY_CONSUMER_GROUP": s.consumer_group,
        "PARLEY_LOG_LEVEL": "info",
    }


async def start(name: str, env: dict[str, str], port: int | None = None) -> ServiceProcess:
    service = ServiceProcess(name, env, TEST_DIR / "logs" / "sigterm", port=port).start()
    await asyncio.to_thread(service.wait_until, "/readyz", 90)
    return service


async def terminate(service: ServiceProcess) -> tuple[int, float]:
    """SIGTERM; the exit code and how long the process took to exit (SIGKILL after 40 s)."""
    assert service.proc is not None
    sent = time.monotonic()
    service.proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(service.proc.wait, 40)
    except Exception:
        service.kill()
        raise
    return code, time.monotonic() - sent


async def positions(engine: AsyncEngine, s: ProjectorSettings) -> dict[int, int]:
    c = consumer_positions.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(c.partition, c.next_offset).where(
                c.consumer_group == s.consumer_group, c.topic == s.topic
            )
        )
        return {row.partition: row.next_offset for row in rows}


async def projected(
    engine: AsyncEngine, s: ProjectorSettings, acknowledged: Mapping[str, tuple[int, int]]
) -> bool:
    needed: dict[int, int] = {}
    for partition, offset in acknowledged.values():
        needed[partition] = max(needed.get(partition, 0), offset + 1)
    stored = await positions(engine, s)
    return all(stored.get(p, 0) >= end for p, end in needed.items())


async def committed_to_kafka(s: ProjectorSettings) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(s.consumer_group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == s.topic}


def stopped(services: list[ServiceProcess]) -> None:
    for service in services:
        service.stop()


def log_problems(service: ServiceProcess) -> list[str]:
    text = service.log_path.read_text(errors="replace") if service.log_path.exists() else ""
    return [line for line in text.splitlines() if "Traceback" in line or '"critical"' in line]


async def test_sigterm_to_the_ingest_under_load_answers_in_flight_and_loses_nothing(
    settings: ProjectorSettings,
) -> None:
    env = environment(settings)
    engine = create_engine(settings.database_url)
    projector = await start("projector", env)
    # two worker processes: the supervisor passes the SIGTERM on, and each drains
    ingest_env = {**env, "PARLEY_INGEST_WORKERS": str(INGEST_WORKERS)}
    ingest = await start("ingest", ingest_env)
    services = [projector, ingest]
    try:
        events = generate(EVENTS, f"sigterm-{uuid.uuid4().hex[:8]}")
        ledger = Ledger()
        load = asyncio.create_task(post_all(ingest.url, events, ledger, time.monotonic() + 300))

        async def a_third_acknowledged() -> bool:
            return len(ledger.acknowledged) >= EVENTS // 3

        await until(a_third_acknowledged, 120, "a third of the events acknowledged")
        signalled = time.monotonic()
        code, took = await terminate(ingest)
        assert code in GRACEFUL and took < 35, (code, took, ingest.tail())
        handled_by_the_old_ingest = ingest.log_path.read_text(errors="replace")
        shut_down = handled_by_the_old_ingest.count("Application shutdown complete.")
        assert shut_down == INGEST_WORKERS, ingest.tail()  # every worker, after its drain
        assert "Stopping parent process" in ingest.tail(3), ingest.tail()
        assert not log_problems(ingest), ingest.tail()
        ingest = await start("ingest", ingest_env, port=ingest.port)
        services.append(ingest)
        await asyncio.wait_for(load, 300)

        outcomes = ledger.outcomes()
        assert len(ledger.acknowledged) == EVENTS, outcomes
        # A connection closed without an answer happens only to a request the ingest never
        # read: one still in the listen backlog (or not yet read from an accepted
        # connection) when it stopped accepting. The old ingest logged nothing of it.
        dropped = [a for a in ledger.answers if a.outcome == DROPPED]
        print(f"outcomes {dict(outcomes)}; without an answer: {[a.error for a in dropped]}")
        assert not [a for a in dropped if a.event_id in handled_by_the_old_ingest], dropped
        assert all(a.ended_at > signalled for a in dropped), dropped
        assert outcomes[REFUSED] > 0, outcomes  # the load did meet the stopped ingest
        in_flight = [
            a for a in ledger.answers if a.started_at < signalled < a.ended_at and a.outcome == 202
        ]
        assert in_flight, "no request was in flight at SIGTERM, or none was answered"
        retried = {a.event_id for a in ledger.answers if a.outcome in (503, REFUSED)}
        assert retried  # and they were retried with the same event_id: tallied below

        async def caught_up() -> bool:
            return await projected(engine, settings, ledger.acknowledged)

        await until(caught_up, 180, "the projector past every acknowledged offset")
        count = await tally(engine, ledger.acknowledged)
        assert (count.present, count.missing, count.duplicated) == (EVENTS, 0, 0), count
        assert await archived(engine) == EVENTS
    finally:
        stopped(services)
        await engine.dispose()


async def test_sigterm_to_the_projector_mid_load_commits_its_batch_and_loses_nothing(
    settings: ProjectorSettings,
) -> None:
    env = environment(settings)
    engine = create_engine(settings.database_url)
    projector = await start("projector", env)
    ingest = await start("ingest", env)
    services = [projector, ingest]
    try:
        events = generate(EVENTS, f"sigterm-{uuid.uuid4().hex[:8]}")
        ledger = Ledger()
        load = asyncio.create_task(post_all(ingest.url, events, ledger, time.monotonic() + 300))

        async def a_quarter_archived() -> bool:
            return await archived(engine) >= EVENTS // 4

        await until(a_quarter_archived, 120, "a quarter of the events archived")
        code, took = await terminate(projector)
        assert code in GRACEFUL and took < 35, (code, took, projector.tail())
        assert not log_problems(projector), projector.tail()
        assert "finishing the batch in hand" in projector.log_path.read_text()
        stored = await positions(engine, settings)
        assert 0 < sum(stored.values()) < EVENTS, stored  # it stopped mid-load
        # The batch in hand was committed to the database, and then to Kafka too.
        assert await committed_to_kafka(settings) == stored
        assert await archived(engine) == sum(stored.values())
        assert not load.done()

        projector = await start("projector", env)
        services.append(projector)
        await asyncio.wait_for(load, 300)
        assert len(ledger.acknowledged) == EVENTS, ledger.outcomes()

        async def caught_up() -> bool:
            return await projected(engine, settings, ledger.acknowledged)

        await until(caught_up, 180, "the projector past every acknowledged offset")
        count = await tally(engine, ledger.acknowledged)
        assert (count.present, count.missing, count.duplicated) == (EVENTS, 0, 0), count
    finally:
        stopped(services)
        await engine.dispose()
