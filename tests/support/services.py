"""The services as real processes, as a user would run them."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


_HANDED_OUT: set[int] = set()


def _ephemeral_floor() -> int:
    """The lowest port the kernel gives to outgoing connections (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(span: int = 1) -> int:
    """A port P such that P .. P+span-1 are free now, chosen below the ephemeral range.

    A port the kernel picks (bind to 0) lies in the ephemeral range, where any outgoing
    connection may take it as its local port before the server that was meant to listen
    there starts: a Kafka controller on port+1 once failed that way in CI. Below that range
    only listeners compete, and each port is handed out once per test process.
    """
    low, high = 20000, _ephemeral_floor() - span
    for _ in range(1000):
        port = random.randint(low, high)
        ports = range(port, port + span)
        if not _HANDED_OUT.intersection(ports) and all(_bindable(p) for p in ports):
            _HANDED_OUT.update(ports)
            return port
    raise RuntimeError(f"no {span} free consecutive port(s) in {low}..{high + span - 1}")


class ServiceProcess:
    """``python -m services.<name>`` with its own port, environment and log file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.env = {**os.environ, **env, "PARLEY_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_until(self, path: str = "/readyz", timeout_s: float = 60.0) -> None:
        """Wait until ``path`` answers 200; fail with the log's tail otherwise."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                response = httpx.get(self.url + path, timeout=5)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout_s}s ({last}):\n{self.tail()}")

    def kill(self) -> None:
        """``kill -9``: no chance to finish anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
