"""One scenario's Kafka and PostgreSQL, through deploy/local/infra.sh, and how to stop them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INFRA_SH = ROOT / "deploy" / "local" / "infra.sh"
STOP_TIMEOUT_S = 60.0


class InfraError(RuntimeError):
    """deploy/local/infra.sh failed (its own output is on stderr), or a server did not stop."""


def free_port(*, with_next: bool = False) -> int:
    """A port nothing listens on; ``with_next``: its successor is free too (Kafka's controller)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not with_next or (port < 65534 and _is_free(port + 1)):
            return port
    raise InfraError("no free pair of ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class Infra:
    """A Kafka broker and a PostgreSQL cluster, their data and logs under ``dir``."""

    dir: Path
    kafka_port: int
    pg_port: int

    @classmethod
    def on_free_ports(cls, dir: Path) -> Infra:
        return cls(dir, free_port(with_next=True), free_port())

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://parley:parley@127.0.0.1:{self.pg_port}/parley"

    async def up(self) -> None:
        """Start whichever of the two is not running, on the same ports and data as before."""
        ports = ["--kafka-port", str(self.kafka_port), "--pg-port", str(self.pg_port)]
        await _infra_sh("up", "--dir", str(self.dir), *ports)

    async def down(self) -> None:
        """Stop both and delete their data."""
        await _infra_sh("down", "--dir", str(self.dir), "--purge")

    async def stop_kafka(self) -> None:
        """Stop the broker as its operator would (SIGTERM) and wait until the process is gone."""
        await _stop(self.dir / "kafka.pid", signal.SIGTERM)

    async def stop_postgres(self) -> None:
        """``pg_ctl stop -m fast``: SIGINT to the postmaster; wait until the process is gone."""
        await _stop(self.dir / "pg" / "postmaster.pid", signal.SIGINT)


async def _infra_sh(*args: str) -> None:
    process = await asyncio.create_subprocess_exec("bash", str(INFRA_SH), *args, cwd=ROOT)
    if await process.wait() != 0:
        raise InfraError(f"deploy/local/infra.sh {' '.join(args)} failed (see above)")


async def _stop(pid_file: Path, sig: signal.Signals) -> None:
    pid = _pid(pid_file)
    os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid):
        if time.monotonic() > deadline:
            raise InfraError(
                f"pid {pid} ({pid_file.name}) still runs {STOP_TIMEOUT_S:.0f}s after {sig.name}"
            )
        await asyncio.sleep(0.1)


def _pid(pid_file: Path) -> int:
    return int(pid_file.read_text().split()[0])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not yet reaped) does not."""
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(") ", 1)[1][:1] != "Z"
    return False
