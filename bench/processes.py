"""The services as processes for the benchmarks, and the peak RSS of each while it ran."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PeakMemory:
    """Samples the resident set size of every registered process and of each of its children
    (a service's worker processes) every 100 ms, in a thread, and keeps the peak of any one
    process per service name."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.peaks: dict[str, int] = {}
        self._watched: dict[int, tuple[str, psutil.Process]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._watched[pid] = (name, psutil.Process(pid))

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            with self._lock:
                watched = list(self._watched.items())
            for pid, (name, process) in watched:
                try:
                    family = [process, *process.children(recursive=True)]
                    rss = max(_rss(member) for member in family)
                except psutil.Error:
                    with self._lock:
                        self._watched.pop(pid, None)
                    continue
                self.peaks[name] = max(self.peaks.get(name, 0), rss)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _rss(process: psutil.Process) -> int:
    """Its resident set size; 0 for a child that has just exited."""
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


class Service:
    """``python -m <module>`` on a port of its own, its output in ``<log_dir>/<name>.log``."""

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        log_dir: Path,
        memory: PeakMemory,
        command: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, **env, "PARLEY_HTTP_PORT": str(self.port)}
        self.command = list(command or ["-m", f"services.{name}"])
        self.log_path = log_dir / f"{name}.log"
        self.memory = memory
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, ready: str = "/readyz", timeout_s: float = 90.0) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.memory.watch(self.name, self.process.pid)
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
                try:
                    if (await client.get(ready)).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.tail()}")

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM, as a supervisor would (SIGINT lets a profiler write its report); SIGKILL
        if it is still there after 60 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
