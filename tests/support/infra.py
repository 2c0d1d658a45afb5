"""Where the tests find a real Kafka broker and a real PostgreSQL.

In order of preference:
1. ``PARLEY_TEST_KAFKA_BOOTSTRAP_SERVERS`` and ``PARLEY_TEST_DATABASE_URL``, used as they are;
2. a Docker engine that answers a ping: testcontainers starts both;
3. ``deploy/local/infra.sh``: the official Kafka jars and the system's PostgreSQL server.

A missing service is a failure with a message naming what is missing, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA_SCRIPT = ROOT / "deploy" / "local" / "infra.sh"
TEST_DIR = ROOT / ".parley" / "test"


class InfrastructureMissing(RuntimeError):
    """No Kafka or no PostgreSQL could be found or started for the tests."""


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str
    origin: str


def docker_engine_available() -> bool:
    """True only when a Docker *engine* answers; the CLI alone is not enough."""
    try:
        import docker  # from testcontainers' dependencies

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def provide_infra() -> Iterator[Infra]:
    kafka = os.environ.get("PARLEY_TEST_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("PARLEY_TEST_DATABASE_URL")
    if kafka and database:
        yield Infra(kafka, database, "environment")
    elif kafka or database:
        raise InfrastructureMissing(
            "set both PARLEY_TEST_KAFKA_BOOTSTRAP_SERVERS and PARLEY_TEST_DATABASE_URL, or neither"
        )
    elif docker_engine_available():
        with _containers() as infra:
            yield infra
    else:
        with _local_processes() as infra:
            yield infra


@contextmanager
def _containers() -> Iterator[Infra]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        PostgresContainer("postgres:16", driver="asyncpg") as pg,
    ):
        yield Infra(kafka.get_bootstrap_server(), pg.get_connection_url(), "testcontainers")


@contextmanager
def _local_processes() -> Iterator[Infra]:
    ports = ["--kafka-port", os.environ.get("PARLEY_TEST_KAFKA_PORT", "29092")]
    ports += ["--pg-port", os.environ.get("PARLEY_TEST_PG_PORT", "25433")]
    where = ["--dir", str(TEST_DIR)]
    up = subprocess.run(["bash", str(INFRA_SCRIPT), "up", *where, *ports], check=False)
    if up.returncode != 0:
        raise InfrastructureMissing(
            "could not start Kafka and PostgreSQL with deploy/local/infra.sh (see its output "
            f"above and the logs in {TEST_DIR}); it needs Java 17, Maven and the PostgreSQL "
            "server (apt-get install postgresql), or set PARLEY_TEST_KAFKA_BOOTSTRAP_SERVERS "
            "and PARLEY_TEST_DATABASE_URL"
        )
    try:
        yield Infra(f"127.0.0.1:{ports[1]}", _local_url(ports[3]), "deploy/local")
    finally:
        if os.environ.get("PARLEY_TEST_KEEP_INFRA") != "1":
            subprocess.run(["bash", str(INFRA_SCRIPT), "down", *where], check=False)


def _local_url(pg_port: str) -> str:
    return f"postgresql+asyncpg://parley:parley@127.0.0.1:{pg_port}/parley"
